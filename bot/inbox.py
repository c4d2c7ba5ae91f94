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
from collections import defaultdict
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot import clock, users
from bot.gateway import LineGateway
from config import Settings
from db.base import transaction
from db.models import InboxEvent, User
from handlers.router import Context, Dispatcher

log = logging.getLogger(__name__)

LEASE = dt.timedelta(seconds=120)
UNFINISHED = ("pending", "processing")
# Event types that carry a user and get handled; everything else is stored and ignored.
HANDLED_TYPES = {"message", "follow", "unfollow", "postback", "beacon", "accountLink", "things"}


def user_key(event: dict[str, Any]) -> str:
    source = event.get("source") if isinstance(event.get("source"), dict) else {}
    return str(source.get("userId") or source.get("groupId") or source.get("roomId") or "")[:64]


def store(session: Session, events: list[dict[str, Any]]) -> int:
    """Insert events not seen before (by webhookEventId); returns how many were new. Safe under concurrency."""
    if not events:
        return 0
    now = clock.now()
    rows = []
    for event in events:
        handled = event.get("mode", "active") == "active" and event.get("type") in HANDLED_TYPES and user_key(event)
        rows.append({
            "webhook_event_id": str(event["webhookEventId"])[:64],
            "event_type": str(event.get("type", ""))[:64],
            "mode": str(event.get("mode", "active"))[:16],
            "user_key": user_key(event),
            "line_timestamp": int(event.get("timestamp", 0)),
            "is_redelivery": bool((event.get("deliveryContext") or {}).get("isRedelivery", False)),
            "payload": event,
            "status": "pending" if handled else "ignored",
            "attempts": 0,
            "next_attempt_at": now,
            "received_at": now,
        })
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(InboxEvent).on_conflict_do_nothing(index_elements=["webhook_event_id"])
    result = session.execute(statement.returning(InboxEvent.id), rows)
    return len(result.all())


class InboxProcessor:
    """Claims due events and hands each to the dispatcher inside one transaction."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], dispatcher: Dispatcher,
                 gateway: LineGateway) -> None:
        self.settings = settings
        self.sessions = sessions
        self.dispatcher = dispatcher
        self.gateway = gateway
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
        """Process one batch: the oldest unfinished event of each user, users side by side."""
        claimed = await asyncio.to_thread(self._claim, limit)
        if not claimed:
            return 0
        by_user: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        for event_id, key, payload in claimed:
            by_user[key].append((event_id, payload))
        gate = asyncio.Semaphore(8)

        async def run_user(items: list[tuple[int, dict[str, Any]]]) -> None:
            async with gate:
                for event_id, payload in items:
                    await self._process(event_id, payload)

        await asyncio.gather(*(run_user(items) for items in by_user.values()))
        self.gateway.wake()
        return len(claimed)

    def _claim(self, limit: int) -> list[tuple[int, str, dict[str, Any]]]:
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
            for row in rows:
                row.status, row.lease_until = "processing", now + LEASE
                row.attempts += 1
            return [(row.id, row.user_key, row.payload) for row in rows]

    async def _process(self, event_id: int, payload: dict[str, Any]) -> None:
        profile = None
        if payload.get("type") == "follow" or await asyncio.to_thread(self._needs_profile, payload):
            # Fetched before the transaction opens: no database lock is held while LINE answers.
            profile = await self.gateway.get_profile(user_key(payload))
        try:
            await asyncio.to_thread(self._handle, event_id, payload, profile)
        except Exception as exc:
            log.exception("processing of webhook event failed",
                          extra={"webhook_event_id": payload.get("webhookEventId"), "event_id": event_id})
            await asyncio.to_thread(self._fail, event_id, exc)

    def _needs_profile(self, payload: dict[str, Any]) -> bool:
        if payload.get("type") == "unfollow":
            return False
        with self.sessions() as session:
            user = session.scalars(select(User).where(User.line_user_id == user_key(payload))).one_or_none()
            return users.profile_is_stale(user)

    def _handle(self, event_id: int, payload: dict[str, Any], profile: dict[str, Any] | None) -> None:
        with transaction(self.sessions) as session:
            row = session.get(InboxEvent, event_id)
            if row is None or row.status != "processing":
                return
            source = payload.get("source") or {}
            user = None
            if source.get("userId"):
                user, created = users.get_or_create(session, source["userId"])
                if created or users.profile_is_stale(user):
                    users.apply_profile(user, profile)
            ctx = Context(session=session, event=payload, user=user, outbox=self.gateway.outbox,
                          settings=self.settings, profile=profile)
            handled = self.dispatcher.dispatch(ctx)
            row.status = "done" if handled else "ignored"
            row.processed_at, row.lease_until, row.last_error = clock.now(), None, None
            log.info("webhook event %s", row.status,
                     extra={"webhook_event_id": row.webhook_event_id, "event_type": row.event_type})

    def _fail(self, event_id: int, exc: Exception) -> None:
        with transaction(self.sessions) as session:
            row = session.get(InboxEvent, event_id)
            if row is None:
                return
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            row.lease_until = None
            if row.attempts >= self.settings.event_max_attempts:
                row.status = "failed"
                log.error("webhook event failed for good after %d attempts", row.attempts,
                          extra={"webhook_event_id": row.webhook_event_id})
            else:
                row.status = "pending"
                delay = min(self.settings.retry_base_seconds * 2 ** (row.attempts - 1), self.settings.retry_max_seconds)
                row.next_attempt_at = clock.now() + dt.timedelta(seconds=delay * random.uniform(0.8, 1.2))
