"""Conversations with LINE users: one router per domain, tried in the order listed here."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bot.inbox import Dispatch
from bot.outbox import Outbox
from config import Settings
from db.models import User
from handlers import events, follow, group, help, meetings, opinions, registration, staff, survey
from handlers.router import Context, Dispatcher


def build_dispatch(*, outbox: Outbox, settings: Settings) -> Dispatch:
    """What the inbox calls for each event: the routers, given the event's context."""
    dispatcher = Dispatcher([group.router, follow.router, staff.router, survey.router, opinions.router,
                             registration.router, meetings.router, help.router, events.router, help.fallback])

    def dispatch(session: Session, event: dict[str, Any], user: User | None, profile: dict[str, Any] | None) -> bool:
        ctx = Context(session=session, event=event, user=user, outbox=outbox, settings=settings, profile=profile)
        return dispatcher.dispatch(ctx)

    return dispatch
