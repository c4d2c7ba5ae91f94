"""Real app processes (`python main.py serve`) on one database, for the multi-process tests and bench/scale.py."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from bot import webhook_events

ROOT = Path(__file__).resolve().parent.parent


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
