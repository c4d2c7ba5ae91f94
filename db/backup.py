"""`python main.py backup FILE` / `restore FILE` for the embedded SQLite database (PostgreSQL: use pg_dump)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url


def sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise ValueError("backup and restore are for a SQLite file; for PostgreSQL use pg_dump / pg_restore "
                         "(see README.md)")
    return Path(url.database)


def backup(database_url: str, target: Path) -> Path:
    """A consistent copy while the app runs (SQLite's online backup API)."""
    source = sqlite_path(database_url)
    if not source.exists():
        raise FileNotFoundError(f"no database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


def restore(database_url: str, backup_file: Path) -> Path:
    """Replace the database with the backup (stop the app first). The backup is checked before anything changes."""
    target = sqlite_path(database_url)
    if not backup_file.exists():
        raise FileNotFoundError(f"no backup at {backup_file}")
    with sqlite3.connect(backup_file) as src:
        try:
            sound = src.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        except sqlite3.DatabaseError:
            sound = False
        if not sound:
            raise ValueError(f"{backup_file} is not a sound SQLite database; nothing was changed")
        target.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(target) as dst:
            src.backup(dst)
    return target
