"""Several app processes on one database. On PostgreSQL: three `main.py serve` processes take 5,000 webhook events
and a 20,000-recipient broadcast while one of them is killed; every event is handled, every recipient reached once.
On SQLite: a second process that would do background work is refused, with the reason."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot import webhook_events as ev
from db.models import Broadcast, Delivery, InboxEvent
from tests.helpers import ADMIN, ROOT, SECRET, TOKEN, AppProcess, new_user_id, people, post_events, wait_for

ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")


def app_env(database_url: str, line: Any) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
            "LINE_API_BASE_URL": line.base_url, "ADMIN_API_TOKEN": ADMIN, "QUIET_HOURS_START": "0",
            "QUIET_HOURS_END": "0", "SCHEDULER_TICK_SECONDS": "1", "DELIVERY_LEASE_SECONDS": "3",
            "INBOX_LEASE_SECONDS": "3", "RETRY_BASE_SECONDS": "0.05", "RETRY_MAX_SECONDS": "0.5"}


@pytest.mark.skipif(not ON_POSTGRES, reason="several processes need PostgreSQL (SQLite refuses them: next test)")
def test_three_processes_share_the_work_and_survive_one_killed(database_url, sessions, line):
    who = people(sessions, residents=20_000)
    users = [new_user_id() for _ in range(1_000)]
    now_ms = int(time.time() * 1000)
    bodies = [[ev.text_message(users[i % len(users)], "ヘルプ", timestamp=now_ms + i)] for i in range(5_000)]
    apps = [AppProcess(app_env(database_url, line)) for _ in range(3)]
    try:
        for app in apps:
            app.wait_ready()
        created = httpx.post(apps[0].url + "/api/v1/broadcasts", headers={
            "Authorization": f"Bearer {ADMIN}"}, json={"title": "20,000人へ", "audience": {"kind": "residents"},
                                                        "messages": [{"type": "text", "text": "お知らせ"}]})
        assert created.status_code == 201, created.text
        urls = [app.url for app in apps]

        def urls_at(i: int) -> list[str]:
            return urls if i < 2_000 else urls[:2]  # the third process is killed after 2,000 events

        async def run() -> list[int]:
            sending = asyncio.create_task(post_events(urls, bodies, SECRET, urls_at=urls_at))
            await asyncio.to_thread(wait_for, lambda: len(line.sent("multicast")) >= 5, 60, "the broadcast to start")
            await asyncio.to_thread(wait_for, lambda: _stored(sessions) >= 2_000, 60, "2,000 events stored")
            apps[2].kill()
            return await sending

        statuses = asyncio.run(run())
        assert Counter(statuses) == {200: 5_000}
        wait_for(lambda: _left(sessions) == 0, 120, "every event handled")
        wait_for(lambda: _broadcast_status(sessions) == "done", 120, "the broadcast to finish")
        wait_for(lambda: _unsent_answers(sessions) == 0, 120, "every answer sent")  # some may wait behind others
    finally:
        for app in apps:
            app.stop()
    with sessions() as session:
        statuses_in_inbox = dict(session.execute(select(InboxEvent.status, func.count())
                                                 .group_by(InboxEvent.status)).all())
        answers = dict(session.execute(select(Delivery.status, func.count()).where(
            Delivery.kind.in_(("reply", "push"))).group_by(Delivery.status)).all())
        by_source = dict(session.execute(select(Delivery.source, func.count()).where(
            Delivery.kind.in_(("reply", "push"))).group_by(Delivery.source)).all())
        retried = session.scalar(select(func.count()).select_from(InboxEvent).where(InboxEvent.attempts > 1))
    assert statuses_in_inbox == {"done": 5_000}
    # each event's handling commits once: one answer each, however many times the killed process's claims were
    # taken up again (its batch of claimed events, retried after the lease)
    assert answers == {"sent": 5_000}, (answers, {k: v for k, v in by_source.items() if v != 1}, retried)
    assert retried < 5_000
    recipients = Counter(uid for r in line.sent("multicast") for uid in r.body["to"])
    assert set(recipients.values()) == {1}, "nobody got the broadcast twice"
    assert set(who["residents"]) <= set(recipients), "every resident got it (and some who wrote in meanwhile)"
    assert len(line.sent("reply")) + len(line.sent("push")) >= 5_000, "every event was answered"


def _stored(sessions: Any) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(InboxEvent)) or 0)


def _left(sessions: Any) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(InboxEvent).where(
            InboxEvent.status.in_(("pending", "processing")))) or 0)


def _unsent_answers(sessions: Any) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.kind.in_(("reply", "push")), Delivery.status.in_(("pending", "sending", "waiting")))) or 0)


def _broadcast_status(sessions: Any) -> str | None:
    with sessions() as session:
        return session.scalar(select(Broadcast.status))


@pytest.mark.skipif(ON_POSTGRES, reason="the refusal is for SQLite; PostgreSQL takes several (previous test)")
def test_a_second_worker_process_on_sqlite_is_refused_with_the_reason(database_url, client, line):
    """`client` is a running app that does the background work; a worker process beside it must not start."""
    env = {**os.environ, **app_env(database_url, line)}
    result = subprocess.run([sys.executable, "main.py", "worker"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "SQLite" in result.stderr and "PostgreSQL" in result.stderr and "one process" in result.stderr
