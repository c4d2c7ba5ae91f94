# syntax=docker/dockerfile:1
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 APP_ENV=production

# A Japanese font for the generated rich menu images.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk=1:20220127+repack1-1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml ./
COPY bot ./bot
COPY handlers ./handlers
COPY surveys ./surveys
COPY db ./db
COPY members ./members
COPY api ./api
COPY events ./events
COPY opinions ./opinions
COPY richmenu ./richmenu
COPY broadcasts ./broadcasts
COPY console ./console
COPY staff ./staff
COPY simulator ./simulator
COPY main.py runtime.py demo.py config.py alembic.ini ./
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 app \
    && mkdir -p /app/var && chown app:app /app/var
USER app

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
CMD ["sh", "-c", "python main.py migrate && python main.py serve --host 0.0.0.0 --port 8000"]
