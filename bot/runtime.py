"""The running parts of one app process: database, gateway, inbox processor, scheduler, and their lifecycle."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.gateway import LineGateway
from bot.inbox import InboxProcessor, InboxWriter
from bot.scheduler import Scheduler
from config import Settings
from db.base import make_engine, make_session_factory
from db.migrate import ensure_migrated
from handlers import build_dispatcher

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings.database_url)
        self.sessions: sessionmaker[Session] = make_session_factory(self.engine)
        self.gateway = LineGateway(settings, self.sessions)
        self.inbox_writer = InboxWriter(self.sessions)
        self.processor = InboxProcessor(settings, self.sessions, build_dispatcher(), self.gateway)
        self.scheduler = Scheduler()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        ensure_migrated(self.engine)
        await self.gateway.start()
        self.inbox_writer.start()
        self._stop = asyncio.Event()
        if self.settings.start_background_workers:
            self._tasks = [
                asyncio.create_task(self.processor.run(self._stop), name="inbox"),
                asyncio.create_task(self.gateway.run(self._stop), name="deliveries"),
            ]
        # The loops wait on wake-ups; these jobs are the safety net for work another process queued.
        self.scheduler.every("inbox-sweep", 5, self.processor.wake)
        self.scheduler.every("delivery-sweep", 5, self.gateway.wake)
        self.scheduler.start()
        log.info("started (%s, LINE %s)", self.settings.app_env,
                 "enabled" if self.settings.line_enabled else "off: messages stay in the outbox")

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

    async def drain(self, rounds: int = 50) -> None:
        """Process every due event and send every due delivery now (used by tests and the CLI)."""
        for _ in range(rounds):
            worked = await self.processor.process_due()
            worked += await self.gateway.send_due()
            if not worked:
                return
