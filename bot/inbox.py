"""The inbox of webhook events: stored at once by the webhook, processed afterwards, in order per user.

Each event is processed once: its webhookEventId is unique in the table (a redelivery or duplicate is not stored
again), and a worker claims an event before handling it. A failure rolls back the handler's work and schedules a
retry with back-off; after the last attempt the event stays in the table as ``failed`` for staff to see.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

from sqlalchemy import Select, Update, and_, bindparam, exists, or_, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot import clock, metrics, users
from bot.gateway import LineGateway
from bot.outbox import CLAIMED, QUEUED_FLAG, Outbox
from config import Settings
from db.base import transaction, upsert_insert
from db.models import Delivery, InboxEvent, User

log = logging.getLogger(__name__)

UNFINISHED = ("pending", "processing")
MAX_YIELD_SECONDS = 0.25  # the longest handling waits for the webhook before each transaction
# Events handled in one transaction: as many as fit in this time (and at most CHUNK_EVENTS). Under load this halves
# the commits and the turns of SQLite's write lock; the webhook's writer waits at most about this long for it.
CHUNK_SECONDS = 0.012
CHUNK_EVENTS = 20
FLOOD = 16  # webhook requests in flight at once: LINE is sending faster than answers can be made
# Event types that carry a user and get handled; everything else is stored and ignored.
HANDLED_TYPES = {"message", "follow", "unfollow", "postback", "beacon", "accountLink", "things", "join"}
CHATS = ("group", "room")  # sources of several people: who writes there is not a friend of the bot for that
# How the inbox hands an event to the conversations (handlers/, wired in by runtime.py): in the event's transaction,
# with its user (None for a source without one) and LINE profile; True when a handler took it.
Dispatch = Callable[[Session, dict[str, Any], User | None, dict[str, Any] | None], bool]


def mentions_the_bot(event: dict[str, Any]) -> bool:
    """Whether a text message mentions the bot itself (LINE marks that mentionee isSelf)."""
    message = event.get("message") if isinstance(event.get("message"), dict) else {}
    mention = message.get("mention") if isinstance(message.get("mention"), dict) else {}
    mentionees = mention.get("mentionees") if isinstance(mention.get("mentionees"), list) else []
    return any(isinstance(m, dict) and m.get("isSelf") is True for m in mentionees)


def user_key(event: dict[str, Any]) -> str:
    source = event.get("source") if isinstance(event.get("source"), dict) else {}
    return str(source.get("userId") or source.get("groupId") or source.get("roomId") or "")[:64]


def _order_of(claim: Claim) -> str:
    """What the replies to a claimed event are ordered by: its group or room, else its user."""
    source = claim.payload.get("source") or {}
    if source.get("type") in CHATS:
        return str(source.get("groupId") or source.get("roomId") or claim.key)
    return claim.key


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
    table = InboxEvent.__table__
    statement = (upsert_insert(session, table).on_conflict_do_nothing(index_elements=["webhook_event_id"])
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

    @property
    def in_flight(self) -> int:
        return self._in_flight

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
        # A thread of its own: the 200 never waits for a thread of the default pool that handling holds (lanes)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="inbox-writer")
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
        self._thread.shutdown(wait=False)  # (its thread ends; a new one is made if the writer starts again)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="inbox-writer")

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
                results = await asyncio.get_running_loop().run_in_executor(self._thread, self._write_batch, batch)
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
                new = await asyncio.get_running_loop().run_in_executor(self._thread, self._write_one, events)
            except Exception as exc:
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(new)


class Claim(NamedTuple):
    """One claimed event: what handling it needs."""

    id: int
    key: str  # the user (or group) it is from
    payload: dict[str, Any]
    stale: bool  # the user's LINE profile is not known yet
    attempt: int
    received_at: dt.datetime  # stored by the webhook (the resident's wait starts about then)


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
        bind = sessions.kw.get("bind")
        self.lanes = settings.inbox_lanes if bind is not None and bind.dialect.name == "postgresql" else 1

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()  # before claiming: a wake-up from now on is not lost
            try:
                while await self.process_due(stop=stop) and not stop.is_set():
                    pass
            except Exception:
                log.exception("inbox loop failed; retrying")
            if self._wake.is_set():
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), self.settings.worker_poll_seconds)
            except TimeoutError:
                pass

    async def process_due(self, limit: int = 100, stop: asyncio.Event | None = None) -> bool:
        """Process what is due, batch after batch, as a pipeline: while one batch is handled (in a worker thread),
        the next is claimed and the LINE profiles it needs are fetched (on the event loop), so a resident first
        seen does not wait for their profile on top of the batch before theirs. Each batch is the oldest
        unfinished event of each user; a user's next event cannot be claimed while one of theirs is being handled,
        so per-user order holds. Returns True when more may be due at once (a batch was full, or a user of the last
        batch has a later event waiting behind the one handled).

        The events of a batch are handled a few to a transaction (_handle_all), in one thread on SQLite (one writer at
        a time keeps the webhook's inserts from queuing behind several handler transactions) and dealt out to
        `inbox_lanes` threads on PostgreSQL (_handle_in_lanes). Replies leave after each transaction's commit, while
        the rest of the batch is handled.
        """
        loop = asyncio.get_running_loop()

        def answered(replies: list[Delivery], waiting: bool) -> None:  # from the worker thread, after the commit
            if replies:  # and what waits behind them, once they are sent
                loop.call_soon_threadsafe(functools.partial(self.gateway.send_claimed, replies, then_wake=waiting))
            if waiting:  # what could not go at once (pushes, a user with something still on its way)
                loop.call_soon_threadsafe(self.gateway.wake)

        handling: asyncio.Future[None] | None = None
        more = False
        try:
            while stop is None or not stop.is_set():
                claimed, behind = await asyncio.to_thread(self._claim, limit)
                if not claimed:
                    break
                more = behind or len(claimed) >= limit
                profiles = await self._fetch_profiles(claimed)
                if handling is not None:
                    await handling
                handling = asyncio.ensure_future(self._handle_in_lanes(claimed, profiles, answered))
        finally:
            if handling is not None:
                await handling
        return more

    async def _handle_in_lanes(self, claimed: list[Claim], profiles: dict[str, Any],
                               answered: Callable[[list[Delivery], bool], None]) -> None:
        """The batch dealt out to the lanes (threads with a connection each), every lane handling its share in order.
        A batch holds one event per user at most, so no user's events are handled side by side; the events of one
        group or room (several people, one order of replies) go to the same lane. The lanes run in the
        default pool of threads, beside the claims and the gateway's outcome writes (the webhook's writer has a thread
        of its own): a pool of their own was tried, and with more threads ready to run at once everything waited
        longer for the interpreter lock (the 200 as well)."""
        shares: list[list[Claim]] = [[] for _ in range(min(self.lanes, len(claimed)))]
        lane_of: dict[str, int] = {}  # a group's or room's events in one lane too: their replies share one order
        for claim in claimed:
            shares[lane_of.setdefault(_order_of(claim), len(lane_of) % len(shares))].append(claim)
        done = await asyncio.gather(*(asyncio.to_thread(self._handle_all, share, profiles, answered)
                                      for share in shares), return_exceptions=True)
        for outcome in done:  # (a lane that failed is told once every lane has finished, not while some still run)
            if isinstance(outcome, BaseException):
                raise outcome

    async def _fetch_profiles(self, claimed: list[Claim]) -> dict[str, Any]:
        """The LINE profiles handling needs: of a friend first seen (or following again), by the friends' endpoint;
        of someone who addresses the bot in a group or room, by that chat's member endpoint (they need not be a
        friend). Nobody else's."""
        if not self.gateway.line_enabled:
            return {}
        wanted: dict[str, dict[str, str]] = {}
        for c in claimed:
            source = c.payload.get("source") or {}
            if source.get("type") in CHATS:
                if source.get("userId") and mentions_the_bot(c.payload):
                    wanted[c.key] = {"group_id": source.get("groupId"), "room_id": source.get("roomId")}
            elif c.payload.get("type") != "unfollow" and (c.stale or c.payload.get("type") == "follow"):
                wanted[c.key] = {}
        keys = sorted(wanted)
        results = await asyncio.gather(*(self.gateway.get_profile(key, **wanted[key]) for key in keys))
        return dict(zip(keys, results, strict=True))

    def _handle_all(self, claimed: list[Claim], profiles: dict[str, Any],
                    answered: Callable[[list[Delivery], bool], None]) -> None:
        """Handle the batch in order, a few events to a transaction (up to CHUNK_SECONDS of work): under load one
        commit and one turn of SQLite's write lock serve several events. Before each transaction, handling gives
        way to webhook requests in flight (the 200 LINE waits for comes first) while the next event is still fresh;
        once a resident has waited `inbox_yield_budget_ms` their answer comes first, so at a busy but steady pace
        handling keeps up instead of falling ever further behind. A flood (FLOOD requests in flight at once) always
        comes first: then LINE's 2-second limit is at stake, and answers could not keep pace anyway."""
        took = 0.0
        budget = dt.timedelta(milliseconds=self.settings.inbox_yield_budget_ms)
        start = 0
        while start < len(claimed):
            flood = self.traffic.in_flight >= FLOOD
            if flood or clock.now() - claimed[start].received_at < budget:
                self.traffic.give_way(min(took * self.settings.inbox_yield_factor, MAX_YIELD_SECONDS))
            started = time.perf_counter()
            done = self._handle_chunk(claimed[start:start + CHUNK_EVENTS], profiles, started, answered)
            start += done
            took = (time.perf_counter() - started) / done

    def _handle_chunk(self, chunk: list[Claim], profiles: dict[str, Any], started: float,
                      answered: Callable[[list[Delivery], bool], None]) -> int:
        """Events from the start of `chunk` in one transaction, for at most CHUNK_SECONDS (one at least); returns
        how many were handled. When one fails, the transaction is rolled back: the events before it are handled
        again, and the failing one is recorded (and retried later) on its own."""
        failed: tuple[int, Exception] | None = None
        try:
            with transaction(self.sessions) as session:
                done = 0
                for index, claim in enumerate(chunk):
                    try:
                        self._handle_in(session, claim.id, claim.payload, profiles.get(claim.key), claim.attempt)
                    except Exception as exc:
                        failed = (index, exc)
                        raise
                    done += 1
                    if time.perf_counter() - started >= CHUNK_SECONDS:
                        break
                replies, waiting = list(session.info.get(CLAIMED, [])), bool(session.info.get(QUEUED_FLAG))
        except Exception:
            if failed is None:  # the commit itself failed, not an event: each again on its own
                log.warning("a transaction of webhook events failed to commit; handling them one by one",
                            exc_info=True)
                for claim in chunk:
                    self._handle_alone(claim, profiles.get(claim.key), answered)
                return len(chunk)
            index, cause = failed
            redone = 0
            while redone < index:  # they went well: again, without the failing one
                redone += self._handle_chunk(chunk[redone:index], profiles, time.perf_counter(), answered)
            claim = chunk[index]
            log.error("processing of webhook event failed", exc_info=cause,
                      extra={"webhook_event_id": claim.payload.get("webhookEventId"), "event_id": claim.id})
            self._fail(claim.id, cause, claim.attempt)
            return index + 1
        if replies or waiting:
            answered(replies, waiting)
        return done

    @staticmethod
    @functools.cache
    def _due_statement(limit: int) -> Select[tuple[InboxEvent]]:
        """The claim's query, built once: due events with no older unfinished event of the same user (per-user
        order is LINE's timestamp)."""
        now = bindparam("now")
        earlier = aliased(InboxEvent)
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
        return (select(InboxEvent).where(due, ~blocked).order_by(InboxEvent.line_timestamp, InboxEvent.id)
                .limit(limit).with_for_update(skip_locked=True, of=InboxEvent))

    def _claim(self, limit: int) -> tuple[list[Claim], bool]:
        now = clock.now()
        with transaction(self.sessions) as session:
            rows = list(session.scalars(self._due_statement(limit), {"now": now}))
            lease_until = now + dt.timedelta(seconds=self.settings.inbox_lease_seconds)
            for row in rows:
                row.status, row.lease_until = "processing", lease_until
                row.attempts += 1
            keys = {row.user_key for row in rows}
            if not rows:
                return [], False
            known = set(session.scalars(select(User.line_user_id).where(
                User.line_user_id.in_(keys), User.profile_updated_at.is_not(None))))
            # a user's next event waits behind the one claimed now: claim again as soon as this batch is done
            behind = session.scalar(select(InboxEvent.id).where(
                InboxEvent.user_key.in_(keys), InboxEvent.status == "pending",
                InboxEvent.id.not_in([row.id for row in rows])).limit(1)) is not None
            return [Claim(row.id, row.user_key, row.payload, row.user_key not in known, row.attempts, row.received_at)
                    for row in rows], behind

    @staticmethod
    @functools.cache
    def _ours_statement(fast: bool) -> Select[Any]:
        """_still_ours's query, built once (building it cost more than running it): the event locked, and with
        `fast`, whether anything for its user is still on its way."""
        columns: list[Any] = [InboxEvent.status, InboxEvent.attempts]
        if fast:
            columns.append(Outbox.in_flight(bindparam("order_key")))
        return select(*columns).where(InboxEvent.id == bindparam("event_id")).with_for_update()

    @staticmethod
    @functools.cache
    def _done_statement() -> Update:
        inbox = InboxEvent.__table__
        return update(inbox).where(inbox.c.id == bindparam("event_id")).values(
            status=bindparam("status"), processed_at=bindparam("now"), lease_until=None, last_error=None)

    def _still_ours(self, session: Session, event_id: int, attempt: int, user_id: str | None) -> bool:
        """Lock the event and tell whether this claim still holds it. A claim whose lease ran out (a stalled process)
        may have been taken over by another process, which counted one more attempt: then this one must not act.
        The same statement asks whether anything for the user is still on its way: if not, their reply may take
        the outbox's fast lane (claimed as it is written, sent right after the commit)."""
        fast = user_id is not None and self.gateway.line_enabled
        # (Core statements on the connection, here and at the end of _handle_in: the ORM's execution path cost
        # several times the statements themselves, twice for every event)
        row = session.connection().execute(self._ours_statement(fast), {
            "event_id": event_id, "order_key": f"u:{user_id}"} if fast else {"event_id": event_id}).one_or_none()
        if row is None or row.status != "processing" or row.attempts != attempt:
            return False
        if fast and not row[2]:
            Outbox.open_fast_lane(session, order_key=f"u:{user_id}", lease_until=clock.now() + dt.timedelta(
                seconds=self.settings.delivery_lease_seconds))
        return True

    def _handle_alone(self, claim: Claim, profile: dict[str, Any] | None,
                      answered: Callable[[list[Delivery], bool], None]) -> None:
        try:
            replies, waiting = self._handle(claim.id, claim.payload, profile, claim.attempt)
        except Exception as exc:
            log.error("processing of webhook event failed", exc_info=exc,
                      extra={"webhook_event_id": claim.payload.get("webhookEventId"), "event_id": claim.id})
            self._fail(claim.id, exc, claim.attempt)
            return
        if replies or waiting:
            answered(replies, waiting)

    def _handle(self, event_id: int, payload: dict[str, Any], profile: dict[str, Any] | None, attempt: int
                ) -> tuple[list[Delivery], bool]:
        """Handle one event in a transaction of its own; returns what _handle_chunk does for it."""
        with transaction(self.sessions) as session:
            self._handle_in(session, event_id, payload, profile, attempt)
            return list(session.info.get(CLAIMED, [])), bool(session.info.get(QUEUED_FLAG))

    def _handle_in(self, session: Session, event_id: int, payload: dict[str, Any], profile: dict[str, Any] | None,
                   attempt: int) -> None:
        """Handle one event in the caller's transaction: the dispatch, and the event marked done (or ignored)."""
        source = payload.get("source") or {}
        in_chat = source.get("type") in CHATS
        if not self._still_ours(session, event_id, attempt, None if in_chat else source.get("userId")):
            log.warning("webhook event taken over by another claim; left to it", extra={"event_id": event_id})
            return
        user = None
        if source.get("userId") and in_chat:
            user = users.find(session, source["userId"])  # a friend, or nobody: writing in a group makes no friend
        elif source.get("userId"):
            user, created = users.get_or_create(session, source["userId"], profile)
            if not created and users.profile_is_stale(user):
                users.apply_profile(user, profile)
        status = "done" if self.dispatch(session, payload, user, profile) else "ignored"
        if user is not None:
            user.first_seen = False  # from the next event on, it may be somebody's
        now = clock.now()
        session.connection().execute(self._done_statement(), {"event_id": event_id, "status": status, "now": now})
        metrics.EVENTS_PROCESSED.labels(status).inc()
        received_at = clock.from_line_timestamp(int(payload.get("timestamp", 0)))
        metrics.PROCESSING_LAG.observe(max((now - received_at).total_seconds(), 0))
        log.info("webhook event %s", status,
                 extra={"webhook_event_id": payload.get("webhookEventId"), "event_type": payload.get("type")})

    def _fail(self, event_id: int, exc: Exception, attempt: int) -> None:
        with transaction(self.sessions) as session:
            if not self._still_ours(session, event_id, attempt, None):
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
