"""The one gateway to LINE. Nothing else in the code talks to the Messaging API or imports line-bot-sdk.

Sending is in two halves: ``bot.outbox.Outbox`` (synchronous, inside the caller's database transaction) turns
messages into ``Delivery`` rows; ``LineGateway`` here (asynchronous) claims due rows and sends them with
line-bot-sdk's async client: reply when a fresh reply token exists, else push; multicast in batches of 500; a retry
key stored before the first attempt and reused on every retry; back-off on 5xx, time-outs and 429; a stop on LINE's
monthly limit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import logging
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    BroadcastRequest,
    Configuration,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuBulkLinkRequest,
    RichMenuRequest,
)
from sqlalchemy import Select, and_, bindparam, exists, or_, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker
from yarl import URL

from bot import clock, metrics
from bot.outbox import IN_FLIGHT, Outbox, Status
from config import Settings
from db.base import transaction
from db.models import Delivery, SystemFlag, User

log = logging.getLogger(__name__)

MONTHLY_LIMIT_FLAG = "line_monthly_limit"
RICH_MENU_FLAG = "rich_menus"  # {"resident": richMenuId, "member": richMenuId}, written by `richmenu deploy`


# --------------------------------------------------------------------------- sending (asynchronous)


class RateLimiter:
    """A token bucket that keeps any one-second window under `limit` requests (LINE's rate limits). With burst=1
    it spaces requests 1/limit apart. With a larger burst it holds that many tokens, so the sender catches up after
    a short stall of its own, and refills at 97 % of limit - burst a second: a full bucket plus a second of refill
    stays under the limit, with a margin for requests that take longer than others to reach LINE."""

    def __init__(self, limit: float, burst: int = 1) -> None:
        self.burst = float(max(1, min(burst, int(limit) // 4)))
        self.rate = limit if self.burst == 1 else (limit - self.burst) * 0.97
        self.tokens = self.burst
        self.updated = time.monotonic()
        self.lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self.lock:
            while True:
                now = time.monotonic()
                self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)


def _env_proxy(host: str) -> str | None:
    """The proxy the environment names for LINE's API (HTTPS_PROXY, NO_PROXY...), read once at start."""
    url = URL(host)
    try:
        proxy, _auth = get_env_proxy_for_url(url)
    except LookupError:
        return None
    return str(proxy)


class _Plain:
    """A body built by us from JSON already (our messages' builders, or a stored row): sent as it is."""


class _Client(AsyncApiClient):
    """The SDK's client, which hands our own bodies (_Plain) to the request as they are rather than walking every
    node of every message to convert it (a third of the event loop's work of sending a carousel, issue #13)."""

    def sanitize_for_serialization(self, obj: Any) -> Any:
        if isinstance(obj, _Plain):
            return obj.to_dict()  # type: ignore[attr-defined]
        return super().sanitize_for_serialization(obj)


class _Reply(_Plain, ReplyMessageRequest):
    """A reply body that skips the SDK's pydantic validation of every message (milliseconds for a carousel, on the
    event loop). The messages come from our own builders; the tests' fake LINE validates every body."""

    def to_dict(self) -> dict[str, Any]:
        return {"replyToken": self.reply_token, "messages": self.messages, "notificationDisabled": False}


class _Push(_Plain, PushMessageRequest):
    """The same for a push."""

    def to_dict(self) -> dict[str, Any]:
        return {"to": self.to, "messages": self.messages, "notificationDisabled": False}


class _Multicast(_Plain, MulticastRequest):
    """A multicast body that skips the SDK's pydantic validation of each of its 500 user IDs (about 9 ms of CPU a
    request, which capped a process below LINE's 200 multicasts a second). The messages come from our own builders,
    as for every other request; the tests' fake LINE server validates every body against messaging-api.yml."""

    def to_dict(self) -> dict[str, Any]:  # what MulticastRequest.to_dict() gives, without the copying
        return {"to": self.to, "messages": self.messages, "notificationDisabled": False}


@dataclass
class Outcome:
    """What one attempt to send a delivery came to."""

    status: str  # sent | retry | failed | held | skipped | to_push
    http_status: int | None = None
    request_id: str | None = None
    error: str | None = None
    retry_after: float | None = None
    via: str | None = None


def _error_text(exc: ApiException) -> str:
    body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else str(exc.body or "")
    try:
        data = json.loads(body)
        text = data.get("message", body)
        details = data.get("details") or []
        if details:
            text += " (" + "; ".join(f"{d.get('property', '')}: {d.get('message', '')}" for d in details) + ")"
        return f"{exc.status} {text}"[:2000]
    except (ValueError, AttributeError):
        return f"{exc.status} {body}"[:2000]


def monthly_limit_until(session: Session) -> dt.datetime | None:
    """When LINE's monthly message limit was hit, the time it lifts (the next month, JST); else None."""
    flag = session.get(SystemFlag, MONTHLY_LIMIT_FLAG)
    if flag is None or not flag.value.get("until"):
        return None
    until = dt.datetime.fromisoformat(flag.value["until"])
    return until if until > clock.now() else None


def _next_month_jst(now: dt.datetime) -> dt.datetime:
    local = now.astimezone(clock.JST)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + dt.timedelta(days=32)).replace(day=1).astimezone(dt.UTC)


class LineGateway:
    """Claims due deliveries and sends them to LINE; also the only place that reads from LINE (profiles, quota)."""

    def __init__(self, settings: Settings, session_factory: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = session_factory
        self.outbox = Outbox(line_enabled=settings.line_enabled)
        self._client: AsyncApiClient | None = None
        self._api: AsyncMessagingApi | None = None
        self._blob: AsyncMessagingApiBlob | None = None
        self._limits = {
            # a burst of 1/20 of the limit lets the sender catch up after a stall of ~50 ms
            "reply": RateLimiter(settings.push_requests_per_second, int(settings.push_requests_per_second / 20)),
            "push": RateLimiter(settings.push_requests_per_second, int(settings.push_requests_per_second / 20)),
            "multicast": RateLimiter(settings.multicast_requests_per_second,
                                     int(settings.multicast_requests_per_second / 20)),
            "broadcast": RateLimiter(1.0),
            "richmenu": RateLimiter(settings.push_requests_per_second, int(settings.push_requests_per_second / 20)),
        }
        self._idle: list[asyncio.Event] = []  # the wake-up events of the send loops waiting now
        self._sending: set[asyncio.Task[None]] = set()  # replies sent straight after their handler's commit
        self._fast_gate: asyncio.Semaphore | None = None
        self._missed = False  # a wake-up came while every loop was busy
        self._quota_cache: tuple[float, dict[str, Any]] | None = None
        self._outcomes: list[tuple[Delivery, Outcome, asyncio.Future[None]]] = []
        self._recorder: asyncio.Task[None] | None = None
        self._timeout = aiohttp.ClientTimeout(total=settings.line_request_timeout_seconds)

    # -- lifecycle: the SDK's client opens an aiohttp session, so it is made on the running loop, never at import
    async def start(self) -> None:
        if self.settings.line_enabled and self._client is None:
            configuration = Configuration(
                access_token=self.settings.line_channel_access_token, host=self.settings.line_api_base_url.rstrip("/")
            )
            configuration.connection_pool_maxsize = self.settings.sender_concurrency * 2
            configuration.proxy = _env_proxy(configuration.host)
            self._client = _Client(configuration)
            # The SDK's session trusts the environment, which costs two thread hops per request (netrc and proxy
            # look-ups), queued behind the database work. The proxy was read from the environment once above.
            self._client.rest_client.pool_manager._trust_env = False
            self._api = AsyncMessagingApi(self._client)
            self._blob = AsyncMessagingApiBlob(self._client)

    async def close(self) -> None:
        if self._sending:  # replies on their way finish: each request has its own time limit
            await asyncio.wait(set(self._sending))
        if self._client is not None:
            await self._client.close()
            self._client = self._api = None

    def wake(self) -> None:
        """Something was queued: one waiting send loop claims it (waking both would make one claim nothing)."""
        if self._idle:
            self._idle[-1].set()
        else:
            self._missed = True

    @property
    def line_enabled(self) -> bool:
        return self._api is not None

    async def run(self, stop: asyncio.Event) -> None:
        """Send due deliveries until stop is set; woken early when new ones are queued. Two loops claim in turn, so
        retries that fall due (and new replies) go out while a long batch, such as a broadcast's, is still sending;
        a user's messages still leave in order (a row waits while an earlier one of its order key is unfinished)."""
        await asyncio.gather(self._send_loop(stop), self._send_loop(stop))

    async def _send_loop(self, stop: asyncio.Event) -> None:
        wake = asyncio.Event()
        while not stop.is_set():
            wake.clear()
            self._missed = False
            try:
                while await self.send_due(stop=stop) and not stop.is_set():
                    pass
            except Exception:  # a database hiccup must not end the loop
                log.exception("delivery loop failed; retrying")
            if self._missed:
                continue
            self._idle.append(wake)
            try:
                await asyncio.wait_for(wake.wait(), self.settings.worker_poll_seconds)
            except TimeoutError:
                pass
            finally:
                self._idle.remove(wake)

    # -- reading from LINE
    async def get_profile(self, line_user_id: str, *, group_id: str | None = None, room_id: str | None = None
                          ) -> dict[str, Any] | None:
        """The user's LINE profile (displayName, language, pictureUrl), or None when unknown or unavailable. For
        someone writing in a group or room, the group's (room's) member profile: they need not be a friend."""
        if self._api is None:
            return None
        try:
            if group_id:
                profile = await self._api.get_group_member_profile(group_id, line_user_id,
                                                                   _request_timeout=self._timeout)
            elif room_id:
                profile = await self._api.get_room_member_profile(room_id, line_user_id, _request_timeout=self._timeout)
            else:
                profile = await self._api.get_profile(line_user_id, _request_timeout=self._timeout)
        except ApiException as exc:
            if exc.status == 404:
                return {}  # LINE has no profile to give (not a friend): known, not worth asking again
            log.warning("profile fetch failed for a user: %s", exc.status)
            return None
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("profile fetch failed for a user: %s", getattr(exc, "status", type(exc).__name__))
            return None
        return {"displayName": profile.display_name, "language": getattr(profile, "language", None),
                "pictureUrl": profile.picture_url}

    async def quota(self) -> dict[str, Any] | None:
        """LINE's monthly message quota: {"limit": n or None (unlimited), "used": n, "left": n or None};
        None when LINE is off (development) or did not answer. Kept for half a minute."""
        if self._api is None:
            return None
        cached = self._quota_cache
        if cached is not None and time.monotonic() - cached[0] < 30:
            return cached[1]
        try:
            limit = await self._api.get_message_quota(_request_timeout=self._timeout)
            used = await self._api.get_message_quota_consumption(_request_timeout=self._timeout)
        except (ApiException, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("quota read failed: %s", getattr(exc, "status", type(exc).__name__))
            return None
        value = limit.value if limit.type == "limited" else None
        quota = {"limit": value, "used": used.total_usage,
                 "left": None if value is None else max(value - used.total_usage, 0)}
        if quota["left"] is not None:
            metrics.quota_left(quota["left"])
        self._quota_cache = (time.monotonic(), quota)
        return quota

    # -- sending
    async def send_due(self, limit: int = 200, stop: asyncio.Event | None = None) -> int:
        """Send one batch of due deliveries; returns how many were handled. Once `stop` is set (SIGTERM), requests
        in flight finish and the rest of the batch is released for the next process."""
        if self._api is None:
            return 0
        claimed = await asyncio.to_thread(self._claim, limit)
        if claimed:
            await self._send(claimed, stop)
        return len(claimed)

    # -- the fast lane: a reply claimed in the transaction that wrote it
    def send_claimed(self, rows: list[Delivery], *, then_wake: bool = False) -> None:
        """After the commit (on the event loop): send replies their handler's transaction already claimed (see
        bot.outbox's fast lane). A process that dies first leaves them leased; another sends them after the lease."""
        if self._fast_gate is None:  # one limit for every fast-lane send, made on the running loop
            self._fast_gate = asyncio.Semaphore(self.settings.sender_concurrency)
        task = asyncio.get_running_loop().create_task(self._send(rows, None, self._fast_gate))
        self._sending.add(task)
        task.add_done_callback(functools.partial(self._sent_claimed, then_wake=then_wake))

    def _sent_claimed(self, task: asyncio.Task[None], *, then_wake: bool) -> None:
        self._sending.discard(task)
        if not task.cancelled() and task.exception() is not None:  # the rows stay leased; retried after the lease
            log.error("sending a reply straight after its commit failed", exc_info=task.exception())
        if then_wake:  # what waited behind those replies (a push, a menu switch) may go now
            self.wake()

    async def _send(self, claimed: list[Delivery], stop: asyncio.Event | None,
                    gate: asyncio.Semaphore | None = None) -> None:
        by_key: dict[str, list[Delivery]] = defaultdict(list)
        for row in claimed:
            by_key[row.order_key].append(row)
        gate = gate or asyncio.Semaphore(self.settings.sender_concurrency)

        async def send_in_order(rows: list[Delivery]) -> None:
            async with gate:
                for row in rows:
                    if stop is not None and stop.is_set():
                        await asyncio.to_thread(self._release, rows[rows.index(row):])
                        return
                    started = time.perf_counter()
                    outcome = await self._attempt(row)
                    metrics.LINE_LATENCY.labels(outcome.via or row.kind, str(outcome.http_status or "none")).observe(
                        time.perf_counter() - started)
                    await self._record(row, outcome)
                    if outcome.status not in ("sent", "failed", "skipped"):
                        # keep one user's messages in order: the rest waits for this one
                        await asyncio.to_thread(self._release, rows[rows.index(row) + 1 :])
                        return

        await asyncio.gather(*(send_in_order(rows) for rows in by_key.values()))

    @staticmethod
    @functools.cache
    def _due_statement(limit: int) -> Select[tuple[Delivery]]:
        """The claim's query, built once (building it each time cost more than running it): due rows whose order
        key has nothing earlier on its way; held rows too once their month is over or the limit's flag is gone.
        (Decided in this statement, not from a flag read before it: on PostgreSQL a sender's outcome could commit
        the flag and the held row in between, and the row was claimed and tried again.)"""
        now = bindparam("now")
        earlier = aliased(Delivery)
        blocked_by_earlier = exists().where(
            earlier.order_key == Delivery.order_key, earlier.id < Delivery.id, earlier.status.in_(IN_FLIGHT)
        )
        due = or_(
            and_(Delivery.status.in_((Status.PENDING, Status.WAITING)), Delivery.next_attempt_at <= now),
            and_(Delivery.status == Status.SENDING, Delivery.lease_until < now),  # its sender died
            and_(Delivery.status == Status.HELD,
                 or_(Delivery.next_attempt_at <= now, ~exists().where(SystemFlag.key == MONTHLY_LIMIT_FLAG))),
        )
        return (select(Delivery).where(due, ~blocked_by_earlier).order_by(Delivery.id).limit(limit)
                .with_for_update(skip_locked=True, of=Delivery))

    def _claim(self, limit: int) -> list[Delivery]:
        now = clock.now()
        with transaction(self.sessions) as session:
            held_until = monthly_limit_until(session)
            if held_until is not None:
                # Pushes wait for next month, set aside so they do not hold up the free replies behind them.
                session.execute(update(Delivery).where(Delivery.status == Status.PENDING,
                                                       Delivery.kind.in_(("push", "multicast", "broadcast")))
                                .values(status=Status.HELD, next_attempt_at=held_until))
            rows = list(session.scalars(self._due_statement(limit), {"now": now}))
            for row in rows:
                row.status = Status.SENDING
                row.lease_until = now + dt.timedelta(seconds=self.settings.delivery_lease_seconds)
                row.attempts += 1
            reachable = self._reachable(session, rows)
            for row in rows:
                if row.user_id is not None and not reachable.get(row.user_id, False):
                    row.status = Status.SKIPPED
                    row.last_error = "the user has blocked the bot"
                    row.lease_until = None
            session.flush()
            return [row for row in rows if row.status == Status.SENDING]

    @staticmethod
    def _reachable(session: Session, rows: list[Delivery]) -> dict[int, bool]:
        ids = {row.user_id for row in rows if row.user_id is not None}
        if not ids:
            return {}
        return {uid: ok for uid, ok in session.execute(select(User.id, User.is_reachable).where(User.id.in_(ids)))}

    def _release(self, rows: list[Delivery]) -> None:
        if not rows:
            return
        with transaction(self.sessions) as session:
            session.execute(
                update(Delivery)
                .where(Delivery.id.in_([r.id for r in rows]), Delivery.status == Status.SENDING)
                .values(status=Status.PENDING, lease_until=None, attempts=Delivery.attempts - 1)
            )

    async def _attempt(self, row: Delivery) -> Outcome:
        assert self._api is not None
        kind = row.kind
        if kind == "reply" and (row.reply_token is None or (row.reply_token_expires_at or clock.now()) <= clock.now()):
            kind = "push"  # the token has gone stale (e.g. after a restart): push instead
        await self._limits[kind].acquire()
        started = time.perf_counter()
        try:
            if kind == "reply":
                response = await self._api.reply_message_with_http_info(
                    _Reply.construct(reply_token=row.reply_token, messages=row.messages),
                    _request_timeout=self._timeout,
                )
            elif kind == "push":
                response = await self._api.push_message_with_http_info(
                    _Push.construct(to=row.recipients[0], messages=row.messages),
                    x_line_retry_key=row.retry_key, _request_timeout=self._timeout,
                )
            elif kind == "multicast":
                response = await self._api.multicast_with_http_info(
                    _Multicast.construct(to=row.recipients, messages=row.messages),
                    x_line_retry_key=row.retry_key, _request_timeout=self._timeout,
                )
            elif kind == "richmenu":
                menu = row.messages[0].get("menu")
                menu_id = await asyncio.to_thread(self._rich_menu_id, menu) if menu else None
                if menu and menu_id is None:  # nothing to switch to yet; the deploy links members itself
                    return Outcome("skipped", error="rich menus are not deployed (python main.py richmenu deploy)",
                                   via=kind)
                if menu_id:
                    response = await self._api.link_rich_menu_id_to_user_with_http_info(
                        row.recipients[0], menu_id, _request_timeout=self._timeout)
                else:
                    response = await self._api.unlink_rich_menu_id_from_user_with_http_info(
                        row.recipients[0], _request_timeout=self._timeout)
            else:
                response = await self._api.broadcast_with_http_info(
                    BroadcastRequest.from_dict({"messages": row.messages}),
                    x_line_retry_key=row.retry_key, _request_timeout=self._timeout,
                )
        except ApiException as exc:
            return self._classify(row, kind, exc)
        except (TimeoutError, aiohttp.ClientError) as exc:
            return Outcome("retry", error=f"{type(exc).__name__}: {exc}"[:500], via=kind)
        finally:
            log.debug("LINE %s took %.1f ms", kind, (time.perf_counter() - started) * 1000)
        headers = response.headers or {}
        return Outcome("sent", http_status=response.status_code, request_id=headers.get("x-line-request-id"), via=kind)

    def _rich_menu_id(self, menu: str) -> str | None:
        with self.sessions() as session:
            flag = session.get(SystemFlag, RICH_MENU_FLAG)
            return flag.value.get(menu) if flag is not None else None

    # -- rich menus (used by `python main.py richmenu deploy`)
    async def rich_menus(self) -> list[dict[str, Any]]:
        assert self._api is not None
        listing = await self._api.get_rich_menu_list(_request_timeout=self._timeout)
        return [{"richMenuId": m.rich_menu_id, "name": m.name} for m in listing.richmenus]

    async def create_rich_menu(self, body: dict[str, Any], image: bytes) -> str:
        assert self._api is not None and self._blob is not None
        await self._limits["richmenu"].acquire()
        created = await self._api.create_rich_menu(RichMenuRequest.from_dict(body), _request_timeout=self._timeout)
        # the SDK does not set the image's content type itself (it would send the bytes as JSON)
        await self._blob.set_rich_menu_image(created.rich_menu_id, image, _headers={"Content-Type": "image/png"},
                                             _request_timeout=self._timeout)
        return str(created.rich_menu_id)

    async def delete_rich_menu(self, rich_menu_id: str) -> None:
        assert self._api is not None
        await self._api.delete_rich_menu(rich_menu_id, _request_timeout=self._timeout)

    async def set_default_rich_menu(self, rich_menu_id: str) -> None:
        assert self._api is not None
        await self._api.set_default_rich_menu(rich_menu_id, _request_timeout=self._timeout)

    async def link_rich_menu(self, rich_menu_id: str, line_user_ids: list[str]) -> None:
        """Link many users at once (LINE takes 500 per request)."""
        assert self._api is not None
        for start in range(0, len(line_user_ids), 500):
            await self._api.link_rich_menu_id_to_users(RichMenuBulkLinkRequest(
                rich_menu_id=rich_menu_id, user_ids=line_user_ids[start:start + 500]), _request_timeout=self._timeout)

    @staticmethod
    def _classify(row: Delivery, kind: str, exc: ApiException) -> Outcome:
        status = exc.status or 0
        headers = exc.headers or {}
        text = _error_text(exc)
        if status == 409 and kind != "reply":
            # LINE already accepted a request with this retry key: it was delivered.
            return Outcome("sent", 409, headers.get("x-line-accepted-request-id"), via=kind)
        if status == 429:
            if "monthly limit" in text.lower():
                return Outcome("held", 429, error=text, via=kind)
            retry_after = headers.get("retry-after")
            return Outcome("retry", 429, error=text, via=kind,
                           retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None)
        if status >= 500:
            return Outcome("retry", status, error=text, via=kind)
        if kind == "reply" and status == 400 and "reply token" in text.lower():
            return Outcome("to_push", status, error=text, via=kind)
        return Outcome("failed", status, headers.get("x-line-request-id"), error=text, via=kind)

    def _backoff(self, attempts: int, retry_after: float | None) -> dt.timedelta:
        if retry_after is not None:
            return dt.timedelta(seconds=min(retry_after, self.settings.retry_max_seconds))
        base = self.settings.retry_base_seconds * 2 ** max(attempts - 1, 0)
        seconds = min(base, self.settings.retry_max_seconds) * random.uniform(0.8, 1.2)
        return dt.timedelta(seconds=seconds)

    async def _record(self, row: Delivery, outcome: Outcome) -> None:
        """Store what became of a request. Outcomes that finish together are written in one transaction (a group
        commit, as the webhook's inbox writer does): a broadcast's 200 multicasts a second are not 200 commits."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._outcomes.append((row, outcome, future))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._write_outcomes())
        await future

    async def _write_outcomes(self) -> None:
        while self._outcomes:
            batch, self._outcomes = self._outcomes, []
            try:
                await asyncio.to_thread(self._write_batch, [(row, outcome) for row, outcome, _ in batch])
            except Exception as exc:  # the senders see it; their rows stay leased and are retried later
                for _row, _outcome, future in batch:
                    future.set_exception(exc)
            else:
                for _row, _outcome, future in batch:
                    future.set_result(None)

    def _write_batch(self, batch: list[tuple[Delivery, Outcome]]) -> None:
        """What became of each request, in one transaction. A request that went through (nearly all) is one row of
        a bulk UPDATE by id, with nothing read first; the rest is worked out on the stored row."""
        now = clock.now()
        sent = [{"id": row.id, "status": Status.SENT, "sent_at": now, "line_request_id": outcome.request_id,
                 "http_status": outcome.http_status, "sent_via": outcome.via, "lease_until": None, "last_error": None}
                for row, outcome in batch if outcome.status == "sent"]
        rest = [(row, outcome) for row, outcome in batch if outcome.status != "sent"]
        with transaction(self.sessions) as session:
            if sent:
                session.execute(update(Delivery), sent)
                for row, outcome in batch:
                    if outcome.status == "sent":
                        metrics.DELIVERIES.labels(row.kind, "sent").inc()
            if rest:
                session.scalars(select(Delivery).where(Delivery.id.in_([row.id for row, _ in rest]))).all()  # one read
                for row, outcome in rest:
                    self._apply(session, row, outcome, now)

    def _apply(self, session: Session, row: Delivery, outcome: Outcome, now: dt.datetime) -> None:
        current = session.get(Delivery, row.id)
        if current is None:
            return
        current.http_status = outcome.http_status
        current.sent_via = outcome.via
        metrics.DELIVERIES.labels(current.kind, outcome.status).inc()
        current.lease_until = None
        if outcome.status == "sent":
            current.status, current.sent_at, current.line_request_id = Status.SENT, now, outcome.request_id
            current.last_error = None
        elif outcome.status == "skipped":
            current.status, current.last_error = Status.SKIPPED, outcome.error
        elif outcome.status == "to_push":
            current.status, current.reply_token, current.next_attempt_at = Status.PENDING, None, now
            current.last_error = outcome.error
        elif outcome.status == "held":
            until = _next_month_jst(now)
            flag = session.get(SystemFlag, MONTHLY_LIMIT_FLAG) or SystemFlag(key=MONTHLY_LIMIT_FLAG)
            flag.value = {"since": now.isoformat(), "until": until.isoformat(), "error": outcome.error}
            flag.updated_at = now
            session.add(flag)
            current.status, current.next_attempt_at, current.last_error = Status.HELD, until, outcome.error
            current.attempts -= 1  # waiting for the quota is not a failed attempt
            log.error("LINE monthly message limit reached: pushes are held until %s", until.isoformat())
        elif outcome.status == "retry" and current.attempts < self.settings.delivery_max_attempts:
            current.status = Status.PENDING
            current.next_attempt_at = now + self._backoff(current.attempts, outcome.retry_after)
            current.last_error = outcome.error
            log.warning("delivery %s will be retried: %s", current.id, outcome.error)
        else:
            current.status, current.last_error = Status.FAILED, outcome.error
            log.error("delivery %s failed: %s", current.id, outcome.error)
