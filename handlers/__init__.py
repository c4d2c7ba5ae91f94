"""Handlers of LINE events, one router per domain, tried in the order listed here."""

from __future__ import annotations

from handlers import events, follow, help, opinions, registration, survey
from handlers.router import Dispatcher


def build_dispatcher() -> Dispatcher:
    return Dispatcher([follow.router, survey.router, opinions.router, registration.router, help.router,
                       events.router, help.fallback])
