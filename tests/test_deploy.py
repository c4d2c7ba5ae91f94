"""`make check-docker`: the deploy files pass, and the checker catches what would break a deploy."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("check_docker", ROOT / ".ci" / "check_docker.py")
assert spec is not None and spec.loader is not None
check_docker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_docker)
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_repository_deploy_files_pass() -> None:
    assert check_docker.main() == 0


def test_a_package_missing_from_the_image_root_and_a_floating_base_image_are_caught() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    broken = (dockerfile.replace("COPY console ./console\n", "").replace("USER app\n", "")
              .replace("python:3.11-slim-bookworm", "python:latest"))
    problems = check_docker.dockerfile_problems(broken, PYPROJECT)
    assert "Dockerfile: console is not copied into the image" in problems
    assert "Dockerfile: the app runs as root (add a USER)" in problems
    assert "Dockerfile: base image python:latest is not pinned to a tag" in problems


def test_secrets_in_the_compose_file_an_open_port_and_no_volume_are_caught() -> None:
    compose = (ROOT / "docker-compose.yml").read_text()
    broken = (compose.replace("${ADMIN_API_TOKEN:?set ADMIN_API_TOKEN in .env}", "hunter2")
              .replace('"127.0.0.1:8000:8000"', '"8000:8000"').replace("      - pgdata:/var/lib/postgresql/data\n", ""))
    problems = "\n".join(check_docker.compose_problems(broken))
    assert "app.ADMIN_API_TOKEN is written into the file" in problems
    assert "port 8000:8000 is open on every interface" in problems
    assert "db keeps its data in no named volume" in problems
    assert check_docker.compose_problems("services: [") != []


def test_make_run_on_another_port_prints_and_links_that_port(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    shown = subprocess.run(["make", "-s", "--eval", "show: ; @echo $$PUBLIC_BASE_URL", "show", "PORT=8123"],
                           cwd=ROOT, capture_output=True, text=True, check=True,
                           env={k: v for k, v in os.environ.items() if k != "PUBLIC_BASE_URL"})
    assert shown.stdout.strip() == "http://127.0.0.1:8123"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/demo.db", "PUBLIC_BASE_URL": "http://127.0.0.1:8123"}
    subprocess.run([sys.executable, "main.py", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    printed = subprocess.run([sys.executable, "main.py", "demo"], cwd=ROOT, env=env, check=True,
                             capture_output=True, text=True).stdout
    assert "http://127.0.0.1:8123/console" in printed and "8000" not in printed
