"""One unit of work for every client (routes, jobs, LINE handlers): a session, the outbox and the audit log together.

A domain command takes a ``Work`` and writes through it: its changes, the messages it queues (deliveries) and the
audit line naming who did it commit together or not at all. ``unit_of_work`` opens the transaction, commits once
and wakes the gateway after the commit when something was queued, so no route has to remember to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.orm import Session, sessionmaker

from bot import clock
from bot.outbox import QUEUED_FLAG, Outbox
from config import Settings
from db.base import transaction
from db.models import AuditEntry, User

if TYPE_CHECKING:
    from bot.gateway import LineGateway

API_ACTOR = "api"
SCHEDULER_ACTOR = "scheduler"


def line_actor(user: User) -> str:
    """How a LINE user appears in the audit log: their display name and the start of their LINE user ID."""
    name = (user.display_name or "").strip()[:40]
    return f"LINE {name} ({user.line_user_id[:9]})" if name else f"LINE ({user.line_user_id[:9]})"


@dataclass
class Work:
    """What a domain command works with: the transaction's session, the outbox, who acts, and the settings."""

    session: Session
    outbox: Outbox
    actor: str
    settings: Settings

    @property
    def base_url(self) -> str:
        return self.settings.public_base_url

    @property
    def now(self) -> dt.datetime:
        return clock.now()

    def not_before(self, *, urgent: bool = False) -> dt.datetime:
        """When a push that does not answer the person may leave: now, or the end of the quiet hours (JST). The
        policy (README, "Quiet hours"): an answer to what the person sent is never held; everything else waits for
        the morning unless it is urgent."""
        if urgent:
            return self.now
        return clock.outside_quiet_hours(self.now, self.settings.quiet_hours_start, self.settings.quiet_hours_end)

    def audit(self, action: str, target: str | None = None, detail: str | None = None) -> None:
        """One line of the audit log, in the same transaction as the change it records."""
        self.session.add(AuditEntry(actor=self.actor[:100], action=action, target=target,
                                    detail=(detail or None) and detail[:2000]))


@contextmanager
def unit_of_work(sessions: sessionmaker[Session], *, outbox: Outbox, settings: Settings, actor: str,
                 wake: Callable[[], None]) -> Iterator[Work]:
    """Open a transaction, yield the Work, commit once (roll back on an error), then wake the gateway if a
    delivery was queued."""
    with transaction(sessions) as session:
        yield Work(session=session, outbox=outbox, actor=actor, settings=settings)
        queued = session.info.pop(QUEUED_FLAG, False)
    if queued:
        wake()


class Services(Protocol):
    """What the clients (the API, the console, the simulator) use of the running app; runtime.Runtime is one."""

    settings: Settings
    sessions: sessionmaker[Session]

    @property
    def gateway(self) -> LineGateway: ...

    def work(self, actor: str) -> AbstractContextManager[Work]: ...

    def kick_broadcasts(self) -> None: ...

    def workers_alive(self) -> bool: ...
