"""The composition root: the running parts of one app process (database, gateway, inbox processor, scheduler)
wired together, and their lifecycle. Nothing imports this module but main.py, the demo and the tests."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import clock
from bot.gateway import LineGateway
from bot.inbox import InboxProcessor, InboxWriter, Traffic
from bot.scheduler import Scheduler
from bot.work import SCHEDULER_ACTOR, Work, unit_of_work
from broadcasts import service as broadcasts
from config import Settings
from db.base import claim_sqlite_worker, make_engine, make_session_factory, transaction, upsert_insert
from db.migrate import ensure_migrated
from db.models import SystemFlag
from events import service as events
from handlers import build_dispatch
from surveys import pulse as pulses
from surveys import service as surveys

log = logging.getLogger(__name__)
HEARTBEAT_FLAG = "worker_heartbeat"
HEARTBEAT_SECONDS = 5


class Runtime:
    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings.database_url)
        self.sessions: sessionmaker[Session] = make_session_factory(self.engine)
        self.gateway = LineGateway(settings, self.sessions)
        self.inbox_writer = InboxWriter(self.sessions)
        self.traffic = Traffic()  # webhook requests in flight: handling gives way to them
        dispatch = build_dispatch(outbox=self.gateway.outbox, settings=settings)
        self.processor = InboxProcessor(settings, self.sessions, dispatch, self.gateway, self.traffic)
        self.scheduler = Scheduler()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._kicks: set[asyncio.Task[None]] = set()
        self._broadcast_lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._release_worker_lock: Callable[[], None] = lambda: None

    @contextmanager
    def work(self, actor: str) -> Iterator[Work]:
        """One unit of work (bot.work): session, outbox and audit, committed once; the gateway woken after."""
        with unit_of_work(self.sessions, outbox=self.gateway.outbox, settings=self.settings, actor=actor,
                          wake=self._wake_gateway) as work:
            yield work

    def _wake_gateway(self) -> None:
        """Wake the gateway from any thread (routes run in worker threads)."""
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self.gateway.wake)
        else:
            self.gateway.wake()

    async def start(self) -> None:
        ensure_migrated(self.engine)
        self._loop = asyncio.get_running_loop()
        for attempt in range(3):  # a bad template file stops the start, naming file and line
            try:
                with transaction(self.sessions) as session:
                    surveys.sync_templates(session)
                break
            except IntegrityError:  # another process starting at the same moment stored the same version first
                if attempt == 2:
                    raise
        await self.gateway.start()
        self.inbox_writer.start()
        self._stop = asyncio.Event()
        role = self.settings.process_role
        if role != "web":
            self._release_worker_lock = claim_sqlite_worker(self.settings.database_url)
            if self.settings.start_background_workers:
                self._tasks = [
                    asyncio.create_task(self.processor.run(self._stop), name="inbox"),
                    asyncio.create_task(self.gateway.run(self._stop), name="deliveries"),
                ]
            # The loops wait on wake-ups; these jobs are the safety net for work another process queued.
            self.scheduler.every("inbox-sweep", 5, self.processor.wake)
            self.scheduler.every("delivery-sweep", 5, self.gateway.wake)
            self.scheduler.every("surveys", self.settings.scheduler_tick_seconds, self.run_surveys)
            self.scheduler.every("pulses", self.settings.scheduler_tick_seconds, self.run_pulses)
            self.scheduler.every("event-reminders", self.settings.scheduler_tick_seconds, self.run_reminders)
            self.scheduler.every("broadcasts", min(self.settings.scheduler_tick_seconds, 2), self.run_broadcasts)
            self.scheduler.every("heartbeat", HEARTBEAT_SECONDS, self.beat)
            self.scheduler.start()
            await self.beat()
        log.info("started as %s (%s, LINE %s)", role, self.settings.app_env,
                 "enabled" if self.settings.line_enabled else "off: messages stay in the outbox")

    async def beat(self) -> None:
        """Record that this process's workers and scheduler are alive (read by /healthz in web processes)."""

        def write() -> None:
            # an upsert: processes starting at the same moment would otherwise both insert the first row
            values = {"key": HEARTBEAT_FLAG, "value": {"role": self.settings.process_role}, "updated_at": clock.now()}
            with transaction(self.sessions) as session:
                statement = upsert_insert(session, SystemFlag).values(**values)
                session.execute(statement.on_conflict_do_update(
                    index_elements=["key"], set_={"value": statement.excluded.value,
                                                  "updated_at": statement.excluded.updated_at}))

        await asyncio.to_thread(write)

    def workers_alive(self) -> bool:
        """True when this process runs the scheduler, or another process's heartbeat is recent."""
        if self.scheduler.running:
            return True
        with self.sessions() as session:
            flag = session.get(SystemFlag, HEARTBEAT_FLAG)
        return flag is not None and clock.now() - flag.updated_at < dt.timedelta(seconds=HEARTBEAT_SECONDS * 6)

    async def stop(self) -> None:
        self.scheduler.shutdown()
        self._stop.set()
        self.processor.wake()
        self.gateway.wake()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.inbox_writer.stop()
        await self.gateway.close()
        self._release_worker_lock()
        self._release_worker_lock = lambda: None
        self.engine.dispose()  # close the pool's connections now, not when the process ends

    async def run_surveys(self) -> None:
        """Open scheduled surveys, close expired ones, send due reminders (each exactly once)."""

        def job() -> dict[str, int]:
            with self.work(SCHEDULER_ACTOR) as work:
                return surveys.run_due(work)

        done = await asyncio.to_thread(job)
        if any(done.values()):
            log.info("survey jobs: %s", done)

    async def run_pulses(self) -> None:
        """Give each meeting that has ended (plus PULSE_DELAY_MINUTES) its pulse survey, exactly once."""

        def job() -> dict[str, int]:
            with self.work(SCHEDULER_ACTOR) as work:
                return pulses.run_due(work)

        done = await asyncio.to_thread(job)
        if any(done.values()):
            log.info("pulses: %s", done)

    async def run_reminders(self) -> None:
        """Send due event reminders (each exactly once; skipped, never late, once the event has started)."""

        def job() -> dict[str, int]:
            with self.work(SCHEDULER_ACTOR) as work:
                return events.run_due(work)

        done = await asyncio.to_thread(job)
        if done["sent"] or done["skipped"]:
            log.info("event reminders: %s", done)

    def kick_broadcasts(self) -> None:
        """Start a broadcast confirmed for now at once, when this process does the background work (callable from
        a request's worker thread); otherwise the worker process's next tick starts it."""
        if self.scheduler.running and self._loop is not None:
            self._loop.call_soon_threadsafe(self._kick)

    def _kick(self) -> None:
        task = asyncio.get_running_loop().create_task(self.run_broadcasts())
        self._kicks.add(task)
        task.add_done_callback(self._kicks.discard)

    async def run_broadcasts(self) -> None:
        """Start due broadcasts (quiet hours respected unless urgent) and mark finished ones done."""

        def job() -> dict[str, int]:
            with self.work(SCHEDULER_ACTOR) as work:
                done = broadcasts.run_due(work)
            done["chunks"] = 0
            while True:  # one transaction a chunk; the gateway starts on the first while the rest are queued
                with self.work(SCHEDULER_ACTOR) as work:
                    if not broadcasts.queue_chunk(work):
                        return done
                done["chunks"] += 1

        async with self._broadcast_lock:
            done = await asyncio.to_thread(job)
        if done["started"] or done["chunks"]:
            log.info("broadcasts: %s", done)
