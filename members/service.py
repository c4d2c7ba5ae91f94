"""Members, their 部会 and their link codes. Commands take a Work (bot.work) and write the audit log; the caller's
unit of work commits."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from bot import clock
from bot.inputs import OptionalText, Text
from bot.work import Work
from db.models import LinkAttempt, LinkCode, Member, Subcommittee, User

# No 0/O, 1/I/L, so a code read aloud or printed cannot be misread.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_TTL = dt.timedelta(days=14)
MAX_WRONG_TRIES = 5
WRONG_TRY_WINDOW = dt.timedelta(minutes=10)
_CODE_SHAPE = re.compile(r"^(?:登録|とうろく|コード)?[:：\s]*([A-Z0-9]{4})[-ー－\s]?([A-Z0-9]{4})$")


class MemberInput(BaseModel):
    """A council member as staff register them (console, API, demo data)."""

    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1, max_length=100, title="名前")
    subcommittee: OptionalText = Field(None, max_length=100, title="部会", description="部会 name")
    term_end: dt.date | None = Field(None, title="任期")


# --------------------------------------------------------------------------- 部会


def find_subcommittee(session: Session, name: str) -> Subcommittee | None:
    return session.scalars(select(Subcommittee).where(Subcommittee.name == name.strip())).one_or_none()


def subcommittee_name(session: Session, subcommittee_id: int | None) -> str | None:
    if subcommittee_id is None:
        return None
    return session.scalar(select(Subcommittee.name).where(Subcommittee.id == subcommittee_id))


def subcommittee_names(session: Session) -> list[str]:
    """Every 部会, in the order they were made (for the console's choices)."""
    return list(session.scalars(select(Subcommittee.name).order_by(Subcommittee.id)))


def subcommittee_ids(session: Session, names: list[str]) -> tuple[list[int], list[str]]:
    """The ids of the named 部会, and the names that are no 部会."""
    wanted = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    found = dict(session.execute(select(Subcommittee.name, Subcommittee.id).where(Subcommittee.name.in_(wanted))).all())
    return [found[n] for n in wanted if n in found], [n for n in wanted if n not in found]


def subcommittee_by_name(session: Session, name: str) -> Subcommittee:
    """The subcommittee with this name, created if new."""
    found = find_subcommittee(session, name)
    if found is None:
        found = Subcommittee(name=name.strip())
        session.add(found)
        session.flush()
    return found


def with_subcommittees(query: Select[tuple[Member]] | None = None) -> Select[tuple[Member, str | None]]:
    """Members (active ones unless the query says otherwise) with their 部会's name."""
    base = query if query is not None else select(Member).where(Member.active.is_(True))
    return base.add_columns(Subcommittee.name).outerjoin(Subcommittee, Subcommittee.id == Member.subcommittee_id)


# --------------------------------------------------------------------------- commands


def create(work: Work, data: MemberInput) -> Member:
    """Register a member (a 部会 named for the first time is created)."""
    session = work.session
    member = Member(name=data.name, term_end=data.term_end,
                    subcommittee_id=subcommittee_by_name(session, data.subcommittee).id if data.subcommittee else None)
    session.add(member)
    session.flush()
    work.audit("member.create", f"member:{member.id}", data.name)
    return member


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def issue_link_codes(work: Work, members: list[Member], *, ttl: dt.timedelta = CODE_TTL
                     ) -> list[tuple[Member, str, dt.datetime]]:
    """New one-time codes for these members (shown once; only hashes are stored); their older unused codes stop
    working. The audit line names the members."""
    issued = [(member, *_new_code(work.session, member=member, ttl=ttl)) for member in members]
    if issued:
        names = "、".join(member.name for member in members)
        work.audit("member.codes", ",".join(f"member:{m.id}" for m in members)[:100],
                   f"{len(issued)}人分のコードを発行: {names}")
    return issued


def _new_code(session: Session, *, member: Member, ttl: dt.timedelta) -> tuple[str, dt.datetime]:
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


def link(work: Work, *, user: User, code: str) -> LinkResult:
    """Link the LINE user to the member whose code this is. Wrong codes count towards a lock-out. A member's
    account gets the members' rich menu; the account they used before gets the residents' one back."""
    session = work.session
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
    work.outbox.switch_menu(session, user=user, menu="member")
    if previous is not None:
        work.outbox.switch_menu(session, user=previous, menu=None)
    work.audit("member.link", f"member:{member.id}", member.name)
    return LinkResult("linked", member, previous)


def unlink(work: Work, member: Member) -> None:
    """The member's LINE account no longer acts for them (a new code links another account); it gets the
    residents' rich menu back."""
    session = work.session
    user = session.get(User, member.user_id) if member.user_id else None
    member.user_id, member.linked_at = None, None
    session.flush()
    if user is not None:
        work.outbox.switch_menu(session, user=user, menu=None)
    work.audit("member.unlink", f"member:{member.id}", member.name)


def member_of(session: Session, user: User | None) -> Member | None:
    if user is None:
        return None
    return session.scalars(select(Member).where(Member.user_id == user.id, Member.active.is_(True))).one_or_none()
