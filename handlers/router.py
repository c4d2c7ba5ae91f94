"""Routers of handlers, registered by event type and filters, and the context a handler works with.

A handler is a plain function ``def handle(ctx: Context) -> None``. It runs inside one database transaction: what it
changes and what it answers (``ctx.reply``) commit together. Routers are tried in order; the first handler whose
filters all match takes the event.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from bot import clock, postback
from bot.messages import Message
from bot.outbox import Outbox
from bot.texts import t
from bot.work import Work, line_actor
from config import Settings
from db.models import Conversation, Member, User
from members import service as members

Filter = Callable[["Context"], bool]
Handler = Callable[["Context"], None]


@dataclass
class Context:
    """Everything a handler needs about one event, and the ways to answer it."""

    session: Session
    event: dict[str, Any]
    user: User | None
    outbox: Outbox
    settings: Settings
    profile: dict[str, Any] | None = None
    memo: dict[str, Any] = field(default_factory=dict)  # what a filter worked out, for its handler
    _postback: postback.Postback | None = None
    _postback_error: bool = False
    # Loaded once per event: filters and handlers ask for them several times.
    _state: Conversation | object | None = field(default=..., repr=False)
    _member: Member | object | None = field(default=..., repr=False)

    @property
    def type(self) -> str:
        return str(self.event.get("type", ""))

    @property
    def source(self) -> dict[str, Any]:
        source = self.event.get("source")
        return source if isinstance(source, dict) else {}

    @property
    def in_chat(self) -> bool:
        """The event came from a group or room, not from a one-to-one chat."""
        return self.source.get("type") in ("group", "room")

    @property
    def chat_id(self) -> str | None:
        """The group or room the event came from; None for a one-to-one chat."""
        return str(self.source.get("groupId") or self.source.get("roomId") or "") or None if self.in_chat else None

    @property
    def lang(self) -> str:
        return self.user.language if self.user else "ja"

    @property
    def message(self) -> dict[str, Any]:
        message = self.event.get("message")
        return message if isinstance(message, dict) else {}

    @property
    def text(self) -> str:
        """The typed text, NFKC-normalised and stripped ('' for anything that is not a text message)."""
        if self.message.get("type") != "text":
            return ""
        return unicodedata.normalize("NFKC", str(self.message.get("text", ""))).strip()

    @property
    def postback(self) -> postback.Postback | None:
        """The decoded postback, or None when there is none or it is not ours."""
        if self._postback is None and not self._postback_error and self.type == "postback":
            try:
                self._postback = postback.decode((self.event.get("postback") or {}).get("data"))
            except postback.InvalidPostback:
                self._postback_error = True
        return self._postback

    @property
    def now(self) -> dt.datetime:
        return clock.now()

    @property
    def received_at(self) -> dt.datetime:
        return clock.from_line_timestamp(int(self.event.get("timestamp", 0)))

    @property
    def work(self) -> Work:
        """The event's unit of work, for domain commands: they write, queue and audit as this LINE user."""
        actor = line_actor(self.user) if self.user is not None else "LINE"
        return Work(session=self.session, outbox=self.outbox, actor=actor, settings=self.settings)

    def t(self, key: str, **values: Any) -> str:
        return t(key, self.lang, **values)

    def reply(self, *messages: Message) -> None:
        """Answer where this event came from (the user, or the group or room they wrote in): by reply while its
        token is fresh, by push after that."""
        if not messages:
            return
        if self.in_chat:
            if self.chat_id is None:  # LINE always names the group; without it there is nowhere to answer
                return
            self.outbox.reply_to_chat(
                self.session, chat_id=self.chat_id, messages=list(messages), reply_token=self.event.get("replyToken"),
                received_at=self.received_at, source=f"event:{self.event.get('webhookEventId', '')}")
            return
        if self.user is None:
            return
        self.outbox.reply(
            self.session, user=self.user, messages=list(messages), reply_token=self.event.get("replyToken"),
            received_at=self.received_at, source=f"event:{self.event.get('webhookEventId', '')}",
        )

    def member(self) -> Member | None:
        """The council member this LINE user is linked to, if any."""
        if self._member is ...:  # (a user first seen now is nobody's yet)
            first_seen = self.user is not None and self.user.first_seen
            self._member = None if first_seen else members.member_of(self.session, self.user)
        return self._member  # type: ignore[return-value]

    # -- conversation state: a row per user
    def state(self) -> Conversation | None:
        if self._state is ...:
            self._state = self._load_state()
        return self._state  # type: ignore[return-value]

    def _load_state(self) -> Conversation | None:
        if self.user is None or self.user.first_seen:
            return None
        row = self.session.get(Conversation, self.user.id)
        if row is not None and row.expires_at is not None and row.expires_at <= self.now:
            self.session.delete(row)
            self.session.flush()
            return None
        return row

    def set_state(self, state: str, data: dict[str, Any] | None = None, ttl: dt.timedelta | None = None) -> None:
        assert self.user is not None
        data = dict(data or {})
        row = self.state()
        if row is not None and row.state == state and row.data == data and ttl is None and row.expires_at is None:
            return  # already so (every answer of a survey sets the same state): nothing to write
        if row is None:  # none, or deleted in this event (expired or cleared): a new row takes its place
            row = Conversation(user_id=self.user.id, state=state)
        row.state, row.data, row.updated_at = state, data, self.now
        row.expires_at = self.now + ttl if ttl else None
        self.session.add(row)
        self._state = row

    def clear_state(self) -> None:
        if (row := self.state()) is not None:
            self.session.delete(row)
        self._state = None


@dataclass
class Route:
    event_type: str
    filters: tuple[Filter, ...]
    handler: Handler


class Router:
    """Handlers for one domain (follow, help, surveys, events...)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.routes: list[Route] = []

    def on(self, event_type: str, *filters: Filter) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(Route(event_type, filters, handler))
            return handler

        return register

    def message(self, *filters: Filter) -> Callable[[Handler], Handler]:
        return self.on("message", *filters)

    def postback(self, action: str, *filters: Filter) -> Callable[[Handler], Handler]:
        return self.on("postback", lambda ctx: ctx.postback is not None and ctx.postback.action == action, *filters)


class Dispatcher:
    """Routes an event to the first matching handler of its routers."""

    def __init__(self, routers: list[Router]) -> None:
        self.routers = routers

    def dispatch(self, ctx: Context) -> bool:
        for router in self.routers:
            for route in router.routes:
                if route.event_type == ctx.type and all(f(ctx) for f in route.filters):
                    route.handler(ctx)
                    return True
        return False


# -- common filters
def typed(*words: str) -> tuple[str, ...]:
    """Words people type (not words the bot says, which live in bot.texts): a marker for the catalogue's test."""
    return words


def text_is(*words: str) -> Filter:
    folded = {w.casefold() for w in words}
    return lambda ctx: ctx.text.casefold() in folded


def message_type(*types: str) -> Filter:
    return lambda ctx: ctx.message.get("type") in types


def in_state(*states: str) -> Filter:
    def check(ctx: Context) -> bool:
        row = ctx.state()
        return row is not None and row.state in states

    return check
