"""The outbox: every message the bot sends is a Delivery row first, written in the caller's transaction.

A handler's state change and the messages it answers with commit together or not at all; the gateway
(bot/gateway.py) sends committed rows later. This module writes deliveries and names their statuses; nothing else
does (other modules ask it). It does not import the LINE SDK.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from enum import StrEnum

from sqlalchemy import BindParameter, ColumnElement, exists, func, insert, inspect, or_, select, update
from sqlalchemy.orm import Session, make_transient_to_detached

from bot import clock
from bot.messages import Message, chunk, normalise
from db.models import Delivery, User

MULTICAST_LIMIT = 500
REPLY_TOKEN_LIFETIME = dt.timedelta(seconds=50)  # LINE keeps a token about a minute; leave a margin
# A multicast written with held=True waits for release(): a broadcast's requests leave once all are queued.
HELD_UNTIL_RELEASED = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
QUEUED_FLAG = "outbox.queued"  # session.info: a delivery waits for the send loops, wake the gateway after the commit
# The fast lane (session.info): {order key: lease end} of the users whose reply may leave right after this
# transaction's commit, claimed already (nothing of theirs is on its way, so their order holds); and the replies so
# claimed, for the caller to hand to the gateway after the commit.
FAST_LANE = "outbox.fast_lane"
CLAIMED = "outbox.claimed"
_COLUMNS = tuple(attr.key for attr in inspect(Delivery).column_attrs if attr.key != "id")
_INSERT = insert(Delivery).returning(Delivery.id)  # built once: nearly every event answers


class Status(StrEnum):
    """What became of a delivery."""

    OUTBOX = "outbox"  # development without LINE: kept for the simulator to show
    PENDING = "pending"  # waiting to be sent (or retried)
    SENDING = "sending"  # claimed by a sender (a lease)
    HELD = "held"  # LINE's monthly limit: waits for next month
    WAITING = "waiting"  # not an answer, queued in the quiet hours: leaves at next_attempt_at (the morning)
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"  # the user blocked the bot, or there was nothing to do


# A delivery in these statuses keeps the next one of its order key (one user's messages) waiting. One waiting for the
# morning does not: the answers to what the person sends meanwhile go at once.
IN_FLIGHT = (Status.PENDING, Status.SENDING)
UNFINISHED = (Status.PENDING, Status.SENDING, Status.HELD, Status.WAITING)


def outcome(status: str | None) -> str:
    """A delivery status as a person reads it: sent | failed | pending (development's outbox counts as sent)."""
    if status in (Status.SENT, Status.OUTBOX):
        return "sent"
    if status in (Status.FAILED, Status.SKIPPED):
        return "failed"
    return "pending"


class Outbox:
    """Turns messages into Delivery rows within the caller's transaction."""

    def __init__(self, *, line_enabled: bool) -> None:
        # Without LINE credentials (development) messages stay in the outbox for the simulator to show.
        self.initial_status = Status.PENDING if line_enabled else Status.OUTBOX

    def reply(
        self, session: Session, *, user: User, messages: Sequence[Message], reply_token: str | None,
        received_at: dt.datetime, source: str | None = None,
    ) -> list[Delivery]:
        """Answer a user: the first five messages by reply (free, while the token is fresh), the rest by push."""
        groups = chunk(normalise(list(messages)))
        rows = []
        for i, group in enumerate(groups):
            use_reply = i == 0 and reply_token is not None
            rows.append(
                self._add(
                    session, kind="reply" if use_reply else "push", user=user, recipients=[user.line_user_id],
                    messages=group, source=source, order_key=f"u:{user.line_user_id}",
                    reply_token=reply_token if use_reply else None,
                    reply_token_expires_at=received_at + REPLY_TOKEN_LIFETIME if use_reply else None, core=True,
                )
            )
        return rows

    def reply_to_chat(
        self, session: Session, *, chat_id: str, messages: Sequence[Message], reply_token: str | None,
        received_at: dt.datetime, source: str | None = None,
    ) -> list[Delivery]:
        """Answer in a group or room (its ID as the recipient): by reply while the token is fresh, else by push."""
        rows = []
        for i, group in enumerate(chunk(normalise(list(messages)))):
            use_reply = i == 0 and reply_token is not None
            rows.append(self._add(
                session, kind="reply" if use_reply else "push", user=None, recipients=[chat_id], messages=group,
                source=source, order_key=f"c:{chat_id}", reply_token=reply_token if use_reply else None,
                reply_token_expires_at=received_at + REPLY_TOKEN_LIFETIME if use_reply else None, core=True))
        return rows

    def push(
        self, session: Session, *, user: User, messages: Sequence[Message], source: str | None = None,
        not_before: dt.datetime | None = None,
    ) -> list[Delivery]:
        """Push to one user; nothing is queued for a user who has blocked the bot. not_before (the end of the quiet
        hours, from Work.not_before) makes it wait without holding up that user's other messages."""
        if not user.is_reachable:
            return []
        rows = [
            self._add(session, kind="push", user=user, recipients=[user.line_user_id], messages=group,
                      source=source, order_key=f"u:{user.line_user_id}")
            for group in chunk(normalise(list(messages)))
        ]
        status, due = self._waiting(not_before)
        for row in rows:
            row.status, row.next_attempt_at = status, due
        return rows

    def _waiting(self, not_before: dt.datetime | None) -> tuple[str, dt.datetime]:
        now = clock.now()
        if not_before is None or not_before <= now or self.initial_status == Status.OUTBOX:
            return self.initial_status, now  # (without LINE the simulator shows it at once)
        return Status.WAITING, not_before

    def push_many(self, session: Session, *, pushes: Sequence[tuple[User, Sequence[Message], str]],
                  not_before: dt.datetime | None = None) -> int:
        """Many pushes (user, messages, source) in one INSERT, for a scheduler tick that queues thousands;
        unreachable users are left out."""
        now = clock.now()
        status, due = self._waiting(not_before)
        rows = [
            {"kind": "push", "user_id": user.id, "recipients": [user.line_user_id], "messages": group,
             "retry_key": str(uuid.uuid4()), "order_key": f"u:{user.line_user_id}", "source": source,
             "status": status, "attempts": 0, "next_attempt_at": due, "created_at": now}
            for user, messages, source in pushes if user.is_reachable
            for group in chunk(normalise(list(messages)))
        ]
        if rows:
            session.execute(insert(Delivery), rows)
            session.info[QUEUED_FLAG] = True
        return len(rows)

    def switch_menu(self, session: Session, *, user: User, menu: str | None) -> Delivery:
        """Show the user the named rich menu (a linked member's), or the default one again (menu=None)."""
        return self._add(session, kind="richmenu", user=user, recipients=[user.line_user_id],
                         messages=[{"menu": menu}], source="richmenu", order_key=f"u:{user.line_user_id}")

    def multicast(
        self, session: Session, *, line_user_ids: Sequence[str], messages: Sequence[Message], source: str | None = None,
        held: bool = False,
    ) -> list[Delivery]:
        """The same messages to many users, in requests of at most 500 recipients and five messages. With held=True
        the requests wait until release(session, source=...)."""
        rows = []
        ids = list(dict.fromkeys(line_user_ids))  # no one twice
        for group in chunk(normalise(list(messages))):
            for start in range(0, len(ids), MULTICAST_LIMIT):
                batch = ids[start : start + MULTICAST_LIMIT]
                row = self._add(session, kind="multicast", user=None, recipients=batch, messages=group,
                                source=source, order_key=f"m:{uuid.uuid4()}")
                if held:
                    row.next_attempt_at = HELD_UNTIL_RELEASED
                rows.append(row)
        return rows

    def broadcast(
        self, session: Session, *, messages: Sequence[Message], source: str | None = None
    ) -> list[Delivery]:
        """Every friend of the bot, through LINE's broadcast endpoint (one request, whatever the number)."""
        key = f"b:{uuid.uuid4()}"
        return [self._add(session, kind="broadcast", user=None, recipients=[], messages=group, source=source,
                          order_key=key) for group in chunk(normalise(list(messages)))]

    @staticmethod
    def release(session: Session, *, source: str) -> None:
        """Let the held multicasts of this source leave now."""
        session.execute(update(Delivery).where(Delivery.source == source, Delivery.status == Status.PENDING,
                                               Delivery.next_attempt_at == HELD_UNTIL_RELEASED)
                        .values(next_attempt_at=clock.now()).execution_options(synchronize_session=False))
        session.info[QUEUED_FLAG] = True

    @staticmethod
    def unfinished(session: Session, *, source: str) -> int:
        """How many deliveries of this source are not finished yet."""
        return int(session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.source == source, Delivery.status.in_(UNFINISHED))) or 0)

    @staticmethod
    def statuses(session: Session, *, source: str) -> list[str]:
        return list(session.scalars(select(Delivery.status).where(Delivery.source == source)))

    def _add(self, session: Session, *, kind: str, user: User | None, recipients: list[str], messages: list[Message],
             source: str | None, order_key: str, reply_token: str | None = None,
             reply_token_expires_at: dt.datetime | None = None, core: bool = False) -> Delivery:
        """A delivery row in the session's transaction. With `core`, for answers (nothing changes them once
        written), it is one Core INSERT and the row handed back detached: the ORM's flush of one new object cost
        several times the statement, on every event (issue #13). What the session holds unflushed is flushed first,
        so ids keep the order the deliveries were made in (one user's messages leave in id order)."""
        now = clock.now()
        row = Delivery(
            kind=kind, user_id=user.id if user else None, recipients=recipients, messages=messages,
            reply_token=reply_token, reply_token_expires_at=reply_token_expires_at,
            retry_key=str(uuid.uuid4()), order_key=order_key, source=source, status=self.initial_status,
            attempts=0, next_attempt_at=now, lease_until=None, sent_via=None, http_status=None,
            line_request_id=None, last_error=None, created_at=now, sent_at=None,
        )
        claimed = False
        lane = session.info.get(FAST_LANE)
        if lane is not None and order_key in lane:
            lease_until = lane.pop(order_key)  # only the first delivery of the user in this transaction
            if kind == "reply" and row.status == Status.PENDING:
                row.status, row.lease_until, row.attempts = Status.SENDING, lease_until, 1
                claimed = True
        if core:
            if session.new:
                session.flush()
            row.id = session.connection().execute(_INSERT, {name: getattr(row, name) for name in _COLUMNS}
                                                  ).scalar_one()
            make_transient_to_detached(row)
        else:
            session.add(row)
        if claimed:
            session.info.setdefault(CLAIMED, []).append(row)
        else:
            session.info[QUEUED_FLAG] = True
        return row

    @staticmethod
    def open_fast_lane(session: Session, *, order_key: str, lease_until: dt.datetime) -> None:
        """Let this transaction's first delivery to the user, if it is a reply, be claimed as it is written."""
        session.info.setdefault(FAST_LANE, {})[order_key] = lease_until

    @staticmethod
    def in_flight(order_key: str | BindParameter[str]) -> ColumnElement[bool]:
        """Whether a delivery of this order key is still on its way (a condition to select; the key may be a bind
        parameter of a statement built once). The statuses are written out rather than an IN list, which SQLAlchemy
        expands anew at every execution."""
        return exists().where(Delivery.order_key == order_key,
                              or_(*(Delivery.status == status for status in IN_FLIGHT)))
