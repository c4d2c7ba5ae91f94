"""Broadcast benchmark: 100,000 recipients through the gateway to the fake LINE server, which enforces LINE's
multicast rate limit (200 requests a second; 500 IDs a request: 200 requests, so 1.0 s at best).

Each scenario runs in its own process (so peak memory is its own) on a fresh SQLite file, and prints:
  - requests/s to LINE while sending (every request, retries included) as a fraction of the limit
    (target: >= 0.9 without faults, >= 0.75 with 10% of requests answering 500);
  - wall time from the confirmation to the broadcast marked done;
  - peak memory of the process (target: < 250 MB);
  - duplicates and losses among the recipients LINE accepted (target: zero and zero).

    .venv/bin/python bench/broadcast.py [--recipients 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LIMIT = 200  # LINE's multicast rate limit, requests a second


def fake_line(conn: Any, error_rate: float) -> None:
    """The fake LINE server in its own process, as LINE is on other machines: it enforces the rate limit, answers
    500 at random, and validates every tenth request against the spec (validating all would make it the
    bottleneck: 5 ms for a body of 500 IDs)."""
    from tests.fakeline.server import FakeLine

    line = FakeLine().start()
    line.rate_limits["/message/multicast"] = LIMIT
    line.error_rate["/message/multicast"] = error_rate
    line.validate_every = 10
    conn.send(line.base_url)
    conn.recv()
    conn.send([(r.path, r.status, r.at, r.body.get("to", [])) for r in line.requests if r.path.endswith("/multicast")])
    conn.send(line.violations)
    line.stop()


def start_fake_line(error_rate: float) -> tuple[Any, str]:
    parent, child = multiprocessing.Pipe()
    multiprocessing.Process(target=fake_line, args=(child, error_rate), daemon=True).start()
    return parent, parent.recv()


def scenario(recipients: int, error_rate: float) -> dict[str, float]:
    from sqlalchemy import insert

    from broadcasts import service
    from broadcasts.service import BroadcastInput
    from config import Settings
    from db.base import make_engine, make_session_factory, transaction
    from db.migrate import upgrade
    from db.models import Broadcast, User
    from runtime import Runtime
    path = Path(tempfile.mkdtemp()) / "bench.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        for start in range(0, recipients, 10_000):
            session.execute(insert(User), [{"line_user_id": f"U{i:032x}", "is_reachable": True, "language": "ja"}
                                           for i in range(start, min(start + 10_000, recipients))])
    fake, base_url = start_fake_line(error_rate)
    settings = Settings(_env_file=None, database_url=url, line_channel_secret="bench-secret",  # type: ignore[call-arg]
                        line_channel_access_token="bench-token", line_api_base_url=base_url,
                        admin_api_token="bench-admin-token-0123456789", multicast_requests_per_second=LIMIT,
                        quiet_hours_start=0, quiet_hours_end=0, log_level="WARNING")

    async def run() -> float:
        runtime = Runtime(settings, engine)
        await runtime.start()
        with runtime.work("bench") as work:
            notice = BroadcastInput(title="bench", messages=[{"type": "text", "text": "お知らせ"}],
                                    audience={"kind": "residents"})
            broadcast = service.create(work, notice)
            service.schedule(work, broadcast, at=None)
        started = time.perf_counter()
        await runtime.run_broadcasts()
        while True:
            await asyncio.sleep(0.05)
            with sessions() as session:
                if session.get(Broadcast, broadcast.id).status == "done":  # type: ignore[union-attr]
                    break
            await runtime.run_broadcasts()
        wall = time.perf_counter() - started
        await runtime.stop()
        return wall

    wall = asyncio.run(run())
    fake.send("report")
    requests = fake.recv()
    accepted = Counter(uid for _path, status, _at, to in requests if 200 <= status < 300 for uid in to)
    span = max(r[2] for r in requests) - min(r[2] for r in requests) + 1 / LIMIT
    return {
        "requests": len(requests), "answered_500": sum(r[1] == 500 for r in requests),
        "answered_429": sum(r[1] == 429 for r in requests),
        "ratio": len(requests) / span / LIMIT, "wall": wall,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "duplicates": sum(n - 1 for n in accepted.values() if n > 1),
        "losses": recipients - len(accepted), "violations": len(fake.recv()),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--child", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(scenario(args.recipients, args.child)))
        return
    print(f"broadcast to {args.recipients:,} recipients; fake LINE limit {LIMIT} multicast requests/s")
    for label, error_rate, target in (("no faults", 0.0, 0.9), ("10% answer 500", 0.1, 0.75)):
        out = subprocess.run([sys.executable, __file__, "--recipients", str(args.recipients), "--child",
                              str(error_rate)], capture_output=True, text=True, cwd=ROOT, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"  {label:15s} {r['ratio']:.2f} of the limit (target >= {target}) · {r['requests']} requests "
              f"({r['answered_500']} answered 500, {r['answered_429']} answered 429) · wall {r['wall']:.2f} s · "
              f"peak {r['peak_mb']:.0f} MB (target < 250) · duplicates {r['duplicates']} · losses {r['losses']} · "
              f"requests the spec refuses {r['violations']}")


if __name__ == "__main__":
    main()
