"""Counting the SQL statements the inbox processor issues while handling events: a guard on the handlers' cost
that does not depend on how fast or busy the machine is."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event


@contextmanager
def handling_statements(runtime: Any) -> Iterator[list[list[str]]]:
    """The statements of each event handled meanwhile (one list per event), the webhook's and other workers' not."""
    handled: list[list[str]] = []
    local = threading.local()
    processor = runtime.processor
    original = processor._handle

    def handle(*args: Any) -> None:
        local.statements = []
        try:
            original(*args)
        finally:
            handled.append(local.statements)
            local.statements = None

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if getattr(local, "statements", None) is not None:
            local.statements.append(" ".join(statement.split())[:100])

    event.listen(runtime.engine, "before_cursor_execute", record)
    processor._handle = handle
    try:
        yield handled
    finally:
        del processor._handle
        event.remove(runtime.engine, "before_cursor_execute", record)
