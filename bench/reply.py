"""Reply benchmark: how long a resident waits, from the moment LINE posts a webhook event to the moment the bot's
answer reaches LINE's Messaging API (issue #13).

The app runs as `main.py serve` (one process, or two on PostgreSQL) with LINE switched on, pointed at the fake LINE
server of tests/fakeline/ running in its own process: it validates every body against messaging-api.yml, answers the
profile requests, and reports the arrival of each request (CLOCK_MONOTONIC, comparable across processes) on a pipe.
The load is open loop: event i of a phase is sent at start + i/rate as an independent request, whatever the server
does, and its latency is counted from that scheduled time. Each event is a signed text message 「イベント」 with a fresh
webhookEventId, replyToken and timestamp; its answer is found by its reply token (a reply) or by its user (a push,
the fallback when a token has gone stale: a user's oldest unanswered event).

Two populations of residents:
  - new: every event comes from a user the bot has never seen, so the app fetches a LINE profile before answering;
  - known: --residents users (default 1,000) the bot already knows, sent one warm-up event each (not measured) and
    answered before their phases start; the phase's events go round them.
Each phase starts with the app idle (the previous phase answered, and a settling pause). Printed per phase: e2e
p50/p90/p99/max, the webhook 200's p99 (also from the scheduled time), answers by reply and by push, the drain (from
the last scheduled send to the last answer), the peak RSS of the app process(es) (VmRSS sampled every 50 ms), the
exactly-once check (every event answered once: missing and duplicates), the issue's targets beside the figures,
and the CPU the app used and how busy the whole machine was (to tell a slow app from a crowded machine).
For new users the wait is also split at the profile request: webhook + inbox up to it, handling + sending after it.
The machine is shared (2 cores, tests running beside): the figures are this run's, noisy.

    .venv/bin/python bench/reply.py [--rates 10,50,100,200] [--seconds 10] [--users new|known|both]
        [--residents 1000] [--postgres [--processes 2]] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/]
        [--demo]  # load main.py demo's data first: the answer is then a carousel of events, not a short text

Exit status 1 when an event went unanswered or was answered twice (targets missed do not change it).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import aiohttp

ROOT = Path(__file__).resolve().parent.parent

SECRET = "bench-channel-secret"
ACCESS_TOKEN = "bench-channel-access-token"
TEXT = "イベント"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MESSAGE_PATHS = {"/v2/bot/message/reply": "reply", "/v2/bot/message/push": "push"}
ULID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


# --------------------------------------------------------------------------- the fake LINE server's own process


def serve_fake_line(validate_every: int) -> None:
    """`reply.py --fake-line`: the FakeLine on a free port, printing `port N`, then one line per request
    (`reply|push|profile|other <monotonic arrival> <replyToken|to|userId|path> <status>`) until stdin closes or says
    `stop`; then `violations N` and up to five of them as JSON lines."""
    sys.path.insert(0, str(ROOT))
    from starlette.requests import Request
    from starlette.responses import Response

    from tests.fakeline.server import FakeLine

    out_lock = threading.Lock()

    def emit(line: str) -> None:
        with out_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    class ReportingFakeLine(FakeLine):
        async def _handle(self, request: Request) -> Response:
            raw = await request.body()  # starlette keeps it: FakeLine reads the same bytes
            arrived = time.monotonic()
            response = await super()._handle(request)
            path = request.url.path
            kind = MESSAGE_PATHS.get(path) or ("profile" if path.startswith("/v2/bot/profile/") else "other")
            key = path
            if kind in ("reply", "push"):
                try:
                    body = json.loads(raw)
                    key = str(body.get("replyToken") if kind == "reply" else body.get("to"))
                except (ValueError, AttributeError):
                    key = "?"
            elif kind == "profile":
                key = path.rsplit("/", 1)[-1]
            emit(f"{kind} {arrived:.6f} {key} {response.status_code}")
            return response

    fake = ReportingFakeLine()
    fake.validate_every = max(1, validate_every)
    fake.start()
    emit(f"port {fake.port}")
    for line in sys.stdin:
        if line.strip() == "stop":
            break
    fake.stop()
    with fake.lock:
        violations = list(fake.violations)
    emit(f"violations {len(violations)}")
    for violation in violations[:5]:
        emit(json.dumps(violation, ensure_ascii=False))


@dataclass
class Event:
    index: int
    user: str
    reply_token: str
    url: str
    raw: bytes
    headers: dict[str, str]
    scheduled: float  # time.monotonic() it is due to be sent at
    sent: float = 0.0
    status: int = 0  # of the webhook's answer; 0 when it never came
    ok_at: float = 0.0  # when the webhook's answer came
    answers: list[tuple[float, str]] = field(default_factory=list)  # (arrival, reply|push)
    profile_at: float = 0.0  # when the app asked LINE for this event's user's profile (new users)


class FakeLineProcess:
    """The fake LINE server's process and the reader of its reports, which maps each answer to its event."""

    def __init__(self, proc: asyncio.subprocess.Process, port: int) -> None:
        self.proc = proc
        self.port = port
        self.by_token: dict[str, Event] = {}
        self.by_user: dict[str, list[Event]] = defaultdict(list)  # a user's events of the phase, oldest first
        self.answered = 0
        self.stray = 0  # answers matching no event of the phase (a late answer of an earlier one)
        self.refused: defaultdict[int, int] = defaultdict(int)  # non-2xx answers to replies and pushes, by status
        self.profiles = 0
        self.changed = asyncio.Event()
        self.violations: list[str] = []
        self.violation_count = 0
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, validate_every: int, env: dict[str, str]) -> FakeLineProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(Path(__file__).resolve()), "--fake-line", "--validate-every", str(validate_every),
            cwd=ROOT, env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            limit=1 << 20)
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
        except TimeoutError:
            proc.kill()
            raise RuntimeError("the fake LINE server did not start") from None
        if not line.startswith(b"port "):
            proc.kill()
            raise RuntimeError(f"the fake LINE server did not start: {line!r}")
        return cls(proc, int(line.split()[1]))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def expect(self, events: list[Event]) -> None:
        self.by_token = {e.reply_token: e for e in events}
        self.by_user = defaultdict(list)
        for e in events:
            self.by_user[e.user].append(e)
        self.answered = self.stray = self.profiles = 0
        self.refused = defaultdict(int)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            parts = line.decode("utf-8", "replace").split()
            if len(parts) == 4 and parts[0] in ("reply", "push", "profile", "other"):
                self._take(parts[0], float(parts[1]), parts[2], int(parts[3]))
            elif parts[:1] == ["violations"]:
                self.violation_count = int(parts[1])
            elif parts:
                self.violations.append(line.decode("utf-8", "replace").strip())

    def _take(self, kind: str, at: float, key: str, status: int) -> None:
        if kind == "profile":
            self.profiles += 1
            for e in self.by_user.get(key, ()):
                if not e.profile_at:
                    e.profile_at = at
                    break
            return
        if kind == "other":
            return
        if not 200 <= status < 300:
            self.refused[status] += 1
            return
        event: Event | None = None
        if kind == "reply":
            event = self.by_token.get(key)
        else:  # a push names only the user: the oldest of their events not answered yet (else their last: twice)
            mine = self.by_user.get(key, [])
            event = next((e for e in mine if not e.answers), mine[-1] if mine else None)
        if event is None:
            self.stray += 1
            return
        if not event.answers:
            self.answered += 1
        event.answers.append((at, kind))
        self.changed.set()

    async def wait_answered(self, count: int, deadline: float) -> None:
        while self.answered < count and time.monotonic() < deadline:
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), max(0.0, min(1.0, deadline - time.monotonic())))

    async def stop(self) -> None:
        if self.proc.returncode is None:
            assert self.proc.stdin is not None
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.proc.stdin.write(b"stop\n")
                await self.proc.stdin.drain()
                self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._reader, 5)


# --------------------------------------------------------------------------- the app's processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class App:
    """One `main.py serve` process on a free port, its stderr kept in a file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log: TextIO = open(log_path, "w")  # closed in stop()
        self.proc = subprocess.Popen([sys.executable, "main.py", "serve", "--port", str(self.port)], cwd=ROOT,
                                     env=env, stdout=subprocess.DEVNULL, stderr=self._log)
        self.peak_rss = 0  # kB, sampled

    async def wait_ready(self, session: aiohttp.ClientSession, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app exited ({self.proc.returncode}): {self.log_tail()}")
            try:
                async with session.get(self.url + "/healthz", timeout=aiohttp.ClientTimeout(total=2)) as response:
                    if response.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError(f"the app did not start: {self.log_tail()}")

    def status_kb(self, key: str) -> int:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        except (OSError, ValueError, IndexError):
            pass
        return 0

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def machine_cpu() -> tuple[float, float]:
    """Busy and total CPU seconds of the whole machine so far (all cores), from /proc/stat."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    idle = values[3] + values[4]
    return (sum(values) - idle) / tick, sum(values) / tick


async def sample_rss(apps: list[App], stop: asyncio.Event) -> None:
    while not stop.is_set():
        for app in apps:
            app.peak_rss = max(app.peak_rss, app.status_kb("VmRSS"))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.05)


# --------------------------------------------------------------------------- the load


def event_id() -> str:
    return "".join(secrets.choice(ULID_ALPHABET) for _ in range(26))


def signed_event(user: str, timestamp_ms: int) -> tuple[bytes, dict[str, str], str]:
    """A webhook body with one text message event from the user, its headers (signed), and its reply token."""
    reply_token = secrets.token_hex(16)
    event = {
        "type": "message", "mode": "active", "timestamp": timestamp_ms,
        "source": {"type": "user", "userId": user}, "webhookEventId": event_id(),
        "deliveryContext": {"isRedelivery": False}, "replyToken": reply_token,
        "message": {"type": "text", "id": str(secrets.randbelow(10**17)), "text": TEXT,
                    "quoteToken": secrets.token_urlsafe(16)},
    }
    raw = json.dumps({"destination": "U" + "0" * 32, "events": [event]}, ensure_ascii=False).encode("utf-8")
    digest = hmac.new(SECRET.encode("utf-8"), raw, hashlib.sha256).digest()
    return raw, {"content-type": "application/json", "x-line-signature": base64.b64encode(digest).decode()}, reply_token


def new_user() -> str:
    return "U" + uuid.uuid4().hex


def schedule(users: list[str], urls: list[str], rate: float, seconds: float) -> list[Event]:
    """The phase's events, due at start + i/rate (start half a second from now, to build them first), each with the
    timestamp LINE would give it: its scheduled time."""
    count = max(1, round(rate * seconds))
    wall, mono = time.time() + 0.5, time.monotonic() + 0.5
    events = []
    for i in range(count):
        due = i / rate
        user = users[i % len(users)]
        raw, headers, token = signed_event(user, int((wall + due) * 1000))
        events.append(Event(i, user, token, urls[i % len(urls)], raw, headers, mono + due))
    return events


async def send_open_loop(session: aiohttp.ClientSession, events: list[Event]) -> None:
    """Fire each event at its time as its own task; never wait for an answer before sending the next."""

    async def one(event: Event) -> None:
        try:
            async with session.post(event.url + "/callback", data=event.raw, headers=event.headers) as response:
                await response.read()
                event.status = response.status
        except (aiohttp.ClientError, TimeoutError):
            event.status = 0
        event.ok_at = time.monotonic()

    tasks = []
    for event in events:
        delay = event.scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        event.sent = time.monotonic()
        tasks.append(asyncio.create_task(one(event)))
    await asyncio.gather(*tasks)


# --------------------------------------------------------------------------- figures


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


@dataclass
class Result:
    database: str
    processes: int
    population: str
    rate: float
    seconds: float
    events: int
    e2e: list[float]  # ms, of events answered
    ok: list[float]  # ms to the webhook's 200
    late: list[float]  # ms the generator sent after the scheduled time
    replies: int
    pushes: int
    missing: int
    duplicates: int
    webhook_errors: int
    drain: float  # s
    rss_mb: list[float]
    profiles: int
    stray: int
    refused: dict[int, int]
    to_profile: list[float]  # ms, scheduled -> profile request (new users)
    after_profile: list[float]  # ms, profile request -> answer
    app_cpu: float  # cores the app process(es) used on average over the phase
    machine_busy: float  # share of the machine's cores busy (anything: the app, the bench, PostgreSQL, others)
    cores: int

    @property
    def exactly_once(self) -> bool:
        return self.missing == 0 and self.duplicates == 0

    def p(self, values: list[float], q: float) -> float:
        return percentile(values, q)


def targets(r: Result) -> list[tuple[str, float, float]]:
    """The issue's targets that apply to this phase: (what, figure, limit); a figure within its limit meets it."""
    checks: list[tuple[str, float, float]] = []
    e2e_p99 = r.p(r.e2e, 99)
    if r.database == "sqlite" and r.processes == 1 and r.rate == 200:
        checks += [("e2e p99 ≤ 250 ms", e2e_p99, 250), ("drain ≤ 1 s", r.drain, 1.0),
                   ("pushes = 0", r.pushes, 0), ("200's p99 ≤ 100 ms", r.p(r.ok, 99), 100)]
    if r.database == "sqlite" and r.processes == 1 and r.rate == 10:
        checks.append(("e2e p50 ≤ 20 ms", r.p(r.e2e, 50), 20))
    if r.database == "postgresql" and r.processes == 1 and r.rate == 200:
        checks.append(("e2e p99 ≤ 500 ms", e2e_p99, 500))
    if r.database == "postgresql" and r.processes == 2 and r.rate == 300:
        checks.append(("e2e p99 ≤ 500 ms", e2e_p99, 500))
    if r.rate == 200:
        note = "" if r.seconds >= 60 else f" (target is for 60 s; this ran {r.seconds:g} s)"
        checks.append((f"peak RSS ≤ 200 MB{note}", max(r.rss_mb, default=0.0), 200))
    return checks


def report(r: Result) -> None:
    def ms(values: list[float]) -> str:
        return " ".join(f"{name} {r.p(values, q):.0f}" for name, q in (("p50", 50), ("p90", 90), ("p99", 99),
                                                                       ("max", 100))) + " ms"

    procs = f"{r.processes} process{'es' if r.processes > 1 else ''}"
    print(f"\n{r.database} · {procs} · {r.population} users · {r.rate:g} events/s × {r.seconds:g} s: {r.events} events")
    print(f"  e2e      {ms(r.e2e)}")
    print(f"  200      {ms(r.ok)}   (generator late: p99 {r.p(r.late, 99):.1f} ms, max {r.p(r.late, 100):.1f} ms)")
    if r.to_profile:
        print(f"  split    webhook+inbox to the profile request: p50 {r.p(r.to_profile, 50):.0f} p99 "
              f"{r.p(r.to_profile, 99):.0f} ms; from it to the answer: p50 {r.p(r.after_profile, 50):.0f} p99 "
              f"{r.p(r.after_profile, 99):.0f} ms")
    refused = ", ".join(f"{n}×{status}" for status, n in sorted(r.refused.items())) or "none"
    print(f"  answers  reply {r.replies}, push {r.pushes}; drain {r.drain:.2f} s; peak RSS "
          + " + ".join(f"{mb:.0f}" for mb in r.rss_mb) + " MB; profile requests "
          f"{r.profiles}; refused by LINE {refused}")
    print(f"  cpu      the app used {r.app_cpu:.2f} of {r.cores} cores; the machine was "
          f"{100 * r.machine_busy:.0f}% busy (the app, the fake LINE, the load, the database, anything else)")
    print(f"  once     missing {r.missing}, duplicates {r.duplicates}, webhook errors {r.webhook_errors}, stray "
          f"answers {r.stray}: {'every event answered exactly once' if r.exactly_once else 'MISMATCH'}")
    for what, figure, limit in targets(r):
        print(f"  target   {what}: {figure:.2f} {'met' if figure <= limit else 'MISSED'}")


def summarise(results: list[Result]) -> None:
    print("\n| database | procs | users | events/s | e2e p50 | p90 | p99 | max | 200 p99 | reply/push | drain s | "
          "peak RSS MB | missing/dup | app cores / machine busy | targets |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        checks = targets(r)
        missed = [what for what, figure, limit in checks if figure > limit]
        verdict = ("missed: " + "; ".join(missed)) if missed else ("met" if checks else "-")
        print(f"| {r.database} | {r.processes} | {r.population} | {r.rate:g} | {r.p(r.e2e, 50):.0f} | "
              f"{r.p(r.e2e, 90):.0f} | {r.p(r.e2e, 99):.0f} | {r.p(r.e2e, 100):.0f} | {r.p(r.ok, 99):.0f} | "
              f"{r.replies}/{r.pushes} | {r.drain:.2f} | {max(r.rss_mb, default=0):.0f} | "
              f"{r.missing}/{r.duplicates} | {r.app_cpu:.2f} / {100 * r.machine_busy:.0f}% | {verdict} |")


# --------------------------------------------------------------------------- phases


@dataclass
class Bench:
    session: aiohttp.ClientSession
    fake: FakeLineProcess
    apps: list[App]
    database: str
    drain_timeout: float
    settle: float
    app_cpu: float = 0.0  # of the last phase, in cores
    machine_busy: float = 0.0  # of the last phase, 0..1

    async def phase(self, users: list[str], rate: float, seconds: float) -> tuple[list[Event], float]:
        """Send one phase open loop and wait for its answers (bounded); returns its events and the drain."""
        events = schedule(users, [a.url for a in self.apps], rate, seconds)
        self.fake.expect(events)
        for app in self.apps:
            app.peak_rss = 0
        started = time.monotonic()
        app_cpu = sum(cpu_seconds(a.proc.pid) for a in self.apps)
        busy, total = machine_cpu()
        stop_sampling = asyncio.Event()
        sampler = asyncio.create_task(sample_rss(self.apps, stop_sampling))
        try:
            await send_open_loop(self.session, events)
            expected = sum(1 for e in events if e.status == 200)
            await self.fake.wait_answered(expected, events[-1].scheduled + self.drain_timeout)
            await asyncio.sleep(self.settle)  # late duplicates show up; the app finishes its bookkeeping
        finally:
            stop_sampling.set()
            await sampler
        wall = max(time.monotonic() - started, 1e-9)
        self.app_cpu = (sum(cpu_seconds(a.proc.pid) for a in self.apps) - app_cpu) / wall
        busy_after, total_after = machine_cpu()
        self.machine_busy = (busy_after - busy) / max(total_after - total, 1e-9)
        arrivals = [e.answers[0][0] for e in events if e.answers]
        drain = max(0.0, max(arrivals, default=events[-1].scheduled) - events[-1].scheduled)
        return events, drain

    def result(self, population: str, rate: float, seconds: float, events: list[Event], drain: float) -> Result:
        answered = [e for e in events if e.answers]
        new = population == "new"
        return Result(
            database=self.database, processes=len(self.apps), population=population, rate=rate, seconds=seconds,
            events=len(events), e2e=[(e.answers[0][0] - e.scheduled) * 1000 for e in answered],
            ok=[(e.ok_at - e.scheduled) * 1000 for e in events if e.status == 200],
            late=[(e.sent - e.scheduled) * 1000 for e in events],
            replies=sum(1 for e in answered if e.answers[0][1] == "reply"),
            pushes=sum(1 for e in answered if e.answers[0][1] == "push"),
            missing=len(events) - len(answered), duplicates=sum(len(e.answers) - 1 for e in answered),
            webhook_errors=sum(1 for e in events if e.status != 200), drain=drain,
            rss_mb=[a.peak_rss / 1024 for a in self.apps], profiles=self.fake.profiles, stray=self.fake.stray,
            refused=dict(self.fake.refused),
            to_profile=[(e.profile_at - e.scheduled) * 1000 for e in answered if new and e.profile_at],
            after_profile=[(e.answers[0][0] - e.profile_at) * 1000 for e in answered if new and e.profile_at],
            app_cpu=self.app_cpu, machine_busy=self.machine_busy, cores=os.cpu_count() or 1,
        )


async def run(args: argparse.Namespace, database_url: str, tmp: Path) -> list[Result]:
    database = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    base_env = {**os.environ, "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    fake = await FakeLineProcess.start(args.validate_every, base_env)
    env = {**base_env, "DATABASE_URL": database_url, "APP_ENV": "development", "LINE_CHANNEL_SECRET": SECRET,
           "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN, "LINE_API_BASE_URL": fake.base_url,
           "ADMIN_API_TOKEN": "bench-admin-token-0123456789"}
    apps: list[App] = []
    results: list[Result] = []
    connector = aiohttp.TCPConnector(limit=0)  # no client-side queue: the load stays open loop
    session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30))
    try:
        for command in ("migrate", "demo") if args.demo else ("migrate",):
            done = subprocess.run([sys.executable, "main.py", command], cwd=ROOT, env=env, capture_output=True,
                                  timeout=120)
            if done.returncode:
                raise RuntimeError(f"main.py {command} failed: {done.stderr.decode(errors='replace')[-2000:]}")
        apps = [App(env, tmp / f"app-{i}.log") for i in range(args.processes)]
        for app in apps:
            await app.wait_ready(session)
        print(f"{database}, {len(apps)} app process(es) (pid {', '.join(str(a.proc.pid) for a in apps)}), fake LINE "
              f"pid {fake.proc.pid} validating every {args.validate_every} request(s); 「{TEXT}」 events", flush=True)
        bench = Bench(session, fake, apps, database, args.drain_timeout, args.settle)
        await bench.phase([new_user() for _ in range(20)], 20, 1)  # warm the app's code paths (not measured)
        residents: list[str] = []
        for population in ("new", "known") if args.users == "both" else (args.users,):
            if population == "known":
                residents = [new_user() for _ in range(args.residents)]
                events, drain = await bench.phase(residents, args.warmup_rate, args.residents / args.warmup_rate)
                answered = sum(1 for e in events if e.answers)
                print(f"warm-up: {answered} of {len(residents)} residents answered once "
                      f"({drain:.1f} s to drain); they are known from now on", flush=True)
            for rate in args.rates:
                count = max(1, round(rate * args.seconds))
                users = residents if population == "known" else [new_user() for _ in range(count)]
                events, drain = await bench.phase(users, rate, args.seconds)
                result = bench.result(population, rate, args.seconds, events, drain)
                report(result)
                results.append(result)
                sys.stdout.flush()
    finally:
        await session.close()
        for app in apps:
            app.stop()
        await fake.stop()
        for app in apps:
            logged = app.log_tail(100_000).strip().splitlines()
            if logged:
                print(f"app :{app.port} logged {len(logged)} line(s) at WARNING or above; last: {logged[-1][:300]}")
        if fake.violation_count:
            print(f"fake LINE: {fake.violation_count} request(s) broke messaging-api.yml, e.g. {fake.violations[:3]}")
    return results


@contextlib.contextmanager
def fresh_postgres(server_url: str) -> Iterator[str]:
    """A new, empty database on the server (migrated by `main.py migrate` afterwards), dropped at the end."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(server_url)
    if not base.database:
        base = base.set(database="postgres")
    name = f"minato_reply_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def rates(text: str) -> list[float]:
    values = [float(part) for part in text.split(",") if part.strip()]
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError("rates are positive numbers, comma-separated")
    return values


def interrupted(signum: int, frame: object) -> None:
    """SIGTERM as Ctrl-C: the subprocesses, the database and the temporary files are cleaned up alike."""
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=rates, default=[10.0, 50.0, 100.0, 200.0], help="events/s, e.g. 10,50,100,200")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--users", choices=["new", "known", "both"], default="both")
    parser.add_argument("--residents", type=int, default=1000, help="known residents (distinct userIds)")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--database-url", default=DEFAULT_POSTGRES,
                        help="the PostgreSQL server; a fresh database is made on it and dropped afterwards")
    parser.add_argument("--processes", type=int, choices=[1, 2], default=1, help="app processes (2: PostgreSQL)")
    parser.add_argument("--demo", action="store_true", help="load the demo data (events: a carousel answer)")
    parser.add_argument("--drain-timeout", type=float, default=60.0,
                        help="longest wait for a phase's answers after its last send, seconds")
    parser.add_argument("--settle", type=float, default=1.0, help="idle pause after each phase, seconds")
    parser.add_argument("--warmup-rate", type=float, default=100.0, help="events/s of the known residents' warm-up")
    parser.add_argument("--validate-every", type=int, default=1,
                        help="the fake LINE validates every n-th request against messaging-api.yml")
    parser.add_argument("--fake-line", action="store_true", help=argparse.SUPPRESS)  # the fake LINE's process
    args = parser.parse_args()
    if args.fake_line:
        serve_fake_line(args.validate_every)
        return
    if args.processes > 1 and not args.postgres:
        parser.error("--processes 2 needs --postgres: on SQLite one process only does the background work")
    signal.signal(signal.SIGTERM, interrupted)

    print(f"reply benchmark: {', '.join(f'{r:g}' for r in args.rates)} events/s × {args.seconds:g} s, users "
          f"{args.users}, open loop; e2e = scheduled send → answer at the fake LINE API", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-reply-"))
    try:
        if args.postgres:
            with fresh_postgres(args.database_url) as url:
                results = asyncio.run(run(args, url, tmp))
        else:
            results = asyncio.run(run(args, f"sqlite:///{tmp}/bench.db", tmp))
    except KeyboardInterrupt:
        print("interrupted: subprocesses stopped, temporary files removed", file=sys.stderr)
        sys.exit(130)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summarise(results)
    sys.exit(0 if all(r.exactly_once for r in results) else 1)


if __name__ == "__main__":
    main()
