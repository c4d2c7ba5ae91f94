"""Broadcasts through the automation API and the scheduler: segments, dry run, schedule, cancel, quiet hours,
multicast batches of 500, LINE faults, and a worker killed mid-way: every recipient exactly once."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from bot import clock
from broadcasts import service
from broadcasts.service import BroadcastInput
from db.base import transaction
from db.models import Broadcast, BroadcastRecipient, Delivery, User
from tests.helpers import ADMIN, AUTH, SECRET, TOKEN, people, wait_for, work

ROOT = Path(__file__).resolve().parent.parent


def _text(title: str, body: str, *, urgent: bool = False) -> BroadcastInput:
    """A text broadcast to the residents."""
    return BroadcastInput(title=title, messages=[{"type": "text", "text": body}], audience={"kind": "residents"},
                          urgent=urgent)


@pytest.fixture
def client(app_factory: Any) -> Any:
    """The app with no quiet hours, so these tests pass at any time of day (quiet hours have their own test)."""
    return app_factory(quiet_hours_start=0, quiet_hours_end=0)


def multicast_recipients(line: Any) -> Counter[str]:
    return Counter(uid for r in line.sent("multicast") for uid in r.body["to"])


def post(client: Any, **body: Any) -> Any:
    body.setdefault("title", "お知らせ")
    body.setdefault("messages", [{"type": "text", "text": "港区からのお知らせです"}])
    return client.post("/api/v1/broadcasts", json=body, headers=AUTH)


def wait_done(client: Any, broadcast_id: int, timeout: float = 30) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body = client.get(f"/api/v1/broadcasts/{broadcast_id}", headers=AUTH).json()
        return body if body["status"] == "done" else None

    return wait_for(done, timeout, "the broadcast to finish")


def test_dry_run_counts_a_subcommittee_and_the_quota_without_storing_anything(client, sessions, line):
    people(sessions, residents=5, members={"総務部会": 4, "教育部会": 3}, blocked=2)
    line.quota = 1000
    response = post(client, dry_run=True, audience={"kind": "subcommittees", "subcommittees": ["総務部会"]})
    assert response.status_code == 200, response.text
    assert response.json() == {"dry_run": True, "recipients": 4, "blocked": 0, "quota_use": 4, "quota_left": 1000}
    everyone = post(client, dry_run=True, audience={"kind": "all"}).json()
    assert (everyone["recipients"], everyone["blocked"]) == (12, 2)
    residents = post(client, dry_run=True, audience={"kind": "residents"}).json()
    assert (residents["recipients"], residents["blocked"]) == (5, 2)
    with sessions() as session:
        assert session.scalars(select(Broadcast)).all() == []
    assert line.sent() == []


def test_a_subcommittee_broadcast_reaches_each_member_once_and_skips_the_blocked(client, sessions, line):
    who = people(sessions, residents=3, members={"総務部会": 3, "教育部会": 2})
    with transaction(sessions) as session:  # a member of 総務部会 has blocked the bot
        session.execute(User.__table__.update().where(User.line_user_id == who["総務部会"][0])
                        .values(is_reachable=False))
    response = post(client, audience={"kind": "subcommittees", "subcommittees": ["総務部会"]},
                    messages=[{"type": "text", "text": "部会のお知らせ"}])
    assert response.status_code == 201, response.text
    body = wait_done(client, response.json()["id"])
    assert body["counts"] == {"recipients": 2, "sent": 2, "failed": 0, "pending": 0, "skipped": 1, "percent": 100}
    assert multicast_recipients(line) == Counter(who["総務部会"][1:])
    assert line.sent("multicast")[0].body["messages"] == [{"type": "text", "text": "部会のお知らせ"}]
    assert line.sent("multicast")[0].retry_key


def test_large_audiences_go_in_multicasts_of_500_and_all_friends_by_the_broadcast_endpoint(client, sessions, line):
    who = people(sessions, residents=1201, category=("まつり", 3))
    response = post(client, audience={"kind": "residents"})
    wait_done(client, response.json()["id"])
    sizes = sorted(len(r.body["to"]) for r in line.sent("multicast"))
    assert sizes == [204, 500, 500]
    recipients = multicast_recipients(line)
    assert set(recipients) == set(who["residents"]) | set(who["category"]) and set(recipients.values()) == {1}

    response = post(client, audience={"kind": "category", "category": "まつり"})
    wait_done(client, response.json()["id"])
    assert sorted(line.sent("multicast")[-1].body["to"]) == sorted(who["category"])

    response = post(client, audience={"kind": "all"})
    body = wait_done(client, response.json()["id"])
    assert len(line.sent("broadcast")) == 1 and body["counts"]["sent"] == 1204


def test_bad_input_gets_a_clear_422_and_nothing_is_stored(client, sessions, line):
    people(sessions, members={"総務部会": 1})
    cases = [
        {"audience": {"kind": "subcommittees", "subcommittees": ["存在しない部会"]}},
        {"audience": {"kind": "subcommittees", "subcommittees": []}},
        {"audience": {"kind": "category", "category": "天気"}},
        {"audience": {"kind": "everyone"}},
        {"audience": {"kind": "all"}, "messages": []},
        {"audience": {"kind": "all"}, "messages": [{"type": "text", "text": "x"}] * 6},
        {"audience": {"kind": "all"}, "messages": [{"type": "event", "event_id": 999}]},
        {"audience": {"kind": "all"}, "messages": [{"type": "image", "image_url": "http://example.com/a.png"}]},
        {"audience": {"kind": "all"}, "messages": [{"type": "image", "image_url": "https://["}]},  # schemathesis
        {"audience": {"kind": "all"}, "messages": [{"type": "image", "image_url": "https://a.jp/x.png",
                                                    "link_url": "https://a b"}]},
        {"audience": {"kind": "all"}, "scheduled_at": "2020-01-01T10:00:00+09:00"},
        {"audience": {"kind": "all"}, "scheduled_at": "2030-01-01T10:00:00"},  # no time zone
        {"audience": {"kind": "all"}, "scheduled_at": "9999-12-31T10:00:00+09:00"},  # schemathesis: overflowed
        {"audience": {"kind": "all"}, "messages": [{"type": "text", "text": "NUL\u0000"}]},  # PostgreSQL refuses
    ]
    for case in cases:
        response = post(client, **case)
        assert response.status_code == 422, (case, response.text)
    assert "存在しない部会" in post(client, **cases[0]).text
    with sessions() as session:
        assert session.scalars(select(Broadcast)).all() == []


def test_a_scheduled_broadcast_waits_and_can_be_cancelled_until_it_starts(client, sessions, line):
    people(sessions, residents=2)
    later = (clock.now() + dt.timedelta(days=2)).isoformat()
    created = post(client, audience={"kind": "residents"}, scheduled_at=later).json()
    assert created["status"] == "scheduled"
    cancelled = client.post(f"/api/v1/broadcasts/{created['id']}/cancel", headers=AUTH)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/broadcasts/{created['id']}/cancel", headers=AUTH)
    assert again.status_code == 409
    assert client.get("/api/v1/broadcasts/424242", headers=AUTH).status_code == 404

    sent = post(client, audience={"kind": "residents"}).json()
    wait_done(client, sent["id"])
    too_late = client.post(f"/api/v1/broadcasts/{sent['id']}/cancel", headers=AUTH)
    assert too_late.status_code == 409 and "取り消せません" in too_late.text
    assert len(line.sent("multicast")) == 1


def test_quiet_hours_hold_a_broadcast_until_morning_unless_it_is_urgent(sessions):
    people(sessions, residents=2)
    night = dt.datetime(2026, 12, 1, 22, 30, tzinfo=clock.JST)
    with time_machine.travel(night, tick=False):
        with work(sessions, line_enabled=True) as unit:
            normal = service.create(unit, _text("夜の配信", "a"))
            urgent = service.create(unit, _text("防災", "避難情報", urgent=True))
            service.schedule(unit, normal, at=None)
            service.schedule(unit, urgent, at=None)
            assert service.starts_at(normal, 21, 8) == dt.datetime(2026, 12, 2, 8, 0, tzinfo=clock.JST)
            assert service.run_due(unit) == {"started": 1, "finished": 0}
            assert (normal.status, urgent.status) == ("scheduled", "sending")
    with time_machine.travel(dt.datetime(2026, 12, 2, 8, 0, 5, tzinfo=clock.JST), tick=False):
        with work(sessions, line_enabled=True) as unit:
            assert service.run_due(unit)["started"] == 1
            assert unit.session.get(Broadcast, normal.id).status == "sending"


@pytest.mark.parametrize("fault", [
    {"status": 500, "times": 2},
    {"status": 429, "times": 2, "body": {"message": "Too many requests"}},
    {"status": 500, "times": 1, "accept_first": True},  # LINE took it, the answer was lost: the retry gets 409
    {"status": 500, "times": 1, "hang": 3.0},  # longer than the client's time-out
])
def test_line_faults_on_some_batches_still_reach_everyone_exactly_once(client, sessions, line, fault):
    who = people(sessions, residents=1500)
    line.fail("/message/multicast", **fault)
    response = post(client, audience={"kind": "residents"})
    body = wait_done(client, response.json()["id"], timeout=40)
    assert body["counts"]["sent"] == 1500 and body["counts"]["failed"] == 0
    assert multicast_recipients(line) == Counter({uid: 1 for uid in who["residents"]})


def test_the_recipient_log_names_each_recipient_and_the_request_that_carried_it(client, sessions, line):
    who = people(sessions, residents=3, blocked=1)
    created = post(client, audience={"kind": "residents"}).json()
    wait_done(client, created["id"])
    with sessions() as session:
        log = service.recipient_log(session, session.get(Broadcast, created["id"]))
    assert {row["line_user_id"]: row["status"] for row in log} == {
        **{uid: "sent" for uid in who["residents"]}, who["blocked"][0]: "skipped"}
    assert all(row["sent_at"] for row in log if row["status"] == "sent")


# --------------------------------------------------------------------------- a real process, killed


def _worker(database_url: str, line: Any, **env: str) -> subprocess.Popen[bytes]:
    environment = {**os.environ, "DATABASE_URL": database_url, "LINE_CHANNEL_SECRET": SECRET,
                   "LINE_CHANNEL_ACCESS_TOKEN": TOKEN, "LINE_API_BASE_URL": line.base_url,
                   "ADMIN_API_TOKEN": ADMIN, "SCHEDULER_TICK_SECONDS": "1", "WORKER_POLL_SECONDS": "0.05",
                   "RETRY_BASE_SECONDS": "0.05", "RETRY_MAX_SECONDS": "0.3", "LINE_REQUEST_TIMEOUT_SECONDS": "2",
                   "SENDER_CONCURRENCY": "2", "DELIVERY_LEASE_SECONDS": "3", "QUIET_HOURS_START": "0",
                   "QUIET_HOURS_END": "0", **env}
    return subprocess.Popen([sys.executable, "main.py", "worker"], cwd=ROOT, env=environment,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.parametrize("how", ["kill", "term"])
def test_a_worker_stopped_mid_broadcast_resumes_after_restart_with_everyone_exactly_once(
        database_url, sessions, line, how):
    who = people(sessions, residents=5000)
    with work(sessions, line_enabled=True) as unit:
        broadcast = service.create(unit, _text("5,000人へ", "お知らせ"))
        service.schedule(unit, broadcast, at=None)
    line.delay["/message/multicast"] = 0.15  # slow enough to stop the worker between batches
    line.fail("/message/multicast", status=500, times=1, accept_first=True, hang=0.5)
    worker = _worker(database_url, line)
    try:
        wait_for(lambda: len(line.sent("multicast")) >= 3, 30, "a few batches to go out")
        worker.send_signal(signal.SIGKILL if how == "kill" else signal.SIGTERM)
        code = worker.wait(15)
        assert code == (-signal.SIGKILL if how == "kill" else 0), worker.stderr.read().decode()[-2000:]
        assert len(line.sent("multicast")) < 10, "the worker finished before it was stopped"
        line.delay.clear()
        worker = _worker(database_url, line)
        wait_for(lambda: _status(sessions, broadcast.id) == "done", 60, "the broadcast to finish after restart")
    finally:
        worker.kill()
        worker.wait(10)
    assert multicast_recipients(line) == Counter({uid: 1 for uid in who["residents"]})
    with sessions() as session:
        assert service.progress(session, session.get(Broadcast, broadcast.id))["sent"] == 5000
        assert session.query(BroadcastRecipient).count() == 5000


def _status(sessions: Any, broadcast_id: int) -> str:
    with sessions() as session:
        return session.get(Broadcast, broadcast_id).status


def test_broadcast_routes_need_the_token(client, line):
    assert client.get("/api/v1/broadcasts/1").status_code == 401
    assert client.post("/api/v1/broadcasts", json={}).status_code == 401
    assert client.post("/api/v1/broadcasts/1/cancel").status_code == 401


def test_without_line_a_broadcast_shows_in_the_simulator(database_url, sessions):
    """Development (`make run`, no LINE account): a broadcast stays in the outbox and the simulator shows it."""
    from fastapi.testclient import TestClient

    from main import create_app
    from tests.helpers import make_settings

    who = people(sessions, residents=1, members={"総務部会": 1})
    settings = make_settings(database_url, None, quiet_hours_start=0, quiet_hours_end=0)
    with TestClient(create_app(settings)) as client:
        created = post(client, audience={"kind": "subcommittees", "subcommittees": ["総務部会"]},
                       messages=[{"type": "text", "text": "部会だけのお知らせ"}]).json()
        body = wait_done(client, created["id"])
        assert body["counts"]["sent"] == 1

        def texts_of(user_id: str) -> list[str]:
            items = client.get("/simulator/api/messages", params={"user_id": user_id}).json()
            return [m.get("text") for item in items if item["from"] == "bot" for m in item["messages"]]

        assert "部会だけのお知らせ" in texts_of(who["総務部会"][0])
        assert "部会だけのお知らせ" not in texts_of(who["residents"][0])


def test_recipients_are_queued_in_chunks_each_once(sessions):
    """Small chunks, so several transactions queue one broadcast (on both databases): everyone once, in order."""
    who = people(sessions, residents=7, blocked=2)
    with work(sessions, line_enabled=True) as unit:
        broadcast = service.create(unit, _text("少しずつ", "a", urgent=True))
        service.schedule(unit, broadcast, at=None)
        service.run_due(unit)
    chunks = 0
    while True:
        with work(sessions, line_enabled=True) as unit:
            if not service.queue_chunk(unit, chunk=3):
                break
        chunks += 1
    assert chunks == 4  # 9 users: 3 + 3 + 3, then an empty chunk that marks the broadcast queued
    with sessions() as session:
        broadcast = session.get(Broadcast, broadcast.id)
        assert (broadcast.recipients, broadcast.skipped, broadcast.queued_at is not None) == (7, 2, True)
        rows = session.scalars(select(BroadcastRecipient).order_by(BroadcastRecipient.id)).all()
        queued = [r.line_user_id for r in rows if not r.skipped]
        deliveries = session.scalars(select(Delivery).where(Delivery.source == f"broadcast:{broadcast.id}")).all()
    assert sorted(queued) == sorted(who["residents"])
    assert sorted(uid for d in deliveries for uid in d.recipients) == sorted(who["residents"])
    assert all(r.delivery_id is not None for r in rows if not r.skipped)
