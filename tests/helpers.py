"""What the tests share (test modules import from here, never from each other): settings and a LINE-like client
of the app, a phone that talks and taps, staff log-in, bulk users, a unit of work, the browser, real app processes,
a statement counter and fresh PostgreSQL databases."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot import clock, webhook_events
from bot import webhook_events as ev
from bot.outbox import Outbox
from bot.work import Work, unit_of_work
from config import Settings
from db.base import make_engine, transaction
from db.migrate import upgrade
from db.models import (
    CategorySubscription,
    Delivery,
    EventInquiry,
    EventSubscription,
    InboxEvent,
    Member,
    Subcommittee,
    User,
)
from events import service as event_service
from events.schema import EventInput
from handlers.router import Context, Dispatcher, Router
from staff import service as staff_service
from tests.fakeline import spec
from tests.fakeline.server import FakeLine

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- the app as LINE sees it


SECRET = "test-channel-secret"
TOKEN = "test-access-token"
ADMIN = "test-admin-token-0123456789abcdef"


# the quiet hours as config.py ships them (21:00-08:00), read from its defaults
SHIPPED_QUIET_HOURS: dict[str, int] = {name: Settings.model_fields[name].default
                                       for name in ("quiet_hours_start", "quiet_hours_end")}


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
        "gc_freeze": False,
        # no quiet hours unless a test asks for them (SHIPPED_QUIET_HOURS): what a test expects must not depend on
        # the hour of the day it runs at
        "quiet_hours_start": 0,
        "quiet_hours_end": 0,
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
            deliveries = session.scalars(select(Delivery).where(
                Delivery.status.in_(("pending", "sending", "waiting")))).all()
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


def put_first(client: TestClient, router: Router) -> None:
    """Let this router try every event before the app's own (a test's handler that fails, or answers big)."""
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    processor, first = runtime.processor, Dispatcher([router])
    rest = processor.dispatch

    def dispatch(session: Session, event: dict[str, Any], user: User | None, profile: dict[str, Any] | None) -> bool:
        ctx = Context(session=session, event=event, user=user, outbox=runtime.gateway.outbox, settings=runtime.settings,
                      profile=profile)
        return first.dispatch(ctx) or rest(session, event, user, profile)

    processor.dispatch = dispatch


def new_user_id() -> str:
    return "U" + uuid.uuid4().hex


# --------------------------------------------------------------------------- a phone


class Phone:
    def __init__(self, bot: Bot, line: FakeLine, user_id: str) -> None:
        self.bot, self.line, self.user_id = bot, line, user_id
        self.tokens: set[str] = set()
        self.seen = 0

    def _send(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        if "replyToken" in event:
            self.tokens.add(event["replyToken"])
        self.bot.send(event)
        return self.new()

    def all(self) -> list[dict[str, Any]]:
        """Every message the bot has sent this user, in order."""
        out: list[dict[str, Any]] = []
        for r in self.line.sent():
            if r.path.endswith("/reply") and r.body["replyToken"] in self.tokens:
                out.extend(r.body["messages"])
            elif r.path.endswith("/push") and r.body["to"] == self.user_id:
                out.extend(r.body["messages"])
            elif r.path.endswith("/multicast") and self.user_id in r.body["to"]:
                out.extend(r.body["messages"])
        return out

    def new(self) -> list[dict[str, Any]]:
        messages = self.all()
        fresh, self.seen = messages[self.seen:], len(messages)
        return fresh

    def follow(self) -> list[dict[str, Any]]:
        return self._send(ev.follow(self.user_id))

    def say(self, text: str) -> list[dict[str, Any]]:
        return self._send(ev.text_message(self.user_id, text))

    def sticker(self) -> list[dict[str, Any]]:
        return self._send(ev.sticker_message(self.user_id))

    def postback(self, data: str) -> list[dict[str, Any]]:
        return self._send(ev.postback(self.user_id, data))

    def tap(self, label: str, in_messages: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Tap the button or quick reply with this label in the given (default: the latest) messages."""
        action = find_action(in_messages if in_messages is not None else self.all()[-5:], label)
        if action["type"] == "postback":
            return self.postback(action["data"])
        return self.say(action["text"])


def actions(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("postback", "message", "uri") and "label" in node:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(messages)
    return found


def find_action(messages: list[dict[str, Any]], label: str) -> dict[str, Any]:
    matches = [a for a in actions(messages) if a["label"] == label]
    assert matches, f"no button {label!r} in {[a['label'] for a in actions(messages)]}"
    return matches[-1]


def texts(messages: list[dict[str, Any]]) -> str:
    """All text in the messages, flex cards included, joined by new lines."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "text" and isinstance(node.get("text"), str):
                out.append(node["text"])
            for key, value in node.items():
                if key != "text":
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(messages)
    return "\n".join(out)


# --------------------------------------------------------------------------- the automation API and council members


AUTH = {"Authorization": f"Bearer {ADMIN}"}


def api(client: TestClient, method: str, path: str, **kw: Any) -> Any:
    response = client.request(method, "/api/v1" + path, headers=AUTH, **kw)
    assert response.status_code < 300, response.text
    if response.status_code == 204:
        return None
    return response.json() if response.headers.get("content-type", "").startswith("application/json") else response


def ensure_subcommittee(sessions: Any, name: str) -> None:
    """The 部会 exists (members are registered into existing 部会 only); made directly, so no audit line."""
    with transaction(sessions) as session:
        if session.scalars(select(Subcommittee).where(Subcommittee.name == name)).first() is None:
            session.add(Subcommittee(name=name))


def link_member(bot: Bot, line: FakeLine, name: str, subcommittee: str | None) -> tuple[Phone, int]:
    if subcommittee:
        ensure_subcommittee(bot.sessions, subcommittee)
    member = api(bot.client, "POST", "/members", json={"name": name, "subcommittee": subcommittee})
    code = api(bot.client, "POST", f"/members/{member['id']}/link-code")["code"]
    phone = Phone(bot, line, new_user_id())
    phone.follow()
    assert f"{name}さん、登録できました" in texts(phone.say(code.lower().replace("-", " ")))
    return phone, member["id"]


# --------------------------------------------------------------------------- users in bulk


def people(sessions: Any, *, residents: int = 0, members: dict[str, int] | None = None, blocked: int = 0,
           category: tuple[str, int] | None = None) -> dict[str, list[str]]:
    """Users in bulk: plain residents, members per 部会, residents who blocked the bot, category subscribers;
    returns their LINE user IDs by group."""
    out: dict[str, list[str]] = {}
    with transaction(sessions) as session:
        def add(group: str, n: int, reachable: bool = True) -> list[int]:
            out[group] = ["U" + hashlib.md5(f"{group}{i}".encode()).hexdigest() for i in range(n)]
            if n:
                session.execute(insert(User), [{"line_user_id": u, "is_reachable": reachable, "language": "ja",
                                                "display_name": f"{group}{i}"} for i, u in enumerate(out[group])])
            return list(session.scalars(select(User.id).where(User.line_user_id.in_(out[group])).order_by(User.id)))

        add("residents", residents)
        add("blocked", blocked, reachable=False)
        for name, n in (members or {}).items():
            sub = Subcommittee(name=name)
            session.add(sub)
            session.flush()
            user_ids = add(name, n)
            if user_ids:
                session.execute(insert(Member), [{"name": f"委員{i}", "subcommittee_id": sub.id, "user_id": uid,
                                                  "active": True} for i, uid in enumerate(user_ids)])
        name, n = category or ("", 0)
        user_ids = add("category", n)
        if user_ids:
            session.execute(insert(CategorySubscription), [{"user_id": uid, "category": name} for uid in user_ids])
    return out


# --------------------------------------------------------------------------- staff


PASSWORD = "correct horse battery"


def make_staff(sessions: Any, name: str = "港 花子", role: str = "editor", user_id: int | None = None) -> None:
    with work(sessions) as unit:
        staff_service.create(unit, name=name, password=PASSWORD, role=role, user_id=user_id)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


def login(client: TestClient, name: str = "港 花子", password: str = PASSWORD) -> Any:
    page = client.get("/console/login")
    return client.post("/console/login", data={"name": name, "password": password, "csrf": csrf_of(page.text),
                                               "next": "/console"}, follow_redirects=False)


def logged_in(client: TestClient, sessions: Any, role: str = "editor", name: str = "港 花子") -> str:
    """Log in as a new staff member of the role; returns the CSRF token of the session."""
    make_staff(sessions, name=name, role=role)
    response = login(client, name)
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/console").text)


# --------------------------------------------------------------------------- a unit of work


@contextmanager
def work(sessions: sessionmaker[Session], actor: str = "test", *, line_enabled: bool = False,
         **settings: Any) -> Iterator[Work]:
    """A unit of work on the test database, as a route or job has one (what it queues stays in the outbox unless
    line_enabled)."""
    with unit_of_work(sessions, outbox=Outbox(line_enabled=line_enabled),
                      settings=Settings(_env_file=None, **settings),  # type: ignore[call-arg]
                      actor=actor, wake=lambda: None) as unit:
        yield unit


# --------------------------------------------------------------------------- the browser


CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"


def require_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install chromium`; .ci/run does)")


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve an ASGI app on a free loopback port for the duration of the block."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def served(settings: Settings) -> Iterator[str]:
    """A new app of these settings on a loopback port; stopping it closes its database connections."""
    from main import create_app

    with serve(create_app(settings)) as base:
        yield base


@contextmanager
def browser_page() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        try:
            page = browser.new_page(viewport={"width": 900, "height": 900}, locale="ja-JP")
            yield page
        finally:
            browser.close()


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


# --------------------------------------------------------------------------- real app processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AppProcess:
    """One `main.py serve` process on a free port; `env` adds to (and overrides) the environment given."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "main.py", "serve", "--port", str(self.port)], cwd=ROOT,
                                     env={**os.environ, "LOG_LEVEL": "WARNING", **env},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def wait_ready(self, timeout: float = 30) -> AppProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app exited: {self.stderr()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code in (200, 503):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the app did not start")

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode("utf-8", "replace")[-3000:] if self.proc.poll() is not None else ""

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait(10)


async def post_events(urls: list[str], bodies: list[list[dict[str, Any]]], secret: str, *,
                      concurrency: int = 24, urls_at: Any = None) -> list[int]:
    """POST each body (a list of events) signed to /callback, spread over the URLs in turn; returns the statuses.
    `urls_at(i)` may give the URLs to use for the i-th body (e.g. without a process that was killed)."""
    statuses = [0] * len(bodies)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(bodies)):
        queue.put_nowait(i)

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            choices = urls_at(i) if urls_at else urls
            for attempt in range(len(choices)):  # a process that is gone: LINE would redeliver; try another
                raw, headers = webhook_events.signed(secret, *bodies[i])
                try:
                    async with session.post(choices[(i + attempt) % len(choices)] + "/callback", data=raw,
                                            headers=headers) as response:
                        statuses[i] = response.status
                        break
                except aiohttp.ClientError:
                    continue

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return statuses


# --------------------------------------------------------------------------- statements


@contextmanager
def handling_statements(runtime: Any) -> Iterator[list[list[str]]]:
    """The statements of each event handled meanwhile (one list per event), the webhook's and other workers' not."""
    handled: list[list[str]] = []
    local = threading.local()
    processor = runtime.processor
    original = processor._handle_in

    def handle(*args: Any) -> Any:
        local.statements = []
        try:
            return original(*args)
        finally:
            handled.append(local.statements)
            local.statements = None

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if getattr(local, "statements", None) is not None:
            local.statements.append(" ".join(statement.split()))

    event.listen(runtime.engine, "before_cursor_execute", record)
    processor._handle_in = handle
    try:
        yield handled
    finally:
        del processor._handle_in
        event.remove(runtime.engine, "before_cursor_execute", record)


# --------------------------------------------------------------------------- databases


@contextmanager
def fresh_postgres(server_url: str, prefix: str = "minato_test") -> Iterator[str]:
    base = make_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --------------------------------------------------------------------------- console events (shared by its tests)

SIZES = [pytest.param((768, 1024), id="tablet"), pytest.param((1280, 800), id="desktop")]
EVENT_FORM = {"title": "港区民まつり", "kind": "festival", "status": "scheduled", "visibility": "public",
              "starts_at": "2030-10-17T10:00", "ends_at": "2030-10-17T16:00", "venue": "八幡屋公園",
              "address": "大阪市港区田中3丁目", "tags": "まつり", "keywords": "くみんまつり, 区民祭り",
              "description": "模擬店やステージがあります",
              "documents": "案内 | https://example.org/a.pdf\n地図 | https://example.org/m.pdf"}


def an_event(sessions: Any, *, starts: str = "2030-10-17T10:00", ends: str = "2030-10-17T16:00") -> int:
    """A festival tagged まつり with two category subscribers, one who tapped リマインドする, one who asked about it
    (and one subscriber who blocked the bot): three people hear of a change."""
    who = people(sessions, residents=3, category=("まつり", 2))
    with work(sessions) as unit:
        event = event_service.create(unit, EventInput.model_validate({
            **EVENT_FORM, "starts_at": dt.datetime.fromisoformat(starts).replace(tzinfo=clock.JST),
            "ends_at": dt.datetime.fromisoformat(ends).replace(tzinfo=clock.JST), "tags": ["まつり"],
            "keywords": ["くみんまつり", "区民祭り"], "documents": []}))
        users = {u.line_user_id: u for u in unit.session.scalars(select(User))}
        unit.session.add(EventSubscription(event_id=event.id, user_id=users[who["residents"][0]].id))
        unit.session.add(EventInquiry(event_id=event.id, user_id=users[who["residents"][1]].id, at=clock.now()))
        blocked = users[who["category"][1]]
        blocked.is_reachable = False
        return event.id


def console_log_in(page: Any, base: str) -> None:
    page.goto(base + "/console/login")
    page.fill("input[name=name]", "港 花子")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('ログイン')")
    page.wait_for_selector("h1:has-text('ダッシュボード')")
