"""Tables of the backbone: users, the inbox of webhook events, the outbox of deliveries, conversation state."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class User(Base):
    """Anyone who has added the bot as a friend on LINE (a resident; a council member once linked)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_user_id: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(16), default="ja")
    picture_url: Mapped[str | None] = mapped_column(String(1000))
    is_reachable: Mapped[bool] = mapped_column(default=True)
    followed_at: Mapped[dt.datetime | None]
    unfollowed_at: Mapped[dt.datetime | None]
    profile_updated_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class InboxEvent(Base):
    """One webhook event exactly as LINE sent it; processed after the webhook has answered."""

    __tablename__ = "inbox_events"
    __table_args__ = (
        Index("ix_inbox_events_due", "status", "next_attempt_at"),
        Index("ix_inbox_events_user_order", "user_key", "status", "line_timestamp"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16), default="active")
    user_key: Mapped[str] = mapped_column(String(64), default="")
    line_timestamp: Mapped[int] = mapped_column(BigInteger)
    is_redelivery: Mapped[bool] = mapped_column(default=False)
    payload: Mapped[dict[str, Any]]
    # pending -> processing -> done | ignored | failed (after the last retry; kept for staff to see)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[dt.datetime | None]


class Delivery(Base):
    """One request to LINE (reply, push, multicast or broadcast): every message that leaves is a row first."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_order", "order_key", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # reply | push | multicast | broadcast
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    recipients: Mapped[list[Any]] = mapped_column(default=list)  # LINE user IDs (multicast) or [one]
    messages: Mapped[list[Any]]
    reply_token: Mapped[str | None] = mapped_column(String(200))
    reply_token_expires_at: Mapped[dt.datetime | None]
    retry_key: Mapped[str] = mapped_column(String(36))
    # Deliveries with the same order_key leave in id order (one user's replies never overtake each other).
    order_key: Mapped[str] = mapped_column(String(80))
    source: Mapped[str | None] = mapped_column(String(80), index=True)
    # pending -> sending -> sent | failed | skipped (unreachable); held = waiting for LINE's monthly limit to lift;
    # outbox = development without LINE, kept for the simulator
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[dt.datetime | None]
    sent_via: Mapped[str | None] = mapped_column(String(16))  # the endpoint that finally carried it
    http_status: Mapped[int | None]
    line_request_id: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]


class Conversation(Base):
    """Where a user is in a multi-step conversation: a row, not a coroutine waiting for the user."""

    __tablename__ = "conversations"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None]


class SystemFlag(Base):
    """Small facts the whole system shares, e.g. that LINE's monthly message limit was reached."""

    __tablename__ = "system_flags"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
