"""Members and their link codes. Service functions take the session and keyword arguments; the caller commits."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot import clock
from bot.gateway import Outbox
from db.models import LinkAttempt, LinkCode, Member, Subcommittee, User

# No 0/O, 1/I/L, so a code read aloud or printed cannot be misread.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_TTL = dt.timedelta(days=14)
MAX_WRONG_TRIES = 5
WRONG_TRY_WINDOW = dt.timedelta(minutes=10)
_CODE_SHAPE = re.compile(r"^(?:登録|とうろく|コード)?[:：\s]*([A-Z0-9]{4})[-ー－\s]?([A-Z0-9]{4})$")


def subcommittee_by_name(session: Session, name: str) -> Subcommittee:
    """The subcommittee with this name, created if new."""
    name = name.strip()
    found = session.scalars(select(Subcommittee).where(Subcommittee.name == name)).one_or_none()
    if found is None:
        found = Subcommittee(name=name)
        session.add(found)
        session.flush()
    return found


def create(session: Session, *, name: str, subcommittee: str | None = None, term_end: dt.date | None = None) -> Member:
    member = Member(name=name.strip(), term_end=term_end,
                    subcommittee_id=subcommittee_by_name(session, subcommittee).id if subcommittee else None)
    session.add(member)
    session.flush()
    return member


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def issue_link_code(session: Session, *, member: Member, ttl: dt.timedelta = CODE_TTL) -> tuple[str, dt.datetime]:
    """A new one-time code for the member (shown once; only its hash is stored). Older unused codes stop working."""
    session.execute(delete(LinkCode).where(LinkCode.member_id == member.id, LinkCode.used_at.is_(None)))
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        # A digit, so no English word ("NEXTWEEK") is taken for a code; a letter, so no number is either.
        if looks_like_code(code) == code:
            break
    expires_at = clock.now() + ttl
    session.add(LinkCode(member_id=member.id, code_hash=_hash(code), expires_at=expires_at))
    session.flush()
    return format_code(code), expires_at


def looks_like_code(text: str) -> str | None:
    """The code in a typed message (full-width, lower case, spaces and hyphens allowed), or None."""
    folded = unicodedata.normalize("NFKC", text).strip().upper()
    match = _CODE_SHAPE.match(folded)
    if not match:
        return None
    code = match.group(1) + match.group(2)
    return code if any(c.isdigit() for c in code) and any(c.isalpha() for c in code) else None


@dataclass
class LinkResult:
    status: str  # linked | already | invalid | expired | used | locked
    member: Member | None = None
    previous_user: User | None = None  # the LINE account the member used before (relinked to a new phone)


def is_locked(session: Session, *, line_user_id: str) -> bool:
    since = clock.now() - WRONG_TRY_WINDOW
    wrong = session.scalar(select(func.count()).select_from(LinkAttempt).where(
        LinkAttempt.line_user_id == line_user_id, LinkAttempt.at >= since))
    return int(wrong or 0) >= MAX_WRONG_TRIES


def link(session: Session, *, user: User, code: str) -> LinkResult:
    """Link the LINE user to the member whose code this is. Wrong codes count towards a lock-out."""
    if is_locked(session, line_user_id=user.line_user_id):
        return LinkResult("locked")
    now = clock.now()
    row = session.scalars(select(LinkCode).where(LinkCode.code_hash == _hash(code))).one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= now:
        session.add(LinkAttempt(line_user_id=user.line_user_id, at=now))
        status = "invalid" if row is None else ("used" if row.used_at is not None else "expired")
        return LinkResult(status)
    member = session.get(Member, row.member_id)
    if member is None or not member.active:
        return LinkResult("invalid")
    row.used_at = now
    previous = session.get(User, member.user_id) if member.user_id and member.user_id != user.id else None
    # One LINE account is one member: a user who was someone else's account is moved over.
    session.execute(update(Member).where(Member.user_id == user.id, Member.id != member.id)
                    .values(user_id=None, linked_at=None))
    session.flush()
    member.user_id, member.linked_at = user.id, now
    session.flush()
    return LinkResult("linked", member, previous)


def unlink(session: Session, *, member: Member, outbox: Outbox) -> None:
    """The member's LINE account no longer acts for them (a new code links another account); it gets the
    residents' rich menu back."""
    user = session.get(User, member.user_id) if member.user_id else None
    member.user_id, member.linked_at = None, None
    session.flush()
    if user is not None:
        outbox.switch_menu(session, user=user, menu=None)


def member_of(session: Session, user: User | None) -> Member | None:
    if user is None:
        return None
    return session.scalars(select(Member).where(Member.user_id == user.id, Member.active.is_(True))).one_or_none()
