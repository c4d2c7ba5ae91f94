"""APScheduler is the clock; what is due lives in the database. Jobs are named so they replace, never pile up."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self) -> None:
        self._scheduler = AsyncIOScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})

    def every(self, name: str, seconds: float, func: Callable[..., Any]) -> None:
        """Run func (sync or async) every `seconds`; a job with the same name is replaced."""
        self._scheduler.add_job(func, "interval", seconds=seconds, id=name, name=name, replace_existing=True,
                                misfire_grace_time=None)

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)
