"""The inbox of webhook events: stored at once by the webhook, processed afterwards, in order per user.

Each event is processed once: its webhookEventId is unique in the table (a redelivery or duplicate is not stored
again), and a worker claims an event before handling it. A failure rolls back the handler's work and schedules a
retry with back-off; after the last attempt the event stays in the table as ``failed`` for staff to see.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot import clock, metrics, users
from bot.gateway import LineGateway
from config import Settings
from db.base import transaction
from db.models import InboxEvent, User

log = logging.getLogger(__name__)

UNFINISHED = ("pending", "processing")
MAX_YIELD_SECONDS = 0.25  # the longest handling waits for the webhook before each event
# Event types that carry a user and get handled; everything else is stored and ignored.
HANDLED_TYPES = {"message", "follow", "unfollow", "postback", "beacon", "accountLink", "things"}
# How the inbox hands an event to the conversations (handlers/, wired in by runtime.py): in the event's transaction,
# with its user (None for a source without one) and LINE profile; True when a handler took it.
Dispatch = Callable[[Session, dict[str, Any], User | None, dict[str, Any] | None], bool]


def user_key(event: dict[str, Any]) -> str:
    source = event.get("source") if isinstance(event.get("source"), dict) else {}
    return str(source.get("userId") or source.get("groupId") or source.get("roomId") or "")[:64]


def store(session: Session, events: list[dict[str, Any]]) -> set[str]:
    """Insert events not seen before (by webhookEventId), in one statement; returns the webhookEventIds that were
    new. Safe under concurrency."""
    if not events:
        return set()
    now = clock.now()
    rows = []
    seen: set[str] = set()
    for event in events:
        if event["webhookEventId"] in seen:  # the same event twice in one batch
            continue
        seen.add(event["webhookEventId"])
        key = user_key(event)
        handled = event.get("mode", "active") == "active" and event.get("type") in HANDLED_TYPES and key
        rows.append({
            "webhook_event_id": event["webhookEventId"],
            "event_type": str(event.get("type", ""))[:64],
            "mode": str(event.get("mode", "active"))[:16],
            "user_key": key,
            "line_timestamp": int(event.get("timestamp", 0)),
            "is_redelivery": bool((event.get("deliveryContext") or {}).get("isRedelivery", False)),
            "payload": event,
            "status": "pending" if handled else "ignored",
            "attempts": 0,
            "next_attempt_at": now,
            "received_at": now,
        })
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = InboxEvent.__table__
    statement = (insert(table).on_conflict_do_nothing(index_elements=["webhook_event_id"])
                 .returning(table.c.webhook_event_id))
    return set(session.connection().execute(statement, rows).scalars())


class Traffic:
    """Webhook requests in flight in this process, so that handling (in a worker thread) can give way to them:
    they share one interpreter lock and, on SQLite, one writer. Counted on the event loop, read from threads."""

    def __init__(self) -> None:
        self._in_flight = 0
        self._idle = threading.Event()
        self._idle.set()

    def enter(self) -> None:
        self._in_flight += 1
        self._idle.clear()

    def leave(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()

    def give_way(self, longest: float) -> None:
        """Wait until no request is in flight, or `longest` seconds at most."""
        if longest > 0 and not self._idle.is_set():
            self._idle.wait(longest)


class InboxWriter:
    """Group commit: webhook requests hand their events to one writer that stores many requests' events in one
    transaction. Each request still gets its 200 only after its events are committed; the database sees one
    writer instead of dozens of threads queuing for its lock."""

    def __init__(self, sessions: sessionmaker[Session], max_batch: int = 500) -> None:
        self.sessions = sessions
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[list[dict[str, Any]], asyncio.Future[int]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="inbox-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def store(self, events: list[dict[str, Any]]) -> int:
        """Store events; returns once they are committed (how many were new)."""
        if self._task is None:  # not started (e.g. a tool using the app without its lifespan)
            return await asyncio.to_thread(self._write_one, events)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        await self._queue.put((events, future))
        return await future

    def _write_one(self, events: list[dict[str, Any]]) -> int:
        with transaction(self.sessions) as session:
            return len(store(session, events))

    def _write_batch(self, batch: list[tuple[list[dict[str, Any]], asyncio.Future[int]]]) -> list[int]:
        """All requests' events in one statement (less than half the cost of one per request); each request
        is told how many of its own events were new (a copy of one event in two requests counts for the first)."""
        with transaction(self.sessions) as session:
            new = store(session, [event for events, _future in batch for event in events])
        results = []
        for events, _future in batch:
            mine = {event["webhookEventId"] for event in events} & new
            new -= mine
            results.append(len(mine))
        return results

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            size = len(batch[0][0])
            while not self._queue.empty() and size < self.max_batch:
                item = self._queue.get_nowait()
                batch.append(item)
                size += len(item[0])
            try:
                results = await asyncio.to_thread(self._write_batch, batch)
            except Exception:
                log.exception("storing a batch of webhook events failed; storing each request alone")
                await self._write_singly(batch)
                continue
            for (_events, future), new in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(new)

    async def _write_singly(self, batch: list[tuple[list[dict[str, Any]], asyncio.Future[int]]]) -> None:
        """One bad request must not fail the others: a request that still fails answers 500 and LINE redelivers."""
        for events, future in batch:
            try:
                new = await asyncio.to_thread(self._write_one, events)
            except Exception as exc:
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(new)


class InboxProcessor:
    """Claims due events and hands each to the dispatcher inside one transaction."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], dispatch: Dispatch,
                 gateway: LineGateway, traffic: Traffic | None = None) -> None:
        self.settings = settings
        self.sessions = sessions
        self.dispatch = dispatch
        self.gateway = gateway
        self.traffic = traffic or Traffic()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                while await self.process_due() and not stop.is_set():
                    pass
            except Exception:
                log.exception("inbox loop failed; retrying")
            try:
                await asyncio.wait_for(self._wake.wait(), self.settings.worker_poll_seconds)
            except TimeoutError:
                pass
            self._wake.clear()

    async def process_due(self, limit: int = 100) -> int:
        """Process one batch: the oldest unfinished event of each user.

        LINE profiles the batch needs are fetched first, side by side and outside any transaction; then the
        events are handled one after another in one worker thread, each in its own transaction. One writer at a
        time keeps the webhook's inserts from queuing behind several handler transactions.
        """
        claimed = await asyncio.to_thread(self._claim, limit)
        if not claimed:
            return 0
        profiles = await self._fetch_profiles(claimed)
        await asyncio.to_thread(self._handle_all, claimed, profiles)
        self.gateway.wake()
        return len(claimed)

    async def _fetch_profiles(self, claimed: list[tuple[int, str, dict[str, Any], bool, int]]) -> dict[str, Any]:
        if not self.gateway.line_enabled:
            return {}
        wanted = {key for _id, key, payload, stale, _attempt in claimed
                  if payload.get("type") != "unfollow" and (stale or payload.get("type") == "follow")}
        keys = sorted(wanted)
        results = await asyncio.gather(*(self.gateway.get_profile(key) for key in keys))
        return dict(zip(keys, results, strict=True))

    def _handle_all(self, claimed: list[tuple[int, str, dict[str, Any], bool, int]], profiles: dict[str, Any]) -> None:
        took = 0.0
        for event_id, key, payload, _stale, attempt in claimed:
            self.traffic.give_way(min(took * self.settings.inbox_yield_factor, MAX_YIELD_SECONDS))
            started = time.perf_counter()
            try:
                self._handle(event_id, payload, profiles.get(key), attempt)
            except Exception as exc:
                log.exception("processing of webhook event failed",
                              extra={"webhook_event_id": payload.get("webhookEventId"), "event_id": event_id})
                self._fail(event_id, exc, attempt)
            took = time.perf_counter() - started

    def _claim(self, limit: int) -> list[tuple[int, str, dict[str, Any], bool, int]]:
        now = clock.now()
        earlier = aliased(InboxEvent)
        # An event waits while an older event of the same user is unfinished: per-user order is LINE's timestamp.
        blocked = exists().where(
            earlier.user_key == InboxEvent.user_key,
            earlier.status.in_(UNFINISHED),
            or_(
                earlier.line_timestamp < InboxEvent.line_timestamp,
                and_(earlier.line_timestamp == InboxEvent.line_timestamp, earlier.id < InboxEvent.id),
            ),
        )
        due = or_(
            and_(InboxEvent.status == "pending", InboxEvent.next_attempt_at <= now),
            and_(InboxEvent.status == "processing", InboxEvent.lease_until < now),  # its worker died
        )
        with transaction(self.sessions) as session:
            rows = list(session.scalars(
                select(InboxEvent).where(due, ~blocked)
                .order_by(InboxEvent.line_timestamp, InboxEvent.id).limit(limit)
                .with_for_update(skip_locked=True, of=InboxEvent)
            ))
            lease_until = now + dt.timedelta(seconds=self.settings.inbox_lease_seconds)
            for row in rows:
                row.status, row.lease_until = "processing", lease_until
                row.attempts += 1
            keys = {row.user_key for row in rows}
            known = set(session.scalars(select(User.line_user_id).where(
                User.line_user_id.in_(keys), User.profile_updated_at.is_not(None))))
            return [(row.id, row.user_key, row.payload, row.user_key not in known, row.attempts) for row in rows]

    @staticmethod
    def _still_ours(session: Session, event_id: int, attempt: int) -> bool:
        """Lock the event and tell whether this claim still holds it. A claim whose lease ran out (a stalled process)
        may have been taken over by another process, which counted one more attempt: then this one must not act."""
        row = session.execute(select(InboxEvent.status, InboxEvent.attempts).where(InboxEvent.id == event_id)
                              .with_for_update()).one_or_none()
        return row is not None and row.status == "processing" and row.attempts == attempt

    def _handle(self, event_id: int, payload: dict[str, Any], profile: dict[str, Any] | None, attempt: int) -> None:
        with transaction(self.sessions) as session:
            if not self._still_ours(session, event_id, attempt):
                log.warning("webhook event taken over by another claim; left to it", extra={"event_id": event_id})
                return
            source = payload.get("source") or {}
            user = None
            if source.get("userId"):
                user, created = users.get_or_create(session, source["userId"])
                if created or users.profile_is_stale(user):
                    users.apply_profile(user, profile)
            status = "done" if self.dispatch(session, payload, user, profile) else "ignored"
            now = clock.now()
            session.execute(update(InboxEvent).where(InboxEvent.id == event_id)
                            .values(status=status, processed_at=now, lease_until=None, last_error=None))
            metrics.EVENTS_PROCESSED.labels(status).inc()
            received_at = clock.from_line_timestamp(int(payload.get("timestamp", 0)))
            metrics.PROCESSING_LAG.observe(max((now - received_at).total_seconds(), 0))
            log.info("webhook event %s", status,
                     extra={"webhook_event_id": payload.get("webhookEventId"), "event_type": payload.get("type")})

    def _fail(self, event_id: int, exc: Exception, attempt: int) -> None:
        with transaction(self.sessions) as session:
            if not self._still_ours(session, event_id, attempt):
                return
            row = session.get(InboxEvent, event_id)
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            row.lease_until = None
            metrics.EVENTS_PROCESSED.labels("error").inc()
            if row.attempts >= self.settings.event_max_attempts:
                row.status = "failed"
                log.error("webhook event failed for good after %d attempts", row.attempts,
                          extra={"webhook_event_id": row.webhook_event_id})
            else:
                row.status = "pending"
                delay = min(self.settings.retry_base_seconds * 2 ** (row.attempts - 1), self.settings.retry_max_seconds)
                row.next_attempt_at = clock.now() + dt.timedelta(seconds=delay * random.uniform(0.8, 1.2))
