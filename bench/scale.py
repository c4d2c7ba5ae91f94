"""Scaling benchmark: webhook throughput with 1, 2 and 4 app processes (`main.py serve`) on one PostgreSQL,
on this 2-core machine, printed as ratios to one process, with every event handled exactly once.

Each run gets a fresh database; LINE is off (answers stay in the outbox), so what is measured is the app: the
signed webhook, the inbox, the handlers and the claims that share the work between processes. Printed per run:
webhook requests/s while sending (ratio to one process), events handled per second end to end (ratio to one
process), and the exactly-once check (every event stored once, handled once, one answer each).

    .venv/bin/python bench/scale.py [--events 3000] [--database-url postgresql+psycopg://postgres@127.0.0.1/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bot import webhook_events as ev  # noqa: E402
from db.base import make_engine  # noqa: E402
from db.models import Delivery, InboxEvent  # noqa: E402
from tests.helpers import AppProcess, fresh_postgres, post_events  # noqa: E402

SECRET = "bench-channel-secret"


def run(server_url: str, processes: int, events: int) -> dict[str, float]:
    with fresh_postgres(server_url, prefix="minato_scale") as url:
        return measure(url, processes, events)


def measure(url: str, processes: int, events: int) -> dict[str, float]:
    engine = make_engine(url)
    env = {"DATABASE_URL": url, "LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": "",
           "ADMIN_API_TOKEN": "bench-admin-token-0123456789", "LOG_LEVEL": "WARNING"}
    apps = [AppProcess(env) for _ in range(processes)]
    try:
        for app in apps:
            app.wait_ready()
        users = [f"U{i:032x}" for i in range(300)]
        now = int(time.time() * 1000)
        bodies = [[ev.text_message(users[i % len(users)], "ヘルプ", timestamp=now + i)] for i in range(events)]
        started = time.perf_counter()
        statuses = asyncio.run(post_events([a.url for a in apps], bodies, SECRET, concurrency=32))
        posted = time.perf_counter() - started
        while True:
            with engine.connect() as conn:
                left = conn.scalar(select(func.count()).select_from(InboxEvent).where(
                    InboxEvent.status.in_(("pending", "processing"))))
            if not left:
                break
            time.sleep(0.05)
        handled = time.perf_counter() - started
        with engine.connect() as conn:
            stored, distinct = conn.execute(select(func.count(), func.count(func.distinct(
                InboxEvent.webhook_event_id)))).one()
            done = conn.scalar(select(func.count()).select_from(InboxEvent).where(InboxEvent.status == "done"))
            answers, sources = conn.execute(select(func.count(), func.count(func.distinct(Delivery.source)))
                                            .where(Delivery.kind.in_(("reply", "push")))).one()
    finally:
        for app in apps:
            app.stop()
        engine.dispose()
    once = statuses.count(200) == events and stored == distinct == done == events and answers == sources == events
    return {"webhook_rps": events / posted, "handled_rps": events / handled, "exactly_once": once}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL server; a fresh database is made on it for each run")
    args = parser.parse_args()
    print(f"{args.events} webhook events, 300 users, 32 concurrent senders, PostgreSQL, LINE off")
    first: dict[str, float] = {}
    for processes in (1, 2, 4):
        result = run(args.database_url, processes, args.events)
        first = first or result
        print(f"  {processes} process{'es' if processes > 1 else '  '}: webhook {result['webhook_rps']:6.0f}/s "
              f"(x{result['webhook_rps'] / first['webhook_rps']:.2f}) · handled end to end "
              f"{result['handled_rps']:6.0f}/s (x{result['handled_rps'] / first['handled_rps']:.2f}) · "
              f"exactly once: {'yes' if result['exactly_once'] else 'NO'}")


if __name__ == "__main__":
    main()
