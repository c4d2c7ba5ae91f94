# Two commands do everything: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000
export DATABASE_URL ?= sqlite:///var/minato.db

.PHONY: run test install migrate demo lint bench check-docker clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python main.py migrate

demo: migrate
	$(BIN)/python main.py demo

## Serve the bot, the simulator (http://127.0.0.1:8000/simulator) on SQLite under var/, with demo data.
run: demo
	$(BIN)/python main.py serve --host $(HOST) --port $(PORT)

## The whole suite; with TEST_DATABASE_URL=postgresql+psycopg://... it runs against PostgreSQL.
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/webhook.py

## Check the Dockerfile and docker-compose.yml without a Docker engine.
check-docker: install
	$(BIN)/python .ci/check_docker.py

clean:
	rm -rf $(VENV) var .pytest_cache
