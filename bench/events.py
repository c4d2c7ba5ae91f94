"""Events benchmark: 2,000 events and 100,000 pending reminders in the database.

Prints in one run: the handler time for 「今月のイベント」 (p50/p99), the scheduler tick with nothing due, and the
time to hand 10,000 due reminders (one subscriber each) to the gateway's outbox.
Targets: p99 answer under 30 ms; an idle tick under 20 ms; 10,000 due reminders within 2 s.

    .venv/bin/python bench/events.py [--database-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, update  # noqa: E402

from bot import clock, inbox  # noqa: E402
from bot import webhook_events as ev  # noqa: E402
from config import Settings  # noqa: E402
from db.base import make_engine, transaction  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Delivery, Event, EventSubscription, InboxEvent, Reminder, User  # noqa: E402
from events import service  # noqa: E402
from runtime import Runtime  # noqa: E402

EVENTS = 2_000
REMINDERS = 100_000
DUE = 10_000


def seed(runtime: Runtime) -> None:
    now = clock.now()
    with transaction(runtime.sessions) as session:
        session.execute(Event.__table__.insert(), [
            {"title": f"イベント{i}", "kind": "event" if i % 3 else "festival",
             "starts_at": now + dt.timedelta(hours=6 + i * 4), "ends_at": now + dt.timedelta(hours=8 + i * 4),
             "all_day": False, "visibility": "public", "tags": ["まつり"] if i % 3 == 0 else [],
             "keywords": [], "status": "scheduled", "documents": [], "created_at": now, "updated_at": now,
             "venue": "八幡屋公園"} for i in range(EVENTS)])
        first_event = session.scalar(select(func.min(Event.id)))
        session.execute(User.__table__.insert(), [
            {"line_user_id": f"U{i:032x}", "language": "ja", "is_reachable": True, "created_at": now,
             "profile_updated_at": now} for i in range(1, DUE + 1)])
        first_user = session.scalar(select(func.min(User.id)))
        # one subscriber per event: the 10,000 due reminders (five per event) make 10,000 pushes
        session.execute(EventSubscription.__table__.insert(), [
            {"event_id": first_event + i, "user_id": first_user + i, "created_at": now} for i in range(EVENTS)])
        session.execute(Reminder.__table__.insert(), [
            {"event_id": first_event + i % EVENTS, "label": f"r{i}", "due_at": now + dt.timedelta(days=400),
             "status": "pending", "recipients": 0} for i in range(REMINDERS)])


def answer_times(runtime: Runtime, rounds: int = 200) -> list[float]:
    times = []
    for i in range(rounds):
        event = ev.text_message(f"U{(i % 50) + 1:032x}", "今月のイベント")
        with transaction(runtime.sessions) as session:
            inbox.store(session, [event])
        [claim], _more = runtime.processor._claim(1)
        started = time.perf_counter()
        runtime.processor._handle(claim.id, claim.payload, None, claim.attempt)
        times.append((time.perf_counter() - started) * 1000)
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboxEvent).where(InboxEvent.status == "done")) == rounds
    return times


def tick(runtime: Runtime) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    with runtime.work("bench") as work:
        done = service.run_due(work, limit=DUE)
    return (time.perf_counter() - started) * 1000, done


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='bench-events-')}/bench.db"
    upgrade(make_engine(url))
    runtime = Runtime(Settings(_env_file=None, database_url=url, start_background_workers=False,  # type: ignore[call-arg]
                               quiet_hours_start=0, quiet_hours_end=0, public_base_url="https://example.invalid"))
    seed(runtime)

    times = answer_times(runtime)
    q = statistics.quantiles(times, n=100)
    idle = sorted(tick(runtime)[0] for _ in range(20))
    with transaction(runtime.sessions) as session:  # 10,000 of the reminders fall due
        ids = session.scalars(select(Reminder.id).order_by(Reminder.id).limit(DUE)).all()
        session.execute(update(Reminder).where(Reminder.id.in_(ids)).values(due_at=clock.now()))
    due_ms, done = tick(runtime)
    with runtime.sessions() as session:
        queued = session.scalar(select(func.count()).select_from(Delivery))
    print(f"「今月のイベント」 handler:  p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms   (target p99 < 30 ms)")
    print(f"idle scheduler tick:       median {idle[10]:.1f} ms, max {idle[-1]:.1f} ms   (target < 20 ms)")
    print(f"10,000 due reminders:      {due_ms / 1000:.2f} s, {done['sent']} sent, {queued} pushes queued   "
          f"(target < 2 s)")


if __name__ == "__main__":
    main()
