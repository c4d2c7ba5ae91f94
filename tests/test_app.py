"""Configuration, start-up refusals, health, the development outbox and the simulator's API."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot import webhook_events as ev
from config import Settings, SettingsError
from db.base import make_engine
from db.migrate import DatabaseNotMigrated
from db.models import Delivery, InboxEvent
from main import create_app, main
from tests.helpers import make_settings, new_user_id, wait_for


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({}, "LINE_CHANNEL_SECRET"),
        ({"line_channel_secret": "s" * 32}, "LINE_CHANNEL_ACCESS_TOKEN"),
        ({"line_channel_secret": "s" * 32, "line_channel_access_token": "t" * 40}, "ADMIN_API_TOKEN"),
        ({"line_channel_secret": "s" * 32, "line_channel_access_token": "t" * 40, "admin_api_token": "changeme"},
         "ADMIN_API_TOKEN"),
    ],
)
def test_production_refuses_missing_or_default_secrets_and_names_them(values: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings(_env_file=None, app_env="production", **values)  # type: ignore[call-arg]


def test_production_starts_with_real_secrets() -> None:
    settings = Settings(_env_file=None, app_env="production", line_channel_secret="s" * 32,  # type: ignore[call-arg]
                        line_channel_access_token="t" * 40, admin_api_token="a" * 32)
    assert settings.is_production and settings.line_enabled


def test_cli_explains_a_refused_production_configuration(monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.chdir("/")  # no .env file
    assert main(["migrate"]) == 2
    assert "LINE_CHANNEL_SECRET" in capsys.readouterr().err


def test_an_unmigrated_database_is_refused_with_the_command_that_fixes_it(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path}/empty.db"
    app = create_app(make_settings(url, None))
    with pytest.raises(DatabaseNotMigrated, match="make migrate"), TestClient(app):
        pass
    make_engine(url).dispose()


def test_healthz_reports_database_and_scheduler(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "scheduler": "running"}


def test_without_line_credentials_messages_stay_in_the_outbox(app_factory: Any, sessions: Any, line: Any) -> None:
    client = app_factory(line_channel_access_token="")
    user_id = new_user_id()
    from tests.helpers import Bot

    Bot(client, sessions).send(ev.follow(user_id))
    with sessions() as session:
        (row,) = session.scalars(select(Delivery)).all()
        assert row.status == "outbox" and "友だち追加ありがとうございます" in row.messages[0]["text"]
    assert line.requests == []


def test_simulator_posts_signed_events_through_the_real_path(app_factory: Any, sessions: Any) -> None:
    client = app_factory(line_channel_access_token="")
    created = client.post("/simulator/api/users", json={"display_name": "みなと 花子"}).json()
    user_id = created["userId"]
    assert client.post("/simulator/api/events", json={"user_id": user_id, "kind": "follow"}).json()["status"] == 200
    client.post("/simulator/api/events", json={"user_id": user_id, "kind": "text", "text": "ヘルプ"})

    def answered() -> list[dict[str, Any]]:
        items = client.get("/simulator/api/messages", params={"user_id": user_id}).json()
        return items if len([i for i in items if i["from"] == "bot"]) == 2 else []

    items = wait_for(answered, what="two answers in the simulator")
    bot_texts = [i["messages"][0]["text"] for i in items if i["from"] == "bot"]
    assert bot_texts[0].startswith("みなと 花子さん、友だち追加ありがとうございます")
    assert "このアカウントでできること" in bot_texts[1]
    with sessions() as session:
        assert len(session.scalars(select(InboxEvent)).all()) == 2
    assert client.post("/simulator/api/events", json={"user_id": "x", "kind": "text"}).status_code == 422


def test_simulator_is_404_in_production(database_url: str, sessions: Any, line: Any) -> None:
    settings = make_settings(database_url, line, app_env="production", line_channel_secret="s" * 32,
                             line_channel_access_token="t" * 40, admin_api_token="a" * 32)
    with TestClient(create_app(settings)) as client:
        assert client.get("/simulator").status_code == 404
        assert client.get("/simulator/api/users").status_code == 404
        event = {"user_id": new_user_id(), "kind": "follow"}
        assert client.post("/simulator/api/events", json=event).status_code == 404


def test_a_web_process_leaves_the_work_to_a_worker_process(app_factory: Any, sessions: Any, line: Any) -> None:
    from tests.helpers import Bot

    web = app_factory(process_role="web")
    health = web.get("/healthz")
    assert health.status_code == 503 and health.json()["scheduler"] == "stopped"  # no worker yet
    web_bot = Bot(web, sessions)
    assert web_bot.post(ev.text_message(new_user_id(), "ヘルプ")).status_code == 200
    with sessions() as session:
        assert session.scalars(select(InboxEvent)).one().status == "pending"
    app_factory(process_role="worker")  # e.g. `main.py worker`, on the same database
    web_bot.wait_idle()
    assert web.get("/healthz").json() == {"status": "ok", "database": "ok", "scheduler": "running"}
    assert len(line.sent("reply")) == 1


def test_metrics_need_the_token_and_count_events_and_deliveries(client: TestClient, sessions: Any,
                                                                line: Any) -> None:
    from tests.helpers import ADMIN, Bot

    assert client.get("/metrics").status_code == 401
    Bot(client, sessions).send(ev.text_message(new_user_id(), "ヘルプ"))
    body = client.get("/metrics", headers={"Authorization": f"Bearer {ADMIN}"}).text
    for name in ("webhook_events_received_total", 'webhook_events_processed_total{outcome="done"}',
                 'line_deliveries_total{kind="reply",outcome="sent"}', "webhook_event_lag_seconds_bucket",
                 'line_api_seconds_count{kind="reply",status="200"}'):
        assert name in body, name


def test_sqlite_backup_and_restore(tmp_path: Any, monkeypatch: Any, capsys: Any) -> None:
    from db.base import make_engine
    from db.migrate import upgrade

    url = f"sqlite:///{tmp_path}/live.db"
    upgrade(make_engine(url))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    assert main(["backup", str(tmp_path / "copy.db")]) == 0
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM events")
    assert main(["restore", str(tmp_path / "copy.db")]) == 0
    with make_engine(url).connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM events").scalar() == 8
    (tmp_path / "broken.db").write_bytes(b"not a database")
    assert main(["restore", str(tmp_path / "broken.db")]) != 0
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/x")
    assert main(["backup", str(tmp_path / "x.db")]) == 2
    assert "pg_dump" in capsys.readouterr().err
