"""Opinions: what residents and members send (or staff enter), their life in the office, the answer pushed back to
the sender quoting their own message, the sender's rating of it, the figures, and the published table per meeting.

Life of an opinion (README, "Feedback loop"): 受付 → 検討中 → 回答済 → 反映済, or 対応困難 with its reason; an
assigned 担当課 (a list the office edits), a due date (overdue while not answered), and an internal memo that never
leaves the console: not in what the sender reads in LINE, not on the public page, not in its downloads.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import statistics
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import clock, sheets
from bot.inputs import OptionalText, Refused, Text
from bot.work import Work
from db.models import Department, Event, Member, Opinion, User
from events.schema import MEETINGS
from opinions import messages
from surveys import definition
from surveys import results as survey_results

CATEGORIES = ("区政情報", "まちの魅力", "その他")
PRE_MEETING = "事前意見"  # the category of a member's opinion on a meeting
# The stored values stay those of before (unread, in_progress, answered); the labels are the office's words.
STATUSES = {"unread": "受付", "in_progress": "検討中", "answered": "回答済", "reflected": "反映済",
            "difficult": "対応困難"}
OPEN = ("unread", "in_progress")  # not answered yet: a due date before today is overdue
# Where staff may move an opinion. 回答済 is reached by sending the answer (reply()); 回答済 and 反映済 need one.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "unread": ("in_progress", "difficult"),
    "in_progress": ("unread", "difficult"),
    "answered": ("in_progress", "reflected", "difficult"),
    "reflected": ("answered", "difficult"),
    "difficult": ("in_progress", "answered", "reflected"),
}
NEEDS_ANSWER = ("answered", "reflected")
SOURCES = {"line": "LINE", "meeting": "会議で", "paper": "紙", "phone": "電話"}
STAFF_SOURCES = ("meeting", "paper", "phone")
RATINGS = {"enough": "十分", "mostly": "まあ十分", "not_enough": "不十分"}
SATISFIED = ("enough", "mostly")  # what counts towards the share satisfied
TEXT_LIMIT = 2000
REPLY_LIMIT = 4000
MEMO_LIMIT = 4000
REASON_LIMIT = 1000
COMMENT_LIMIT = 1000
FEEDBACK_TEMPLATE = "council-questionnaire.yaml"
FEEDBACK_QUESTION = "feedback"  # its indicator: 適切なフィードバックが行われたと感じる委員の割合


# What an opinion typed straight into the chat tends to say: a wish, a request, a complaint (「ベンチをふやして
# ください」, 「〜してほしい」, 「〜が危ないです」). Questions about events go to events first; this is asked only of
# text nothing else understood, and only to offer sending it, never to send it unasked.
_OPINION_MARKERS = re.compile(
    r"(ください|下さい|ほしい|欲しい|してほしい|もらいたい|いただきたい|頂きたい|べき|要望|希望|困って|こまって|不便|"
    r"ふべん|危ない|あぶない|危険|改善|なおして|直して|ふやして|増やして|へらして|減らして|やめて|止めて|"
    r"思います|おもいます|思う|おもう|と良い|といい|たらいい|たら良い|残念|うるさい|汚い|きたない|暗い|くらい道)")


def looks_like_opinion(body: str) -> bool:
    """A typed text that reads like an opinion for the ward office (offered to send, not sent unasked)."""
    body = body.strip()
    if len(body) < 6 or body.endswith(("?", "？")):
        return False
    return bool(_OPINION_MARKERS.search(body)) or len(body) >= 40


def parts(body: str, limit: int = TEXT_LIMIT) -> list[str]:
    """A text too long for one opinion, cut into parts of at most limit characters, at a line or a sentence end
    where one is near."""
    out: list[str] = []
    while len(body) > limit:
        cut = max(body.rfind("\n", 0, limit), body.rfind("。", 0, limit) + 1)
        if cut < limit // 2:
            cut = limit
        out.append(body[:cut].strip())
        body = body[cut:].strip()
    if body:
        out.append(body)
    return out


# --------------------------------------------------------------------------- input models


class ReplyInput(BaseModel):
    """The ward's answer to an opinion (console, API)."""

    text: Text = Field(min_length=1, max_length=REPLY_LIMIT, title="返信")


class OpinionEntry(BaseModel):
    """An opinion staff enter: said at a meeting, sent on paper, told by phone (console, API)."""

    text: Text = Field(min_length=1, max_length=TEXT_LIMIT, title="ご意見")
    source: Literal["meeting", "paper", "phone"] = Field(title="受け付けた方法")
    category: Literal["区政情報", "まちの魅力", "その他", "事前意見"] = Field("その他", title="分野")
    event_id: int | None = Field(None, ge=1, le=2_147_483_647, title="会議")
    member_id: int | None = Field(None, ge=1, le=2_147_483_647, title="委員")
    name: OptionalText = Field(None, max_length=100, title="お名前")
    name_consent: bool = Field(False, title="お名前の公開", description="the member agreed to their name in the "
                               "published table (only a member's name is ever shown)")
    received_on: dt.date | None = Field(None, title="受付日", description="default: today (JST)")
    department_id: int | None = Field(None, ge=1, le=2_147_483_647, title="担当課")
    due_on: dt.date | None = Field(None, title="回答期限")
    memo: OptionalText = Field(None, max_length=MEMO_LIMIT, title="内部メモ")
    public: bool = Field(False, title="公開")


class OpinionChange(BaseModel):
    """A change staff make to an opinion: only the fields given change (null clears 担当課, 期限, メモ, 会議)."""

    status: Literal["unread", "in_progress", "answered", "reflected", "difficult"] | None = Field(
        None, title="状態")
    reason: OptionalText = Field(None, max_length=REASON_LIMIT, title="対応困難の理由")
    department_id: int | None = Field(None, ge=1, le=2_147_483_647, title="担当課")
    due_on: dt.date | None = Field(None, title="回答期限")
    memo: OptionalText = Field(None, max_length=MEMO_LIMIT, title="内部メモ")
    public: bool | None = Field(None, title="公開")
    event_id: int | None = Field(None, ge=1, le=2_147_483_647, title="会議")


class DepartmentInput(BaseModel):
    """A 担当課 of the list the office edits."""

    name: Text = Field(min_length=1, max_length=100, title="担当課の名前")


# --------------------------------------------------------------------------- commands: from LINE


def record(work: Work, *, user: User, category: str, body: str, name: str | None = None,
           event: Event | None = None, member: Member | None = None, quote_token: str | None = None) -> Opinion:
    """An opinion a resident or member sent in LINE. quote_token: LINE's quoteToken of the message it came in
    (the answer quotes it); member: the member who sent it (their name may be shown in the published table once
    they agree: name_consent, asked afterwards, no until then)."""
    opinion = Opinion(user_id=user.id, kind="pre_meeting" if event else "opinion", category=category,
                      event_id=event.id if event else None, text=body[:TEXT_LIMIT], name=(name or None),
                      member_id=member.id if member else None, quote_token=(quote_token or None) and quote_token[:255],
                      source="line", created_at=clock.now())
    work.session.add(opinion)
    work.session.flush()
    work.audit("opinion.receive", f"opinion:{opinion.id}", category)
    return opinion


def set_consent(work: Work, *, user: User, first: int, last: int, consent: bool) -> int:
    """The member's answer to 「会議の資料で お名前を出しても いいですか？」 for the opinions they just sent (ids
    first to last, theirs only); returns how many it covered (0: a stale button)."""
    found = list(work.session.scalars(select(Opinion).where(
        Opinion.id.between(first, last), Opinion.user_id == user.id, Opinion.member_id.is_not(None))))
    for opinion in found:
        opinion.name_consent = consent
    return len(found)


def rate(work: Work, *, user: User, opinion_id: int, rating: str, answer: int) -> tuple[str, Opinion | None]:
    """The sender's tap on 十分 / まあ十分 / 不十分 under the answer: ('rated', opinion); ('already', opinion) for a
    second tap on the same answer; ('stale', None) for a button of an older answer, someone else's, or made up."""
    opinion = work.session.get(Opinion, opinion_id)
    if (opinion is None or opinion.user_id != user.id or rating not in RATINGS or opinion.replied_at is None
            or answer != answer_version(opinion)):
        return "stale", None
    if opinion.rated_at is not None:
        return "already", opinion
    opinion.rating, opinion.rated_at = rating, clock.now()
    return "rated", opinion


def comment(work: Work, *, user: User, opinion_id: int, body: str) -> bool:
    """The sender's optional comment after their rating."""
    opinion = work.session.get(Opinion, opinion_id)
    if opinion is None or opinion.user_id != user.id or opinion.rated_at is None:
        return False
    opinion.rating_comment = body[:COMMENT_LIMIT]
    return True


def awaiting_rating(session: Session, user: User) -> Opinion | None:
    """The user's latest answered opinion not rated yet (a rating's label typed rather than tapped)."""
    return session.scalars(select(Opinion).where(
        Opinion.user_id == user.id, Opinion.replied_at.is_not(None), Opinion.rated_at.is_(None))
        .order_by(Opinion.replied_at.desc(), Opinion.id.desc()).limit(1)).first()


def of_user(session: Session, user: User, limit: int = 10) -> tuple[list[Opinion], int]:
    """What the user sent, latest first (at most limit), and how many in all: 「わたしの意見」."""
    total = int(session.scalar(select(func.count()).select_from(Opinion).where(Opinion.user_id == user.id)) or 0)
    rows = list(session.scalars(select(Opinion).where(Opinion.user_id == user.id)
                                .order_by(Opinion.created_at.desc(), Opinion.id.desc()).limit(limit)))
    return rows, total


def answer_version(opinion: Opinion) -> int:
    """Which answer a rating button belongs to (its time in hundredths of a second: 12 digits, as postback numbers
    may be): a new answer makes the older buttons stale."""
    return int(opinion.replied_at.timestamp() * 100) if opinion.replied_at else 0


# --------------------------------------------------------------------------- commands: staff


def _department(session: Session, department_id: int | None, *, allow_retired: int | None = None
                ) -> Department | None:
    if department_id is None:
        return None
    department = session.get(Department, department_id)
    if department is None or (not department.active and department.id != allow_retired):
        raise Refused("担当課は 一覧から えらんでください", "department_id", "unknown or retired department")
    return department


def _meeting(session: Session, event_id: int | None) -> Event | None:
    if event_id is None:
        return None
    event = session.get(Event, event_id)
    if event is None or event.kind not in MEETINGS:
        raise Refused("会議は 一覧から えらんでください", "event_id", "not a council meeting")
    return event


def enter(work: Work, data: OpinionEntry) -> Opinion:
    """An opinion staff enter (said at a meeting, on paper, by phone), tied to a meeting and, where known, a
    member (their name from the member record)."""
    session = work.session
    event = _meeting(session, data.event_id)
    department = _department(session, data.department_id)
    member = session.get(Member, data.member_id) if data.member_id else None
    if data.member_id and member is None:
        raise Refused("委員は 一覧から えらんでください", "member_id", "unknown member")
    if data.source == "meeting" and event is None:
        raise Refused("会議で出たご意見は、会議をえらんでください", "event_id", "an opinion said at a meeting needs it")
    received = clock.now()
    if data.received_on is not None and data.received_on != clock.today_jst():
        received = dt.datetime.combine(data.received_on, dt.time(12), clock.JST).astimezone(dt.UTC)
        if received > clock.now():
            raise Refused("受付日は 今日までの日にしてください", "received_on", "must not be in the future")
    opinion = Opinion(
        user_id=member.user_id if member else None, kind="opinion", category=data.category,
        event_id=event.id if event else None, text=data.text, name=member.name if member else data.name,
        member_id=member.id if member else None, name_consent=bool(member and data.name_consent),
        source=data.source, department_id=department.id if department else None, due_on=data.due_on,
        memo=data.memo, public=data.public, created_at=received)
    session.add(opinion)
    session.flush()
    where = f"{SOURCES[data.source]}" + (f"・{event.title}" if event else "") + (f"・{member.name}" if member else "")
    work.audit("opinion.enter", f"opinion:{opinion.id}", f"{where}: {data.text[:200]}")
    return opinion


def update(work: Work, opinion: Opinion, change: OpinionChange) -> list[str]:
    """Staff's change to an opinion: only the fields given. Refused (naming the field): a move the life cycle does
    not allow, 回答済 / 反映済 without an answer, 対応困難 without a reason, a retired or unknown 担当課 or a
    meeting that is not one. Each change is in the audit log; the memo's text is not. Returns what changed."""
    given = change.model_fields_set
    session = work.session
    changed: list[str] = []
    if "reason" in given and change.reason != opinion.reason:
        opinion.reason = change.reason
        changed.append(f"理由: {change.reason or '（なし）'}")
    if "status" in given and change.status is not None and change.status != opinion.status:
        status, before = change.status, opinion.status
        if status not in TRANSITIONS[before]:
            raise Refused(f"「{STATUSES[before]}」から「{STATUSES[status]}」には変えられません"
                          + ("（回答を送ると 回答済 になります）" if status == "answered" else ""), "status",
                          f"cannot go from {before} to {status}")
        if status in NEEDS_ANSWER and not opinion.reply_text:
            raise Refused(f"「{STATUSES[status]}」にするには、先に回答を送ってください", "status",
                          f"{status} needs an answer first")
        opinion.status = status
        work.audit("opinion.status", f"opinion:{opinion.id}", f"{STATUSES[before]} → {STATUSES[status]}"
                   + (f": {opinion.reason}" if status == "difficult" and opinion.reason else ""))
    if opinion.status == "difficult" and not opinion.reason:
        raise Refused("対応困難にするときは、理由を入れてください", "reason", "a reason is required for difficult")
    if "department_id" in given and change.department_id != opinion.department_id:
        department = _department(session, change.department_id)
        opinion.department_id = department.id if department else None
        changed.append(f"担当課: {department.name if department else '（なし）'}")
    if "due_on" in given and change.due_on != opinion.due_on:
        opinion.due_on = change.due_on
        changed.append(f"回答期限: {clock.format_date(change.due_on) if change.due_on else '（なし）'}")
    if "event_id" in given and change.event_id != opinion.event_id:
        event = _meeting(session, change.event_id)
        opinion.event_id = event.id if event else None
        changed.append(f"会議: {event.title if event else '（なし）'}")
    if "public" in given and change.public is not None and change.public != opinion.public:
        opinion.public = change.public
        changed.append("公開にする" if change.public else "公開をやめる")
    if "memo" in given and change.memo != opinion.memo:
        opinion.memo = change.memo
        changed.append("内部メモを変更")  # the memo's text stays out of the log
    if changed:
        work.audit("opinion.change", f"opinion:{opinion.id}", "、".join(changed))
    return changed


def set_status(work: Work, opinion: Opinion, status: str, reason: str | None = None) -> None:
    if status not in STATUSES:
        raise ValueError(f"unknown opinion status {status!r}")
    values: dict[str, Any] = {"status": status}
    if reason is not None:
        values["reason"] = reason
    update(work, opinion, OpinionChange(**values))


def reply(work: Work, opinion: Opinion, data: ReplyInput) -> bool:
    """Push staff's answer (the ward's 対応・考え方) to the sender, if they can still be reached, quoting their own
    message, with 「この回答で 十分でしたか？」 under it; the opinion becomes 回答済 (from 受付 / 検討中). Written in
    the quiet hours, it leaves in the morning (Work.not_before). A new answer asks for a new rating."""
    user = work.session.get(User, opinion.user_id) if opinion.user_id else None
    now = clock.now()
    opinion.reply_text, opinion.replied_at = data.text, now
    opinion.first_replied_at = opinion.first_replied_at or now
    opinion.rating = opinion.rating_comment = opinion.rated_at = None
    if opinion.status in OPEN:
        opinion.status = "answered"
    sent = False
    not_before = work.not_before()  # written at night, it reaches the person in the morning
    if user is not None and user.is_reachable:
        sent = bool(work.outbox.push(work.session, user=user, messages=messages.answer(opinion, user.language),
                                     source=f"opinion:{opinion.id}", not_before=not_before))
    how = ("LINEで送信" if not_before <= now else f"LINEで{clock.format_jst(not_before)}に送信") if sent \
        else "送信先なし（ブロック、職員の入力等）"
    work.audit("opinion.reply", f"opinion:{opinion.id}", f"{how}: {data.text[:200]}")
    return sent


def create_department(work: Work, data: DepartmentInput) -> Department:
    if work.session.scalars(select(Department).where(Department.name == data.name)).first() is not None:
        raise Refused(f"「{data.name}」は もうあります", "name", "a department of that name exists")
    department = Department(name=data.name)
    work.session.add(department)
    work.session.flush()
    work.audit("opinion.department", f"department:{department.id}", f"追加: {data.name}")
    return department


def rename_department(work: Work, department: Department, data: DepartmentInput) -> None:
    if data.name == department.name:
        return
    if work.session.scalars(select(Department).where(Department.name == data.name)).first() is not None:
        raise Refused(f"「{data.name}」は もうあります", "name", "a department of that name exists")
    before, department.name = department.name, data.name
    work.audit("opinion.department", f"department:{department.id}", f"名前の変更: {before} → {data.name}")


def set_department_active(work: Work, department: Department, active: bool) -> None:
    """Retire a 担当課 (offered no more; opinions keep it) or bring it back."""
    if department.active == active:
        return
    department.active = active
    work.audit("opinion.department", f"department:{department.id}",
               f"{'再開' if active else '廃止'}: {department.name}")


def departments(session: Session, *, active_only: bool = False) -> list[Department]:
    query = select(Department).order_by(Department.active.desc(), Department.id)
    if active_only:
        query = query.where(Department.active.is_(True))
    return list(session.scalars(query))


# --------------------------------------------------------------------------- figures


def overdue(opinion: Opinion, today: dt.date | None = None) -> bool:
    """Not answered yet and its due date has passed (JST)."""
    return (opinion.status in OPEN and opinion.due_on is not None
            and opinion.due_on < (today or clock.today_jst()))


def days_to_answer(opinion: Opinion) -> float | None:
    """Days from receipt to the first answer (one decimal), or None while not answered."""
    if opinion.first_replied_at is None:
        return None
    return round(max((opinion.first_replied_at - opinion.created_at).total_seconds(), 0) / 86400, 1)


@dataclass(frozen=True)
class _Row:
    created_at: dt.datetime
    first_replied_at: dt.datetime | None
    rating: str | None
    status: str
    due_on: dt.date | None
    department_id: int | None


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _figure(rows: list[_Row], today: dt.date) -> dict[str, Any]:
    answered = [r for r in rows if r.first_replied_at is not None]
    days = [max((r.first_replied_at - r.created_at).total_seconds(), 0) / 86400 for r in answered
            if r.first_replied_at is not None]
    rated = [r for r in rows if r.rating in RATINGS]
    satisfied = sum(1 for r in rated if r.rating in SATISFIED)
    return {
        "opinions": len(rows), "answered": len(answered), "share_answered": _share(len(answered), len(rows)),
        "median_days": round(statistics.median(days), 1) if days else None,
        "rated": len(rated), "satisfied": satisfied, "share_satisfied": _share(satisfied, len(rated)),
        "ratings": {key: sum(1 for r in rated if r.rating == key) for key in RATINGS},
        "overdue": sum(1 for r in rows if r.status in OPEN and r.due_on is not None and r.due_on < today),
    }


@functools.cache
def _feedback_indicator() -> definition.Indicator:
    template = definition.load_file(definition.TEMPLATE_DIR / FEEDBACK_TEMPLATE)
    question = template.question(FEEDBACK_QUESTION)
    assert question is not None and question.indicator is not None, "the council template lost its indicator"
    return question.indicator


def feedback_target(now: dt.datetime | None = None) -> dict[str, Any]:
    """The council template's feedback indicator: the target the share satisfied is shown against (this fiscal
    year's, else the latest one before it, as the survey results choose it) and its baseline."""
    indicator = _feedback_indicator()
    key = survey_results.target_key(indicator.targets, None, survey_results.fiscal_year(now or clock.now()))
    return {"indicator": indicator.name, "target": indicator.targets[key], "target_year": key,
            "baseline": indicator.baseline_percent, "baseline_year": indicator.baseline_year}


def figures(session: Session) -> dict[str, Any]:
    """Overall and per 担当課 (those without one as 未割当): share answered, median days to the first answer, share
    rated 十分 or まあ十分 of those rated, overdue; with the feedback indicator's target. Computed when asked, so a
    tap on a rating shows at once."""
    today = clock.today_jst()
    rows = [_Row(*r) for r in session.execute(select(
        Opinion.created_at, Opinion.first_replied_at, Opinion.rating, Opinion.status, Opinion.due_on,
        Opinion.department_id))]
    target = feedback_target()
    overall = _figure(rows, today)
    by_department = []
    for department in departments(session):
        mine = [r for r in rows if r.department_id == department.id]
        if mine or department.active:
            by_department.append({"id": department.id, "name": department.name, **_figure(mine, today)})
    unassigned = [r for r in rows if r.department_id is None]
    if unassigned:
        by_department.append({"id": None, "name": "未割当", **_figure(unassigned, today)})
    share = overall["share_satisfied"]
    return {"overall": overall, "departments": by_department, "target": target,
            "met": None if share is None else share >= target["target"]}


# --------------------------------------------------------------------------- the published table


@dataclass(frozen=True)
class Published:
    """One row of 「ご意見と区役所の対応・考え方」: no memo, no 担当課, no staff, no resident's name."""

    number: int
    text: str
    name: str | None  # a member's name, only with their consent
    answer: str | None
    status: str
    reason: str | None  # why 対応困難


def public_name(opinion: Opinion) -> str | None:
    """The name the public may read: a member's, and only where they agreed."""
    return opinion.name if opinion.member_id is not None and opinion.name_consent and opinion.name else None


def meeting(session: Session, event_id: int) -> Event | None:
    event = session.get(Event, event_id)
    return event if event is not None and event.kind in MEETINGS else None


def published(session: Session, event: Event) -> list[Published]:
    """The meeting's opinions staff marked 公開, in the order they came."""
    rows = session.scalars(select(Opinion).where(Opinion.event_id == event.id, Opinion.public.is_(True))
                           .order_by(Opinion.created_at, Opinion.id))
    return [Published(i, o.text, public_name(o), o.reply_text, STATUSES[o.status],
                      o.reason if o.status == "difficult" else None) for i, o in enumerate(rows, start=1)]


PUBLISHED_TITLE = "ご意見と区役所の対応・考え方"


def published_table(session: Session, event: Event) -> sheets.Table:
    columns = [sheets.Column("番号", 7), sheets.Column("ご意見", wrap=True), sheets.Column("お名前"),
               sheets.Column("区役所の対応・考え方", wrap=True), sheets.Column("状態")]
    rows = [[p.number, p.text, p.name or "", p.answer or "",
             p.status + (f"（{p.reason}）" if p.reason else "")] for p in published(session, event)]
    when = clock.format_date(event.starts_at)
    return sheets.Table(PUBLISHED_TITLE, columns, rows, preamble=[[f"{event.title}（{when}）"], [PUBLISHED_TITLE]])


def published_csv(session: Session, event: Event) -> bytes:
    return sheets.csv_bytes(published_table(session, event))


def published_xlsx(session: Session, event: Event) -> bytes:
    return sheets.xlsx_bytes([published_table(session, event)], PUBLISHED_TITLE)


def published_name(event: Event, ext: str) -> tuple[str, str]:
    day = event.starts_at.astimezone(clock.JST).date().isoformat()
    return (sheets.file_name(PUBLISHED_TITLE, event.title, day, ext=ext),
            f"opinions-meeting-{event.id}-{day}.{ext}")


def meetings_with_opinions(session: Session) -> list[tuple[Event, int, int]]:
    """Meetings that opinions are tied to, latest first: (meeting, opinions, of them 公開)."""
    rows = session.execute(
        select(Event, func.count(Opinion.id), func.count(Opinion.id).filter(Opinion.public.is_(True)))
        .join(Opinion, Opinion.event_id == Event.id).where(Event.kind.in_(list(MEETINGS)))
        .group_by(Event.id).order_by(Event.starts_at.desc()).limit(50))
    return [(event, int(total), int(public)) for event, total, public in rows]


def meetings(session: Session) -> list[Event]:
    """Council meetings to tie an opinion to, latest first."""
    return list(session.scalars(select(Event).where(Event.kind.in_(list(MEETINGS)))
                                .order_by(Event.starts_at.desc()).limit(100)))


# --------------------------------------------------------------------------- the office's export of everything


def export_table(session: Session) -> sheets.Table:
    """Every opinion, oldest first, with its reply (no memo: the memo stays in the console)."""
    columns = [sheets.Column("番号", 7), sheets.Column("種類"), sheets.Column("分野"), sheets.Column("会議"),
               sheets.Column("お名前"), sheets.Column("ご意見", wrap=True), sheets.Column("状態"),
               sheets.Column("受付日時", 18), sheets.Column("回答", wrap=True), sheets.Column("回答日時", 18)]
    rows = session.execute(select(Opinion, Event.title).outerjoin(Event, Event.id == Opinion.event_id)
                           .order_by(Opinion.id))
    return sheets.Table("ご意見", columns, [
        [opinion.id, "事前意見" if opinion.kind == "pre_meeting" else "ご意見", opinion.category, event_title or "",
         opinion.name or "", opinion.text, STATUSES[opinion.status], opinion.created_at, opinion.reply_text or "",
         opinion.replied_at] for opinion, event_title in rows])


def export_csv(session: Session) -> bytes:
    """Every opinion as CSV, UTF-8 with a BOM so Excel reads Japanese, times as 2026-12-02 07:22 (JST)."""
    return sheets.csv_bytes(export_table(session))


def export_xlsx(session: Session) -> bytes:
    return sheets.xlsx_bytes([export_table(session)], "ご意見")


def export_name(ext: str) -> tuple[str, str]:
    """(ご意見_2026-12-02.xlsx, opinions-2026-12-02.xlsx): the day of the export (JST)."""
    day = clock.today_jst().isoformat()
    return sheets.file_name("ご意見", day, ext=ext), f"opinions-{day}.{ext}"
