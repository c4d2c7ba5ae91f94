"""Apply migrations and refuse to run on a database that is behind."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parent.parent


class DatabaseNotMigrated(RuntimeError):
    pass


def alembic_config() -> Config:
    return Config(str(ROOT / "alembic.ini"))


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def ensure_migrated(engine: Engine) -> None:
    """Raise with the command that fixes it when the database is not at the newest revision."""
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    head = head_revision()
    if current != head:
        raise DatabaseNotMigrated(
            f"The database is not migrated (it is at {current or 'no revision'}, the code needs {head}). "
            "Run `make migrate` (or `python main.py migrate`) first."
        )
