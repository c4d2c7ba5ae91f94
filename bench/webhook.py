"""Webhook benchmark: the app's POST /callback against a bare FastAPI endpoint that only answers 200.

Both run under uvicorn, the app as `main.py serve` runs it; a load generator on loopback sends signed LINE
message events.
Printed in one run (the machine is shared and noisy, so only ratios and this run's figures mean anything):
  - requests/s of each at full load, and their ratio (target: app >= 0.4 of bare);
  - p50/p99 time to the 200 at a fixed 200 requests/s (target: p99 < 50 ms);
  - how fast the app handled the events (each is a 「今週のイベント」 question answered with a reply) and how long
    it took to catch up after each phase: handling gives way to the webhook while requests keep coming;
  - that every event sent was stored exactly once, and handled.
Each phase starts with the app idle (the previous phase's events all handled), so neither endpoint is measured
while the app's handling of earlier events competes with it for the machine.

    .venv/bin/python bench/webhook.py [--requests 3000] [--concurrency 32] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import webhook_events as ev  # noqa: E402

SECRET = "bench-channel-secret"
BARE_APP = """
from fastapi import FastAPI, Request
app = FastAPI()
@app.post("/callback")
async def callback(request: Request):
    await request.body()
    return {}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """A server on the port: a bare uvicorn app, or (args == ["app"]) the app as `main.py serve` runs it."""
    if args == ["app"]:
        command = [sys.executable, "main.py", "serve", "--port", str(port)]
        env = {**env, "LOG_LEVEL": "WARNING"}
    else:
        command = [sys.executable, "-m", "uvicorn", *args, "--host", "127.0.0.1", "--port", str(port),
                   "--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server {args} did not start")


def signed_request(user: int) -> tuple[bytes, dict[str, str], str]:
    event = ev.text_message(f"U{user:032x}", "今週のイベント")
    raw, headers = ev.signed(SECRET, event)
    return raw, headers, event["webhookEventId"]


async def full_load(url: str, total: int, concurrency: int, sent: list[str]) -> float:
    """Requests per second with `concurrency` clients sending back to back."""
    requests = [signed_request(i % 300) for i in range(total)]
    queue = list(reversed(requests))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker() -> None:
            while queue:
                raw, headers, event_id = queue.pop()
                async with session.post(url, data=raw, headers=headers) as response:
                    assert response.status == 200, response.status
                    await response.read()
                sent.append(event_id)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return total / (time.perf_counter() - started)


async def fixed_rate(url: str, rate: float, seconds: float, sent: list[str]) -> list[float]:
    """Latency of each request when sent at a steady rate."""
    latencies: list[float] = []
    count = int(rate * seconds)
    requests = [signed_request(i % 300) for i in range(count)]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as session:

        async def one(raw: bytes, headers: dict[str, str], event_id: str) -> None:
            started = time.perf_counter()
            async with session.post(url, data=raw, headers=headers) as response:
                assert response.status == 200, response.status
                await response.read()
            latencies.append((time.perf_counter() - started) * 1000)
            sent.append(event_id)

        tasks = []
        begin = time.perf_counter()
        for i, (raw, headers, event_id) in enumerate(requests):
            delay = begin + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(raw, headers, event_id)))
        await asyncio.gather(*tasks)
    return latencies


UNFINISHED = ("pending", "processing")


def unfinished(conn: Any) -> int:
    from sqlalchemy import func, select

    from db.models import InboxEvent

    return int(conn.scalar(select(func.count()).where(InboxEvent.status.in_(UNFINISHED))) or 0)


def catch_up(database_url: str, timeout: float = 300) -> float:
    """Seconds until the app has handled every stored event."""
    from db.base import make_engine

    engine = make_engine(database_url)
    started = time.perf_counter()
    with engine.connect() as conn:
        while unfinished(conn) and time.perf_counter() - started < timeout:
            conn.rollback()  # a fresh snapshot for the next look
            time.sleep(0.05)
    engine.dispose()
    return time.perf_counter() - started


def stored_counts(database_url: str) -> tuple[int, int, int]:
    """Events stored, distinct webhookEventIds among them, and events not handled yet."""
    from sqlalchemy import func, select

    from db.base import make_engine
    from db.models import InboxEvent

    engine = make_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(select(func.count(), func.count(func.distinct(InboxEvent.webhook_event_id)))).one()
        left = unfinished(conn)
    engine.dispose()
    return int(rows[0]), int(rows[1]), left


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench-webhook-")
    database_url = args.database_url or f"sqlite:///{tmp}/bench.db"
    env = {**os.environ, "DATABASE_URL": database_url, "LINE_CHANNEL_SECRET": SECRET,
           "LINE_CHANNEL_ACCESS_TOKEN": "", "APP_ENV": "development"}
    subprocess.run([sys.executable, "main.py", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    Path(tmp, "bare.py").write_text(BARE_APP)

    bare_port, app_port = free_port(), free_port()
    bare = start(["bare:app", "--app-dir", tmp], env, bare_port)
    app = start(["app"], env, app_port)
    try:
        sent: list[str] = []
        asyncio.run(full_load(f"http://127.0.0.1:{bare_port}/callback", 300, 8, []))  # warm-up
        asyncio.run(full_load(f"http://127.0.0.1:{app_port}/callback", 300, 8, sent))
        catch_up(database_url)
        bare_rps = asyncio.run(full_load(f"http://127.0.0.1:{bare_port}/callback", args.requests,
                                         args.concurrency, []))
        started = time.perf_counter()
        app_rps = asyncio.run(full_load(f"http://127.0.0.1:{app_port}/callback", args.requests,
                                        args.concurrency, sent))
        load_seconds = time.perf_counter() - started
        behind_full = catch_up(database_url)
        handled_rate = args.requests / (load_seconds + behind_full)
        latencies = asyncio.run(fixed_rate(f"http://127.0.0.1:{app_port}/callback", 200, args.seconds, sent))
        behind_fixed = catch_up(database_url)
    finally:
        for proc in (bare, app):
            proc.terminate()
            proc.wait(10)

    total, distinct, left = stored_counts(database_url)
    q = statistics.quantiles(latencies, n=100)
    print(f"bare endpoint:     {bare_rps:8.0f} requests/s")
    print(f"app /callback:     {app_rps:8.0f} requests/s")
    print(f"ratio app/bare:    {app_rps / bare_rps:8.2f}   (target >= 0.40)")
    print(f"at 200 requests/s: p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms   (target p99 < 50 ms)")
    print(f"handling:          {handled_rate:8.0f} events/s over the full-load phase and its catching up; "
          f"caught up {behind_full:.1f} s after it, {behind_fixed:.1f} s after the 200 requests/s phase")
    ok = total == distinct == len(set(sent)) == len(sent) and left == 0
    print(f"events sent {len(sent)}, stored {total}, distinct {distinct}, left unhandled {left}: "
          f"{'every event stored exactly once and handled' if ok else 'MISMATCH'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
