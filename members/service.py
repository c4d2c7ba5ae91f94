"""Members, their 部会 and their link codes. Commands take a Work (bot.work) and write the audit log; the caller's
unit of work commits.

部会 are a list staff manage (create, rename, merge, retire): a member's 部会 is chosen from it and must exist, so a
typo can no longer make a new 部会. A retired 部会 is offered in no new form or audience but stays on past records;
a retired member (退任) is unlinked, in no new audience, and stays in past results and attendance."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import ColumnElement, Select, bindparam, delete, func, or_, select
from sqlalchemy.orm import Session

from bot import clock
from bot.inputs import OptionalText, Refused, Text, field_error, partial, validate
from bot.work import Work
from db.models import Broadcast, Event, LinkAttempt, LinkCode, Member, Subcommittee, Survey, User

# No 0/O, 1/I/L, so a code read aloud or printed cannot be misread.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_TTL = dt.timedelta(days=14)
MAX_WRONG_TRIES = 5
WRONG_TRY_WINDOW = dt.timedelta(minutes=10)
_CODE_SHAPE = re.compile(r"^(?:登録|とうろく|コード)?[:：\s]*([A-Z0-9]{4})[-ー－\s]?([A-Z0-9]{4})$")
_PHONE = re.compile(r"^\+?[0-9][0-9() -]*[0-9]$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_DASHES = str.maketrans({"ー": "-", "‐": "-", "−": "-", "―": "-", "–": "-", "—": "-"})


class ContactMethod(StrEnum):
    """How a member prefers to be reached (issue #17 sends by it)."""

    LINE = "line"
    PHONE = "phone"
    PAPER = "paper"

    @property
    def label(self) -> str:
        return CONTACT_LABELS[self]


CONTACT_LABELS = {ContactMethod.LINE: "LINE", ContactMethod.PHONE: "電話", ContactMethod.PAPER: "紙"}


def clean_name(name: str) -> str:
    """A person's or a 部会's name as stored: full-width spaces made plain, runs of spaces made one. Nothing else
    is folded (NFKC would change some kanji of people's names)."""
    return re.sub(r"\s+", " ", name.replace("\u3000", " ")).strip()


def fold(name: str) -> str:
    """A name for comparing: NFKC, lower case, without spaces and separators (・, 、, hyphens) and without a
    trailing 部会, so 「子育て健康部会」, 「子育て・健康部会」 and 「子育て・健康」 are the same."""
    folded = unicodedata.normalize("NFKC", name).lower()
    folded = re.sub(r"[\s・･·、，,.。_\-]+", "", folded)
    return folded.removesuffix("部会") or folded


class MemberInput(BaseModel):
    """A council member as staff register them (console, API, import, demo data). The 部会 must be one of the list
    (members.service.create_subcommittee makes one)."""

    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1, max_length=100, title="氏名")
    subcommittee: OptionalText = Field(None, max_length=100, title="部会",
                                       description="the name of an existing, active 部会 (GET /subcommittees)")
    term_end: dt.date | None = Field(None, title="任期", description="the last day of the term of office")
    phone: OptionalText = Field(None, max_length=30, title="電話")
    email: OptionalText = Field(None, max_length=254, title="メール")
    contact_method: ContactMethod | None = Field(None, title="連絡方法",
                                                 description="preferred: line, phone or paper; null: not said")

    @field_validator("name")
    @classmethod
    def _clean_name(cls, name: str) -> str:
        return clean_name(name)

    @field_validator("term_end")
    @classmethod
    def _term_in_range(cls, day: dt.date | None) -> dt.date | None:
        if day is not None and not 2000 <= day.year <= 2100:
            raise field_error("year_range", "must be between the years 2000 and 2100",
                              "2000年から2100年までの日付にしてください")
        return day

    @field_validator("phone")
    @classmethod
    def _phone(cls, phone: str | None) -> str | None:
        if phone is None:
            return None
        folded = unicodedata.normalize("NFKC", phone).translate(_DASHES).strip()
        if not _PHONE.match(folded) or sum(c.isdigit() for c in folded) < 6:
            raise field_error("phone", "digits and hyphens, e.g. 06-6576-9625",
                              "数字とハイフンで入れてください（例: 06-6576-9625）")
        return folded

    @field_validator("email")
    @classmethod
    def _email(cls, email: str | None) -> str | None:
        if email is None:
            return None
        folded = unicodedata.normalize("NFKC", email).strip()
        if not _EMAIL.match(folded):
            raise field_error("email", "not an e-mail address",
                              "メールアドレスが正しくありません（例: minato@example.jp）")
        return folded


MemberChange = partial(MemberInput, "MemberChange",
                       "Only the fields given change; the result must be a valid member (the 部会 one of the list).")


class SubcommitteeInput(BaseModel):
    """A 部会's name (create, rename)."""

    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1, max_length=100, title="部会名")

    @field_validator("name")
    @classmethod
    def _clean(cls, name: str) -> str:
        return clean_name(name)


class MergeInput(BaseModel):
    """Merge this 部会 into another: its members, meetings and survey audiences move there; it is deleted."""

    model_config = ConfigDict(extra="forbid")

    into: Text = Field(min_length=1, max_length=100, title="統合先の部会", description="the 部会 that stays (name)")


# --------------------------------------------------------------------------- 部会


def find_subcommittee(session: Session, name: str) -> Subcommittee | None:
    """The 部会 of exactly this name, active or retired (past records keep a retired one)."""
    return session.scalars(select(Subcommittee).where(Subcommittee.name == clean_name(name))).one_or_none()


def subcommittee_name(session: Session, subcommittee_id: int | None) -> str | None:
    if subcommittee_id is None:
        return None
    return session.scalar(select(Subcommittee.name).where(Subcommittee.id == subcommittee_id))


def subcommittee_names(session: Session, *, also: str | None = None) -> list[str]:
    """The active 部会, in the order they were made (the choices of the console's forms); `also` adds a retired one
    a record already has (editing a past meeting keeps its 部会)."""
    names = list(session.scalars(select(Subcommittee.name).where(Subcommittee.active.is_(True))
                                 .order_by(Subcommittee.id)))
    return [*names, also] if also and also not in names else names


def subcommittee_ids(session: Session, names: list[str]) -> tuple[list[int], list[str]]:
    """The ids of the named active 部会, and the names that are no active 部会 (for new audiences)."""
    wanted = list(dict.fromkeys(clean_name(n) for n in names if n.strip()))
    found = dict(session.execute(select(Subcommittee.name, Subcommittee.id).where(
        Subcommittee.name.in_(wanted), Subcommittee.active.is_(True))).all())
    return [found[n] for n in wanted if n in found], [n for n in wanted if n not in found]


def with_subcommittees(query: Select[tuple[Member]] | None = None) -> Select[tuple[Member, str | None]]:
    """Members (active ones unless the query says otherwise) with their 部会's name."""
    base = query if query is not None else select(Member).where(Member.active.is_(True))
    return base.add_columns(Subcommittee.name).outerjoin(Subcommittee, Subcommittee.id == Member.subcommittee_id)


def serving_at(moment: dt.datetime) -> ColumnElement[bool]:
    """A filter on Member: members who were in office at that moment (active, or retired after it): a survey's
    response rate counts those it asked, not those who retired before it opened."""
    return or_(Member.active.is_(True), Member.retired_at > moment)


def resolve_subcommittee(session: Session, name: str | None, field: str = "subcommittee") -> Subcommittee | None:
    """The active 部会 of this name for a member; a name that is no active 部会 is refused, with the names that are
    (in Japanese, for the console and the API alike)."""
    if name is None:
        return None
    found = find_subcommittee(session, name)
    if found is not None and found.active:
        return found
    names = subcommittee_names(session)
    choices = "、".join(f"「{n}」" for n in names) if names else "（まだありません。先に部会を作ってください）"
    if found is not None:
        raise Refused(f"部会: 「{found.name}」は廃止された部会です。次から選んでください: {choices}", field)
    similar = [n for n in names if fold(n) == fold(name)]
    hint = f"（「{similar[0]}」のことですか？）" if similar else ""
    raise Refused(f"部会: 「{clean_name(name)}」という部会はありません{hint}。次から選んでください: {choices}", field)


@dataclass
class SubcommitteeRow:
    subcommittee: Subcommittee
    members: int  # active members
    retired_members: int
    events: int
    surveys: int


def subcommittee_rows(session: Session) -> list[SubcommitteeRow]:
    """Every 部会 (active first, then retired) with what refers to it."""
    counts: dict[tuple[int, bool], int] = {
        (sid, active): int(n) for sid, active, n in session.execute(
            select(Member.subcommittee_id, Member.active, func.count()).where(Member.subcommittee_id.is_not(None))
            .group_by(Member.subcommittee_id, Member.active))}
    events = dict(session.execute(select(Event.subcommittee_id, func.count()).where(
        Event.subcommittee_id.is_not(None)).group_by(Event.subcommittee_id)).all())
    surveys: dict[int, int] = {}
    for ids in session.scalars(select(Survey.audience_subcommittee_ids)):
        for sid in set(ids or []):
            surveys[sid] = surveys.get(sid, 0) + 1
    subs = session.scalars(select(Subcommittee).order_by(Subcommittee.active.desc(), Subcommittee.id))
    return [SubcommitteeRow(s, counts.get((s.id, True), 0), counts.get((s.id, False), 0), int(events.get(s.id, 0)),
                            surveys.get(s.id, 0)) for s in subs]


def _check_new_name(session: Session, name: str, *, other_than: int | None = None) -> None:
    for existing in session.scalars(select(Subcommittee)):
        if existing.id == other_than:
            continue
        if existing.name == name:
            retired = "" if existing.active else "（廃止済みです。部会の一覧で再開できます）"
            raise Refused(f"部会名: 「{name}」はすでにあります{retired}", "name")
        if fold(existing.name) == fold(name):
            raise Refused(f"部会名: 「{existing.name}」と同じ部会に見えます（「・」や空白のちがいだけです）。"
                          "ちがう部会なら、はっきりちがう名前にしてください", "name")


def create_subcommittee(work: Work, name: str) -> Subcommittee:
    """A new 部会 (a name that only differs from an existing one by 「・」, spaces or 部会 is refused)."""
    data: SubcommitteeInput = validate(SubcommitteeInput, {"name": name})
    _check_new_name(work.session, data.name)
    sub = Subcommittee(name=data.name, active=True)
    work.session.add(sub)
    work.session.flush()
    work.audit("subcommittee.create", f"subcommittee:{sub.id}", sub.name)
    return sub


def rename_subcommittee(work: Work, sub: Subcommittee, name: str) -> None:
    """A new name; its members, meetings and surveys keep it (they refer to it by id), and broadcasts not sent
    yet follow (their audience names it)."""
    data: SubcommitteeInput = validate(SubcommitteeInput, {"name": name})
    if data.name == sub.name:
        return
    _check_new_name(work.session, data.name, other_than=sub.id)
    before, sub.name = sub.name, data.name
    work.session.flush()
    _rename_in_pending_broadcasts(work.session, {before}, data.name)
    work.audit("subcommittee.rename", f"subcommittee:{sub.id}", f"{before} → {data.name}")


@dataclass
class Merged:
    members: int
    events: int
    surveys: int
    broadcasts: int


def merge_subcommittees(work: Work, source: Subcommittee, into: str) -> Merged:
    """Merge `source` into the 部会 named `into`: its members (retired ones too, so past results read the same),
    meetings and events, survey audiences and broadcasts not sent yet move there, and `source` is deleted."""
    session = work.session
    data: MergeInput = validate(MergeInput, {"into": into})
    target = find_subcommittee(session, data.into)
    if target is None:
        raise Refused(f"統合先の部会: 「{data.into}」という部会はありません", "into")
    if target.id == source.id:
        raise Refused("統合先の部会: 同じ部会には統合できません。ほかの部会を選んでください", "into")
    if not target.active:
        raise Refused(f"統合先の部会: 「{target.name}」は廃止されています。再開してから統合してください", "into")
    moved = Merged(0, 0, 0, 0)
    moved.members = session.execute(sa.update(Member).where(Member.subcommittee_id == source.id)
                                    .values(subcommittee_id=target.id)).rowcount or 0
    moved.events = session.execute(sa.update(Event).where(Event.subcommittee_id == source.id)
                                   .values(subcommittee_id=target.id)).rowcount or 0
    for survey in session.scalars(select(Survey)):
        ids = list(survey.audience_subcommittee_ids or [])
        if source.id in ids:
            survey.audience_subcommittee_ids = sorted({target.id if i == source.id else i for i in ids})
            moved.surveys += 1
    moved.broadcasts = _rename_in_pending_broadcasts(session, {source.name}, target.name)
    session.flush()
    work.audit("subcommittee.merge", f"subcommittee:{target.id}",
               f"{source.name} → {target.name}（委員{moved.members}人、イベント{moved.events}件、"
               f"アンケート{moved.surveys}件、配信{moved.broadcasts}件）")
    session.delete(source)
    session.flush()
    return moved


def _rename_in_pending_broadcasts(session: Session, old: set[str], new: str) -> int:
    """Broadcasts not sent yet name their 部会 audience: they follow a rename or a merge. Sent ones keep the name
    they were sent under."""
    changed = 0
    for broadcast in session.scalars(select(Broadcast).where(Broadcast.status.in_(("draft", "scheduled")))):
        audience = broadcast.audience or {}
        names = audience.get("subcommittees") or []
        if audience.get("kind") == "subcommittees" and old & set(names):
            broadcast.audience = {**audience,
                                  "subcommittees": sorted({new if n in old else n for n in names})}
            changed += 1
    return changed


def retire_subcommittee(work: Work, sub: Subcommittee) -> None:
    """No longer offered for members, meetings or audiences; past records keep it. Its members must be moved (or
    the 部会 merged) first, so no active member belongs to a retired 部会."""
    if not sub.active:
        return
    remaining = work.session.scalar(select(func.count()).select_from(Member).where(
        Member.subcommittee_id == sub.id, Member.active.is_(True))) or 0
    if remaining:
        raise Refused(f"「{sub.name}」には まだ委員が{remaining}人います。先に委員の部会を変えるか、"
                      "ほかの部会に統合してください")
    sub.active, sub.retired_at = False, clock.now()
    work.session.flush()
    work.audit("subcommittee.retire", f"subcommittee:{sub.id}", sub.name)


def restore_subcommittee(work: Work, sub: Subcommittee) -> None:
    """A retired 部会 is offered again."""
    if sub.active:
        return
    sub.active, sub.retired_at = True, None
    work.session.flush()
    work.audit("subcommittee.restore", f"subcommittee:{sub.id}", sub.name)


# --------------------------------------------------------------------------- members


FIELD_LABELS = {"name": "氏名", "subcommittee": "部会", "term_end": "任期", "phone": "電話", "email": "メール",
                "contact_method": "連絡方法"}


def current(session: Session, member: Member) -> dict[str, Any]:
    """The member's fields as MemberInput has them: a change is laid over them and the whole validated again."""
    return {"name": member.name, "subcommittee": subcommittee_name(session, member.subcommittee_id),
            "term_end": member.term_end, "phone": member.phone, "email": member.email,
            "contact_method": member.contact_method}


def _columns(session: Session, data: MemberInput) -> dict[str, Any]:
    sub = resolve_subcommittee(session, data.subcommittee)
    return {"name": data.name, "subcommittee_id": sub.id if sub else None, "term_end": data.term_end,
            "phone": data.phone, "email": data.email,
            "contact_method": data.contact_method.value if data.contact_method else None}


def add_member(session: Session, data: MemberInput) -> Member:
    """The new member's row (no audit line: create() and the import write theirs)."""
    member = Member(**_columns(session, data), active=True)
    session.add(member)
    session.flush()
    return member


def create(work: Work, data: MemberInput) -> Member:
    """Register a member; the 部会 must be an active one of the list."""
    member = add_member(work.session, data)
    work.audit("member.create", f"member:{member.id}", data.name)
    return member


def change_member(session: Session, member: Member, changes: dict[str, Any]) -> list[str]:
    """Apply the changes (validated whole, as a new member would be); the labels of the fields that changed (no
    audit line: update() and the import write theirs)."""
    if not member.active:
        raise Refused("退任した委員は変更できません")
    before = current(session, member)
    data: MemberInput = validate(MemberInput, {**before, **changes})
    after = data.model_dump(mode="python")
    after["contact_method"] = data.contact_method.value if data.contact_method else None
    columns = _columns(session, data)
    changed = [FIELD_LABELS[key] for key in FIELD_LABELS if before[key] != after[key]]
    for key, value in columns.items():
        setattr(member, key, value)
    session.flush()
    return changed


def update(work: Work, member: Member, changes: dict[str, Any]) -> list[str]:
    """Change the fields given (name, 部会, term, contact); returns the labels of what changed."""
    changed = change_member(work.session, member, changes)
    if changed:
        work.audit("member.change", f"member:{member.id}", f"{member.name}（{'・'.join(changed)}）")
    return changed


def retire(work: Work, member: Member) -> None:
    """退任: the LINE account is unlinked (it gets the residents' rich menu back), unused codes stop working, and the
    member is in no new audience; their past answers and attendance stay."""
    if not member.active:
        return
    if member.user_id is not None:
        _unlink(work, member)
    work.session.execute(delete(LinkCode).where(LinkCode.member_id == member.id, LinkCode.used_at.is_(None)))
    member.active, member.retired_at = False, clock.now()
    work.session.flush()
    work.audit("member.retire", f"member:{member.id}", member.name)


# --------------------------------------------------------------------------- link codes


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def code_hash(code: str) -> str:
    """The stored form of a code (8 characters, without the hyphen)."""
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
    session.add(LinkCode(member_id=member.id, code_hash=code_hash(code), expires_at=expires_at))
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
    # locked: two accounts sending one code at the same moment (two processes, or two lanes of one) cannot both
    # redeem it; the second sees it used
    row = session.scalars(select(LinkCode).where(LinkCode.code_hash == code_hash(code)).with_for_update()
                          ).one_or_none()
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
    session.execute(sa.update(Member).where(Member.user_id == user.id, Member.id != member.id)
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
    _unlink(work, member)
    work.audit("member.unlink", f"member:{member.id}", member.name)


def _unlink(work: Work, member: Member) -> None:
    session = work.session
    user = session.get(User, member.user_id) if member.user_id else None
    member.user_id, member.linked_at = None, None
    session.flush()
    if user is not None:
        work.outbox.switch_menu(session, user=user, menu=None)


_MEMBER_OF = select(Member).where(Member.user_id == bindparam("user_id"), Member.active.is_(True))  # (built once)


def member_of(session: Session, user: User | None) -> Member | None:
    if user is None:
        return None
    return session.scalars(_MEMBER_OF, {"user_id": user.id}).one_or_none()
