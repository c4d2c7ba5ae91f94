"""`make check-docker`: check the Dockerfile and docker-compose.yml without a Docker engine (CI has none).

Reads both files and checks what a broken deploy would show only on the server: a package the image does not copy,
a floating base image, running as root, no health check, secrets written into the compose file, PostgreSQL without
a volume, the app starting before the database is healthy, the port open to the world.
"""

from __future__ import annotations

import re
import shlex
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def dockerfile_problems(text: str, pyproject: dict) -> list[str]:
    problems = []
    lines = re.sub(r"\\\n\s*", " ", text).splitlines()
    instructions = [(line.split()[0].upper(), line.split(None, 1)[1] if len(line.split()) > 1 else "")
                    for line in lines if line.strip() and not line.lstrip().startswith("#")]
    images = [args.split()[0] for op, args in instructions if op == "FROM"]
    if not images:
        problems.append("Dockerfile: no FROM")
    for image in images:
        if ":" not in image or image.endswith(":latest"):
            problems.append(f"Dockerfile: base image {image} is not pinned to a tag")
    users = [args.strip() for op, args in instructions if op == "USER"]
    if not users or users[-1] in ("root", "0"):
        problems.append("Dockerfile: the app runs as root (add a USER)")
    if not any(op == "HEALTHCHECK" for op, _ in instructions):
        problems.append("Dockerfile: no HEALTHCHECK")
    copied: set[str] = set()
    for op, args in instructions:
        if op in ("COPY", "ADD"):
            parts = [p for p in shlex.split(args) if not p.startswith("--")]
            copied.update(Path(p).name for p in parts[:-1])
    find = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    needed = {pattern.rstrip("*") for pattern in find} | {f"{m}.py" for m in pyproject["tool"]["setuptools"]
                                                           ["py-modules"]} | {"pyproject.toml", "alembic.ini"}
    for name in sorted(needed - copied):
        problems.append(f"Dockerfile: {name} is not copied into the image")
    if not any(op == "CMD" for op, _ in instructions):
        problems.append("Dockerfile: no CMD")
    return problems


def compose_problems(text: str) -> list[str]:
    problems = []
    try:
        compose = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [f"docker-compose.yml does not parse: {exc}"]
    services = compose.get("services") or {}
    app, db = services.get("app"), services.get("db")
    if app is None or db is None:
        return ["docker-compose.yml: needs the services app and db"]
    if "build" not in app and "image" not in app:
        problems.append("docker-compose.yml: app has neither build nor image")
    if (app.get("depends_on") or {}).get("db", {}).get("condition") != "service_healthy":
        problems.append("docker-compose.yml: app must wait for db to be healthy (depends_on condition)")
    if "healthcheck" not in db:
        problems.append("docker-compose.yml: db has no healthcheck")
    volumes = db.get("volumes") or []
    if not any(str(v).split(":")[0] in (compose.get("volumes") or {}) for v in volumes):
        problems.append("docker-compose.yml: db keeps its data in no named volume")
    for service_name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"SECRET|TOKEN|PASSWORD", key) and "${" not in str(value):
                problems.append(f"docker-compose.yml: {service_name}.{key} is written into the file; use ${{{key}}}")
    for port in app.get("ports") or []:
        if not str(port).startswith("127.0.0.1:"):
            problems.append(f"docker-compose.yml: port {port} is open on every interface; bind it to 127.0.0.1 "
                            "behind the TLS proxy")
    if (app.get("environment") or {}).get("APP_ENV") != "production":
        problems.append("docker-compose.yml: app must run with APP_ENV=production")
    return problems


def main() -> int:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    problems = dockerfile_problems((ROOT / "Dockerfile").read_text(), pyproject)
    problems += compose_problems((ROOT / "docker-compose.yml").read_text())
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print("Dockerfile and docker-compose.yml: OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
