"""Shared fixtures: a migrated database (SQLite, or PostgreSQL with TEST_DATABASE_URL), the fake LINE server,
and the app with its real background workers, driven through signed webhooks."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot import webhook_events
from config import Settings
from db.base import Base, make_engine, make_session_factory
from db.migrate import upgrade
from db.models import Delivery, InboxEvent
from main import create_app
from surveys import service as survey_service
from tests.databases import fresh_postgres
from tests.fakeline import spec
from tests.fakeline.server import FakeLine

SECRET = "test-channel-secret"
TOKEN = "test-access-token"
ADMIN = "test-admin-token-0123456789abcdef"


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


def make_settings(database_url: str, line: FakeLine | None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "line_channel_secret": SECRET,
        "line_channel_access_token": TOKEN if line else "",
        "line_api_base_url": line.base_url if line else "https://api.line.me",
        "admin_api_token": ADMIN,
        "worker_poll_seconds": 0.05,
        "retry_base_seconds": 0.05,
        "retry_max_seconds": 0.4,
        "line_request_timeout_seconds": 2.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class Bot:
    """Talks to the app as LINE does: signed webhook bodies, valid by webhook.yml."""

    def __init__(self, client: TestClient, sessions: sessionmaker[Session]) -> None:
        self.client = client
        self.sessions = sessions

    def post(self, *events: dict[str, Any], secret: str = SECRET) -> Any:
        raw, headers = webhook_events.signed(secret, *events)
        assert spec.webhook_errors(json.loads(raw)) == [], "the test's own webhook body is not valid"
        return self.client.post("/callback", content=raw, headers=headers)

    def send(self, *events: dict[str, Any]) -> None:
        """Post events and wait until they are processed and every answer has left."""
        response = self.post(*events)
        assert response.status_code == 200, response.text
        self.wait_idle()

    def wait_idle(self, timeout: float = 15.0) -> None:
        wait_for(lambda: self._busy() == 0, timeout, "events or deliveries still pending")

    def _busy(self) -> int:
        now = time.time()
        with self.sessions() as session:
            events = session.scalar(select(func.count()).select_from(InboxEvent).where(
                InboxEvent.status.in_(("pending", "processing"))))
            deliveries = session.scalars(select(Delivery).where(Delivery.status.in_(("pending", "sending")))).all()
            # a delivery held back for much later (e.g. the monthly limit) does not count as busy
            waiting = [d for d in deliveries if d.next_attempt_at.timestamp() < now + 30]
            return int(events or 0) + len(waiting)


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for: {what}")


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
def client(app_factory: Callable[..., TestClient]) -> TestClient:
    return app_factory()


@pytest.fixture
def bot(client: TestClient, sessions: sessionmaker[Session]) -> Bot:
    return Bot(client, sessions)


def new_user_id() -> str:
    return "U" + uuid.uuid4().hex
