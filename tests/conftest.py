"""The fixtures (helpers live in tests/helpers.py): a migrated database (SQLite, or PostgreSQL with
TEST_DATABASE_URL), the fake LINE server, and the app with its real background workers, driven through signed
webhooks."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from db.base import Base, make_engine, make_session_factory
from db.migrate import upgrade
from main import create_app
from surveys import service as survey_service
from tests.fakeline import spec
from tests.fakeline.server import FakeLine
from tests.helpers import SHIPPED_QUIET_HOURS, Bot, fresh_postgres, make_settings


def pytest_configure(config: pytest.Config) -> None:
    """Without LINE's OpenAPI files nothing can be checked: say so in one line instead of a hundred errors."""
    if (hint := spec.missing()) is not None:
        pytest.exit(hint, returncode=2)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database for this test run, migrated to head."""
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        path = Path(tmp_path_factory.mktemp("db")) / "test.db"
        url = f"sqlite:///{path}"
        upgrade(make_engine(url))
        yield url
        return
    with fresh_postgres(server_url) as url:
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Any]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Any) -> Iterator[sessionmaker[Session]]:
    """A session factory on an emptied database (every table cleared before the test)."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
    survey_service._TEMPLATES.pop(engine, None)  # ids start again: what was cached for them is another database's
    yield make_session_factory(engine)


@pytest.fixture(scope="session")
def fake_line_server() -> Iterator[FakeLine]:
    server = FakeLine().start()
    yield server
    server.stop()


@pytest.fixture
def line(fake_line_server: FakeLine) -> Iterator[FakeLine]:
    """The fake LINE server, reset; the test fails if the bot sent any request that does not validate."""
    fake_line_server.reset()
    yield fake_line_server
    assert fake_line_server.violations == [], "requests that messaging-api.yml refuses"


@pytest.fixture
def app_factory(
    database_url: str, sessions: sessionmaker[Session], line: FakeLine
) -> Iterator[Callable[..., TestClient]]:
    """Start app processes (the lifespan runs: workers, scheduler); each is stopped at the end of the test."""
    started: list[TestClient] = []

    def start(**overrides: Any) -> TestClient:
        client = TestClient(create_app(make_settings(database_url, line, **overrides)))
        client.__enter__()
        started.append(client)
        return client

    yield start
    for client in reversed(started):
        client.__exit__(None, None, None)


@pytest.fixture
def client(app_factory: Callable[..., TestClient], request: pytest.FixtureRequest) -> TestClient:
    """The app; with the quiet hours as shipped for a test marked quiet_hours (the others have none, so that what
    they expect does not depend on the hour they run at)."""
    return app_factory(**(SHIPPED_QUIET_HOURS if request.node.get_closest_marker("quiet_hours") else {}))


@pytest.fixture
def bot(client: TestClient, sessions: sessionmaker[Session]) -> Bot:
    return Bot(client, sessions)
