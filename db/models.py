"""Tables of the backbone: users, the inbox of webhook events, the outbox of deliveries, conversation state."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
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

    # Not a column: made by this very event (bot.users.get_or_create), so nothing refers to it yet (no member link,
    # no conversation): handling needs not look.
    first_seen = False


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


# --------------------------------------------------------------------------- council members


class Subcommittee(Base):
    """部会: a subcommittee of the ward council. Staff manage the list (members are chosen from it); a retired 部会
    is offered in no new form or audience but stays on past records."""

    __tablename__ = "subcommittees"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    retired_at: Mapped[dt.datetime | None]


class Member(Base):
    """委員: a council member, linked to a LINE user once they send their link code."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    subcommittee_id: Mapped[int | None] = mapped_column(ForeignKey("subcommittees.id"), index=True)
    term_end: Mapped[dt.date | None]
    phone: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(254))
    contact_method: Mapped[str | None] = mapped_column(String(16))  # line | phone | paper; None: not said
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), unique=True)
    linked_at: Mapped[dt.datetime | None]
    # False once retired (退任): unlinked, in no new audience, still in past results and attendance
    active: Mapped[bool] = mapped_column(default=True)
    retired_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LinkCode(Base):
    """A one-time code that links a member's LINE account; only its hash is kept."""

    __tablename__ = "link_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LinkCodeSheet(Base):
    """The printable sheet of the link codes one console action issued, so that showing or printing it again
    issues nothing. The codes are sealed with a key only the issuing browser holds (members.sheets); the row
    goes with the log-in that made it, or when it expires."""

    __tablename__ = "link_code_sheets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, in the sheet's URL
    staff_session_id: Mapped[int] = mapped_column(ForeignKey("staff_sessions.id", ondelete="CASCADE"), index=True)
    key_check: Mapped[str] = mapped_column(String(64))
    entries: Mapped[list[Any]]  # [{"member_id", "sealed", "expires_at"}]
    expires_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LinkAttempt(Base):
    """A wrong link code sent by a LINE user (for refusing brute force)."""

    __tablename__ = "link_attempts"
    __table_args__ = (Index("ix_link_attempts_user_at", "line_user_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line_user_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------- surveys


class SurveyTemplateVersion(Base):
    """A survey template as it was when loaded: editing the YAML adds a version, never changes an old one."""

    __tablename__ = "survey_template_versions"
    __table_args__ = (UniqueConstraint("template_key", "checksum"), UniqueConstraint("template_key", "version"))

    id: Mapped[int] = mapped_column(primary_key=True)
    template_key: Mapped[str] = mapped_column(String(60))
    version: Mapped[int]
    checksum: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Survey(Base):
    """One run of a template: a title, an audience, an open and a close time, anonymous or named. A pulse (kind
    'pulse') is the short survey a meeting's members get after it (event_id: the meeting; MeetingPulse)."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="survey")  # survey | pulse
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"), index=True)
    template_version_id: Mapped[int] = mapped_column(ForeignKey("survey_template_versions.id"))
    title: Mapped[str] = mapped_column(String(100))
    audience_subcommittee_ids: Mapped[list[Any]] = mapped_column(default=list)  # empty: all members
    opens_at: Mapped[dt.datetime]
    closes_at: Mapped[dt.datetime]
    anonymous: Mapped[bool] = mapped_column(default=True)
    target_year: Mapped[str | None] = mapped_column(String(10))
    reminder_hours: Mapped[list[Any]] = mapped_column(default=lambda: [72, 24])
    # draft -> open -> closed
    status: Mapped[str] = mapped_column(String(16), default="draft")
    opened_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SurveyResponse(Base):
    """A member's progress through a survey. For an anonymous survey it keeps, once sent, only *that* the member
    answered (for reminders and the response rate): the answers move to AnonymousAnswerSet."""

    __tablename__ = "survey_responses"
    __table_args__ = (UniqueConstraint("survey_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="in_progress")  # in_progress | submitted
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    pending: Mapped[list[Any]] = mapped_column(default=list)  # choices ticked so far on a multiple choice question
    current_question: Mapped[str | None] = mapped_column(String(40))
    reviewing: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[dt.datetime | None]


class AnonymousAnswerSet(Base):
    """The answers of one anonymous response: no member, no time, a random key, so nothing joins them back."""

    __tablename__ = "anonymous_answer_sets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    answers: Mapped[dict[str, Any]]


class SurveyReminder(Base):
    """A reminder to members who have not finished, due before the close time; sent exactly once."""

    __tablename__ = "survey_reminders"
    __table_args__ = (Index("ix_survey_reminders_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    due_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | skipped
    recipients: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[dt.datetime | None]


class MeetingPulse(Base):
    """A meeting's pulse, claimed once: the scheduler inserts this row (ON CONFLICT DO NOTHING) in the transaction
    that creates the pulse survey, so two processes never create two pulses for one meeting."""

    __tablename__ = "meeting_pulses"

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="created")  # created | skipped (no members)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------- events and reminders


class Event(Base):
    """A ward event (まつり, 講座...) or a council meeting (全体会議, 部会), with the words residents use for it."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_starts_at", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    title_en: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # festival | event | lecture | plenary | subcommittee
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    all_day: Mapped[bool] = mapped_column(default=False)
    venue: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    description: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(1000))
    image_url: Mapped[str | None] = mapped_column(String(1000))
    visibility: Mapped[str] = mapped_column(String(16), default="public")  # public | members | subcommittee
    subcommittee_id: Mapped[int | None] = mapped_column(ForeignKey("subcommittees.id"))
    tags: Mapped[list[Any]] = mapped_column(default=list)
    keywords: Mapped[list[Any]] = mapped_column(default=list)  # readings and other names: くみんまつり ...
    status: Mapped[str] = mapped_column(String(20), default="scheduled")  # events.schema.Status
    # the day's word from staff (雨のため中止します...), when it was set, and whether its notice may wake people
    status_message: Mapped[str | None] = mapped_column(Text)
    status_at: Mapped[dt.datetime | None]
    status_urgent: Mapped[bool] = mapped_column(default=True)
    # answers to residents' usual questions (events.answers.TOPICS: rain, parking, access...), free Q&A pairs
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    faq: Mapped[list[Any]] = mapped_column(default=list)  # [{"q", "a"}]
    free: Mapped[bool | None]  # 無料 (True), 有料 (False), not said (None)
    documents: Mapped[list[Any]] = mapped_column(default=list)  # 事前資料: [{"title", "url"}]
    reminder_hours: Mapped[list[Any] | None] = mapped_column(default=None)  # None: the kind's defaults
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EventSubscription(Base):
    """A resident who tapped リマインドする on an event."""

    __tablename__ = "event_subscriptions"
    __table_args__ = (UniqueConstraint("event_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EventInquiry(Base):
    """A resident was shown this event when they asked the bot (they hear if it is cancelled or moved)."""

    __tablename__ = "event_inquiries"
    __table_args__ = (Index("ix_event_inquiries_event_at", "event_id", "at"),
                      Index("ix_event_inquiries_user_at", "user_id", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Reminder(Base):
    """A reminder before an event, due at a time; claimed and sent exactly once (or skipped, never late)."""

    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(20))  # 7d | 3d | 1d | morning | custom offsets "12h"
    due_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | skipped | cancelled
    recipients: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[dt.datetime | None]


class Attendance(Base):
    """A member's answer for a meeting: 出席 / 欠席, and whether they have read the documents."""

    __tablename__ = "attendances"
    __table_args__ = (UniqueConstraint("event_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    response: Mapped[str | None] = mapped_column(String(10))  # attend | absent
    documents_confirmed_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CategorySubscription(Base):
    """A resident who wants reminders for every event of a category (通知設定)."""

    __tablename__ = "category_subscriptions"
    __table_args__ = (UniqueConstraint("user_id", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(40))


class Opinion(Base):
    """ご意見 from a resident, or a member's 事前意見 before a meeting; staff read, mark and answer it."""

    __tablename__ = "opinions"
    __table_args__ = (Index("ix_opinions_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="opinion")  # opinion | pre_meeting
    category: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"), index=True)
    text: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(String(100))
    # unread 受付 | in_progress 検討中 | answered 回答済 | reflected 反映済 | difficult 対応困難 (with a reason)
    status: Mapped[str] = mapped_column(String(16), default="unread")
    reply_text: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[dt.datetime | None]  # the latest answer
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # received (staff give the day for their own)
    # how it came: line (sent in LINE) | meeting (said at a meeting) | paper | phone (the last three entered by staff)
    source: Mapped[str] = mapped_column(String(16), default="line")
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    name_consent: Mapped[bool] = mapped_column(default=False)  # the member agreed to their name in the table
    quote_token: Mapped[str | None] = mapped_column(String(255))  # LINE's quoteToken of the message it came in
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"),
                                                      index=True)  # 担当課
    due_on: Mapped[dt.date | None]
    memo: Mapped[str | None] = mapped_column(Text)  # internal: never shown to the sender or the public
    reason: Mapped[str | None] = mapped_column(Text)  # why 対応困難
    public: Mapped[bool] = mapped_column(default=False)  # 公開: in the meeting's published table
    first_replied_at: Mapped[dt.datetime | None]  # the first answer (days to answer count to it)
    rating: Mapped[str | None] = mapped_column(String(16))  # enough 十分 | mostly まあ十分 | not_enough 不十分
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[dt.datetime | None]


class Department(Base):
    """担当課: a section of the ward office opinions are assigned to (a list the office edits)."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------- staff and broadcasts


class StaffAccount(Base):
    """A ward office staff member who uses the console. viewer reads; editor prepares and sends; admin also
    manages staff accounts and reads the audit log."""

    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # admin | editor | viewer
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))  # own LINE, for tests
    line_linked_at: Mapped[dt.datetime | None]  # when they linked it (sent their code to the bot)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class StaffSession(Base):
    """A logged-in browser: only the hash of its cookie is kept; log-out deletes the row."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class StaffLineCode(Base):
    """A one-time code a staff member sends to the bot to link their own LINE account (test sends go there). Only
    its hash is kept; the code itself is sealed with a key of the browser session that issued it, so that page
    can show it again (staff.service)."""

    __tablename__ = "staff_line_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_session_id: Mapped[int | None] = mapped_column(ForeignKey("staff_sessions.id", ondelete="SET NULL"))
    sealed: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    replaced_at: Mapped[dt.datetime | None]  # a newer code was issued: this one no longer works
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Who did what, and when: sent a broadcast, opened a survey, changed an event, replied to an opinion."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))  # a staff name, or "api" for the automation API
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[str | None] = mapped_column(Text)


class Broadcast(Base):
    """Messages from the ward office to a segment of the bot's friends, now or at a set time."""

    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_due", "status", "scheduled_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))  # for staff only
    items: Mapped[list[Any]]  # what staff composed: [{"type": "text", "text": ...}, {"type": "event", ...}]
    messages: Mapped[list[Any]]  # the LINE message objects built from the items
    audience: Mapped[dict[str, Any]]  # {"kind": all|residents|members|subcommittees|category, ...}
    urgent: Mapped[bool] = mapped_column(default=False)  # 防災: sent also in the quiet hours
    # draft -> scheduled -> sending -> done; draft/scheduled -> cancelled
    status: Mapped[str] = mapped_column(String(16), default="draft")
    scheduled_at: Mapped[dt.datetime | None]
    started_at: Mapped[dt.datetime | None]
    queued_at: Mapped[dt.datetime | None]  # every recipient has a delivery (they are queued in chunks)
    finished_at: Mapped[dt.datetime | None]
    recipients: Mapped[int] = mapped_column(default=0)  # queued so far
    skipped: Mapped[int] = mapped_column(default=0)  # in the audience, but they have blocked the bot
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class BroadcastRecipient(Base):
    """One user a broadcast went to, and the delivery (a multicast of up to 500) that carried it."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (UniqueConstraint("broadcast_id", "user_id"), Index("ix_broadcast_recipients_delivery",
                                                                         "delivery_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    line_user_id: Mapped[str] = mapped_column(String(64))
    skipped: Mapped[bool] = mapped_column(default=False)  # blocked the bot when the broadcast started
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id", ondelete="SET NULL"))


class UploadedImage(Base):
    """An image staff uploaded for a broadcast: checked, resized to LINE's limits and stripped of its metadata
    (broadcasts.images), then served by the app at /media/<token>.jpg|.png. Kept in the database, so every app
    process serves it and a backup holds it."""

    __tablename__ = "uploaded_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)  # random: the file's name in its URL
    content_type: Mapped[str] = mapped_column(String(32))  # image/jpeg | image/png
    data: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int]
    height: Mapped[int]
    size: Mapped[int]  # bytes
    sha256: Mapped[str] = mapped_column(String(64), index=True)  # the same image uploaded again: the same URL
    uploaded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
