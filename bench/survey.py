"""Survey benchmark: 300 members answer a 10-question survey at the same time through the webhook.

Members start at random moments within the first --think seconds and then tap every --think seconds on average
(uniformly between half and one and a half times it: people read at different speeds), so 300 members with the
default 2 s make about 150 requests/s. `--herd` makes them all start at the same instant and tap in step instead:
300 requests at once every 2 s, a worst case no council produces, printed for comparison.
Prints in one run: answers per second (from the first request to the last response sent), p99 time to the
webhook's 200, and the time to compute the results of a survey with 10,000 stored responses.
Targets: p99 under 50 ms; results under 1 s.

    .venv/bin/python bench/survey.py [--members 300] [--herd] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.webhook import SECRET, free_port, start  # noqa: E402
from bot import postback  # noqa: E402
from bot import webhook_events as ev  # noqa: E402

QUESTIONS = 10
CHOICES = ["そう思う", "どちらかといえばそう思う", "どちらかといえばそう思わない", "そう思わない"]


def definition() -> dict:
    return {"id": "bench", "title": "ベンチマーク", "description": "", "questions": [
        {"id": f"q{i}", "kind": "single", "text": f"質問{i}", "choices": CHOICES, "required": True, "help": None,
         "show_if": None, "indicator": None} for i in range(QUESTIONS)]}


def seed(database_url: str, members: int) -> tuple[int, int, list[str]]:
    """A survey open to `members` linked members; returns survey id, template version id, LINE user ids."""
    from db.base import make_engine, make_session_factory, transaction
    from db.models import Member, Survey, SurveyTemplateVersion, User

    sessions = make_session_factory(make_engine(database_url))
    now = dt.datetime.now(dt.UTC)
    with transaction(sessions) as session:
        version = SurveyTemplateVersion(template_key="bench", version=1, checksum="bench", definition=definition())
        session.add(version)
        session.flush()
        survey = Survey(template_version_id=version.id, title="ベンチマーク", opens_at=now,
                        closes_at=now + dt.timedelta(days=1), anonymous=True, status="open", opened_at=now)
        session.add(survey)
        ids = [f"U{i:032x}" for i in range(1, members + 1)]
        users = [User(line_user_id=uid, is_reachable=True, profile_updated_at=now) for uid in ids]
        session.add_all(users)
        session.flush()
        session.add_all([Member(name=f"委員{i}", user_id=u.id, linked_at=now) for i, u in enumerate(users)])
        session.flush()
        return survey.id, version.id, ids


def member_events(user_id: str, survey_id: int, version_id: int, base_ms: int) -> list[bytes]:
    """The member's taps in order: start, ten answers, send (each its own webhook request)."""
    datas = [postback.encode("survey.start", s=survey_id, t=version_id)]
    datas += [postback.encode("survey.answer", s=survey_id, t=version_id, q=f"q{i}", c=i % 4) for i in range(10)]
    datas.append(postback.encode("survey.submit", s=survey_id, t=version_id))
    return [ev.body(ev.postback(user_id, data, timestamp=base_ms + step)) for step, data in enumerate(datas)]


async def run_members(url: str, bodies: list[list[bytes]], think: float, herd: bool) -> list[float]:
    import random

    from bot.signature import sign

    latencies: list[float] = []
    rng = random.Random(42)  # the same arrivals in every run
    starts = [0.0 if herd else rng.uniform(0, think) for _ in bodies]
    pauses = [[think if herd else rng.uniform(think / 2, think * 3 / 2) for _ in requests] for requests in bodies]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:

        async def member(requests: list[bytes], start: float, waits: list[float]) -> None:
            await asyncio.sleep(start)
            for raw, wait in zip(requests, waits, strict=True):
                started = time.perf_counter()
                async with session.post(url, data=raw, headers={"x-line-signature": sign(SECRET, raw),
                                                                 "content-type": "application/json"}) as response:
                    assert response.status == 200, response.status
                    await response.read()
                latencies.append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(wait)  # a person reads the next question before tapping

        await asyncio.gather(*(member(*args) for args in zip(bodies, starts, pauses, strict=True)))
    return latencies


def submitted(database_url: str, survey_id: int) -> int:
    from sqlalchemy import func, select

    from db.base import make_engine
    from db.models import SurveyResponse

    engine = make_engine(database_url)
    with engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(SurveyResponse).where(
            SurveyResponse.survey_id == survey_id, SurveyResponse.status == "submitted"))
    engine.dispose()
    return int(n or 0)


def results_time(database_url: str, responses: int = 10_000) -> float:
    """Seconds to compute results for a survey with `responses` stored anonymous responses."""
    import random
    import uuid

    from db.base import make_engine, make_session_factory, transaction
    from db.models import AnonymousAnswerSet, Member, Survey, SurveyResponse, SurveyTemplateVersion
    from surveys import results

    sessions = make_session_factory(make_engine(database_url))
    now = dt.datetime.now(dt.UTC)
    with transaction(sessions) as session:
        version_id = session.query(SurveyTemplateVersion.id).filter_by(template_key="bench").scalar()
        survey = Survey(template_version_id=version_id, title="結果", opens_at=now,
                        closes_at=now + dt.timedelta(days=1), anonymous=True, status="closed")
        session.add(survey)
        session.flush()
        members = [{"name": f"m{i}", "active": True, "created_at": now} for i in range(responses)]
        session.execute(Member.__table__.insert(), members)
        first = session.query(Member.id).order_by(Member.id.desc()).limit(1).scalar() - responses + 1
        session.execute(SurveyResponse.__table__.insert(), [
            {"survey_id": survey.id, "member_id": first + i, "status": "submitted", "answers": {}, "pending": [],
             "reviewing": False, "started_at": now, "updated_at": now, "submitted_at": now}
            for i in range(responses)])
        session.execute(AnonymousAnswerSet.__table__.insert(), [
            {"id": str(uuid.uuid4()), "survey_id": survey.id,
             "answers": {f"q{q}": random.choice(CHOICES) for q in range(QUESTIONS)}} for _ in range(responses)])
        survey_id = survey.id
    with sessions() as session:
        started = time.perf_counter()
        data = results.compute(session, session.get(Survey, survey_id))
        elapsed = time.perf_counter() - started
    assert data["responses"] == responses
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--think", type=float, default=2.0, help="seconds between one member's taps, on average")
    parser.add_argument("--herd", action="store_true", help="all members start at once and tap in step")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-survey-")
    database_url = args.database_url or f"sqlite:///{tmp}/bench.db"
    env = {**os.environ, "DATABASE_URL": database_url, "LINE_CHANNEL_SECRET": SECRET,
           "LINE_CHANNEL_ACCESS_TOKEN": "", "APP_ENV": "development", "WORKER_POLL_SECONDS": "0.2"}
    subprocess.run([sys.executable, "main.py", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    survey_id, version_id, ids = seed(database_url, args.members)
    base = int(time.time() * 1000)
    bodies = [member_events(uid, survey_id, version_id, base + i * 100) for i, uid in enumerate(ids)]

    port = free_port()
    app = start(["app"], env, port)
    try:
        started = time.perf_counter()
        latencies = asyncio.run(run_members(f"http://127.0.0.1:{port}/callback", bodies, args.think, args.herd))
        last_tap = time.perf_counter()
        deadline = time.monotonic() + 120
        while submitted(database_url, survey_id) < args.members and time.monotonic() < deadline:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        behind = time.perf_counter() - last_tap
    finally:
        app.terminate()
        app.wait(10)
    done = submitted(database_url, survey_id)
    q = statistics.quantiles(latencies, n=100)
    print(f"arrivals:                       {'all in step (--herd)' if args.herd else 'spread'}")
    print(f"members who sent their answers: {done} of {args.members}")
    print(f"answers/s:                      {done * QUESTIONS / elapsed:8.0f}   ({elapsed:.1f} s, paced by members)")
    print(f"handling behind the last tap:   {behind:8.2f} s   (how far the bot lagged the members at the end)")
    print(f"webhook p50 / p99:              {q[49]:.1f} ms / {q[98]:.1f} ms   (target p99 < 50 ms)")
    print(f"results for 10,000 responses:   {results_time(database_url):.2f} s   (target < 1 s)")
    sys.exit(0 if done == args.members else 1)


if __name__ == "__main__":
    main()
