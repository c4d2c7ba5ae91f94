"""Engine and session factory. The database is the source of truth for everything that must survive a restart."""

from __future__ import annotations

import collections
import datetime as dt
import fcntl
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Engine, MetaData, TypeDecorator, create_engine, event, make_url
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class FairLock:
    """A lock handed over in arrival order. A plain Lock lets a thread that releases it take it straight back,
    so a thread writing many small transactions in a row would starve the webhook's writer."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: collections.deque[threading.Lock] = collections.deque()
        self._held = False

    def __enter__(self) -> None:
        with self._mutex:
            if not self._held:
                self._held = True
                return
            ticket = threading.Lock()
            ticket.acquire()
            self._waiters.append(ticket)
        ticket.acquire()  # released by the holder, which hands the lock over to us

    def __exit__(self, *exc: object) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._held = False


# SQLite allows one writer at a time. Threads of this process queue for it on a fair Python lock rather than in
# SQLite's busy handler, which sleeps in steps of up to 100 ms while it waits.
_SQLITE_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, FairLock] = weakref.WeakKeyDictionary()
_writing = threading.local()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and serialised writers so threads never deadlock."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the driver, decide when transactions begin (see _begin_immediate).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # A unit of work (transaction()) takes the write lock up front: a deferred transaction that upgrades
            # later can fail with "database is locked" without waiting. Plain reads begin deferred.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if getattr(_writing, "active", False) else "BEGIN")

        _SQLITE_WRITE_LOCKS[engine] = FairLock()
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def upsert_insert(session: Session, table: Any) -> Any:
    """An INSERT on the session's database that takes ON CONFLICT clauses (PostgreSQL's or SQLite's)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return insert(table)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work that writes: commit on success, roll back on error. Use a plain session to only read."""
    bind = factory.kw.get("bind")
    lock = _SQLITE_WRITE_LOCKS.get(bind) if isinstance(bind, Engine) else None
    with lock or nullcontext():
        _writing.active = True
        try:
            with factory() as session, session.begin():
                yield session
        finally:
            _writing.active = False


class OtherProcessRunning(RuntimeError):
    """Another process already does the background work on this SQLite database."""


_worker_locks: dict[str, list[int]] = {}  # lock file -> [file descriptor, holders in this process]
_worker_locks_guard = threading.Lock()


def claim_sqlite_worker(url: str) -> Callable[[], None]:
    """On SQLite, let one process only run the background work (inbox, deliveries, scheduler): SQLite has one
    writer, and several workers would wait on each other. A lock file beside the database, held while the process
    lives (the kernel lets it go if the process dies). Runtimes in one process share it. Returns the release; on
    other databases it does nothing."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return lambda: None
    path = str(Path(parsed.database).resolve()) + ".worker.lock"
    with _worker_locks_guard:
        entry = _worker_locks.get(path)
        if entry is None:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise OtherProcessRunning(
                    f"Another process already does the background work on the SQLite database {parsed.database}. "
                    "SQLite has one writer, so one process only may run the inbox, deliveries and scheduler. "
                    "To run several, use PostgreSQL (DATABASE_URL=postgresql+psycopg://...); extra processes that "
                    "only answer HTTP can run with PROCESS_ROLE=web.") from None
            entry = _worker_locks[path] = [fd, 0]
        entry[1] += 1

    def release() -> None:
        with _worker_locks_guard:
            entry[1] -= 1
            if entry[1] == 0:
                fcntl.flock(entry[0], fcntl.LOCK_UN)
                os.close(entry[0])
                _worker_locks.pop(path, None)

    return release
