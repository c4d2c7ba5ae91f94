"""Answers to what residents ask most, kept for a moment: in a busy hour (after a broadcast, a rich menu's
「イベント」 tapped by hundreds) many people ask the same words within seconds, and reading and matching the events
and building their cards each time was a third of handling such a question (issue #13).

What is kept is read again when it is older than KEPT_FOR, and at once after any change to an event written by this
process (an ORM flush or an UPDATE/DELETE/INSERT statement on events, noticed by the session listeners below, and
counted only once committed). A change made by another process (PostgreSQL with several) is seen within KEPT_FOR.
Kept values must not be ORM objects of a session (a rollback would expire them under another thread's feet):
`detached` copies events for keeping.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import event as sa_event
from sqlalchemy import inspect
from sqlalchemy.orm import ORMExecuteState, Session

from bot import clock
from db.models import Event

KEPT_FOR = dt.timedelta(seconds=2)
MAX_KEPT = 512  # answers kept at most (the oldest go first)
_WRITTEN = "events.kept.written"  # session.info: this transaction changed events

T = TypeVar("T")


class Kept:
    """A small store of values, each valid for KEPT_FOR and until events change (`changed`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version = 0
        self._items: OrderedDict[Hashable, tuple[int, dt.datetime, Any]] = OrderedDict()

    def get_or_make(self, key: Hashable, make: Callable[[], T]) -> T:
        now = clock.now()
        with self._lock:
            version = self._version
            item = self._items.get(key)
            if item is not None and item[0] == version and dt.timedelta(0) <= now - item[1] < KEPT_FOR:
                return item[2]  # type: ignore[no-any-return]
        value = make()
        with self._lock:
            if self._version == version:  # nothing changed while it was made: it may be kept
                self._items[key] = (version, now, value)
                self._items.move_to_end(key)
                while len(self._items) > MAX_KEPT:
                    self._items.popitem(last=False)
        return value

    def changed(self) -> None:
        with self._lock:
            self._version += 1
            self._items.clear()


KEPT = Kept()


def kept(session: Session, key: tuple[Hashable, ...], make: Callable[[], T]) -> T:
    """The value for `key` on this session's database, made by `make` when not kept (or no longer valid)."""
    return KEPT.get_or_make((session.get_bind(), *key), make)


_EVENTS = inspect(Event)
_COLUMNS = tuple(attr.key for attr in _EVENTS.column_attrs)


def detached(event: Event) -> Event:
    """A copy of the event that belongs to no session (read-only use: cards, answers, ids)."""
    return Event(**{name: getattr(event, name) for name in _COLUMNS})


# -- noticing changes to events: flagged while the transaction runs, counted when it commits


@sa_event.listens_for(Session, "after_flush")
def _flushed(session: Session, _context: Any) -> None:
    if any(isinstance(obj, Event) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info[_WRITTEN] = True


@sa_event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete or state.is_insert) and state.bind_mapper is _EVENTS:
        state.session.info[_WRITTEN] = True


@sa_event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop(_WRITTEN, False):
        KEPT.changed()


@sa_event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
