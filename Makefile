# Two commands do everything: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000
export DATABASE_URL ?= sqlite:///var/minato.db
# links the bot sends and the addresses printed follow the port chosen (make run PORT=8010), unless .env sets them
ENV_BASE_URL := $(shell sed -n 's/^PUBLIC_BASE_URL=//p' .env 2>/dev/null)
export PUBLIC_BASE_URL ?= $(or $(ENV_BASE_URL),http://$(HOST):$(PORT))

# LINE's OpenAPI files, which the tests validate every request against (see tests/fakeline/spec.py).
LINE_OPENAPI_REPO := https://github.com/line/line-openapi.git
LINE_OPENAPI_COMMIT := 6e4c2a2a1b7b059ea3920456d4f88d03fd8ef0bb

.PHONY: run test install migrate demo lint bench check-docker clean line-openapi

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

## Fetch LINE's OpenAPI files at the pinned commit into var/line-openapi, for a clone without ../shared beside it.
line-openapi:
	rm -rf var/line-openapi.tmp && mkdir -p var
	git clone --quiet --filter=blob:none --no-checkout $(LINE_OPENAPI_REPO) var/line-openapi.tmp
	git -C var/line-openapi.tmp checkout --quiet $(LINE_OPENAPI_COMMIT) -- messaging-api.yml webhook.yml manage-audience.yml LICENSE
	mkdir -p var/line-openapi && mv var/line-openapi.tmp/*.yml var/line-openapi.tmp/LICENSE var/line-openapi/
	rm -rf var/line-openapi.tmp
	@echo "LINE's OpenAPI files are in var/line-openapi"

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/webhook.py

## Check the Dockerfile and docker-compose.yml without a Docker engine.
check-docker: install
	$(BIN)/python .ci/check_docker.py

clean:
	rm -rf $(VENV) var .pytest_cache
