"""Events: the commands that make and change them (one input model for every client), who may see them, finding
them from a resident's words, reminders, and notices when plans change."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from bot import clock, metrics
from bot.inputs import Refused, validate
from bot.messages import Message
from bot.work import Work
from db.models import (
    Attendance,
    CategorySubscription,
    Event,
    EventInquiry,
    EventSubscription,
    Member,
    Reminder,
    Subcommittee,
    User,
)
from events import messages, search
from events.kept import detached, kept
from events.schema import CANCELLED, MEETINGS, DayStatus, EventInput, Kind, Status, Topic, Visibility
from members import service as members

log = logging.getLogger(__name__)

MAX_CARDS = 12
NAME_MATCH = 0.75
INQUIRY_MEMORY = dt.timedelta(days=30)
TOPIC_MEMORY = dt.timedelta(hours=2)  # 「駐車場は？」 this soon after looking at an event is about that event
TOPIC_EVENTS = 5  # events answered at once for a topic named alone
URGENT_CHANGE = dt.timedelta(hours=24)  # a change to an event this near is sent also in the quiet hours
# category words (events.search.CATEGORY_WORDS) to the kinds they also mean
CATEGORY_KINDS = {"まつり": {Kind.FESTIVAL}, "講座": {Kind.LECTURE}, "会議": set(MEETINGS)}
# what residents can opt into in 通知設定: a reminder for every event of the category
OPT_IN_CATEGORIES = ("まつり", "こども", "講座", "音楽", "ものづくり")


# --------------------------------------------------------------------------- commands


def create(work: Work, data: EventInput) -> Event:
    """A new event; its reminders are scheduled."""
    event = Event(**data.columns(), subcommittee_id=_subcommittee_id(work.session, data))
    work.session.add(event)
    work.session.flush()
    schedule_reminders(work.session, event=event)
    work.audit("event.create", f"event:{event.id}", event.title)
    return event


def update(work: Work, event: Event, changes: dict[str, Any], *, action: str = "event.change") -> int:
    """Change the fields given (the result is validated whole, as a new event would be). Reminders follow; a
    cancellation or a move notifies who should hear. Returns how many people were notified."""
    before = _assign(work.session, event, changes)
    if event.status != before["status"]:  # the day's message was about the old status: it no longer holds
        event.status_message, event.status_at = None, None
    notified = apply_change(work, event=event, before=before)
    work.audit(action, f"event:{event.id}", f"{event.title} ({Status(event.status).label}; {notified}人に通知)")
    return notified


def cancel(work: Work, event: Event, *, rain: bool = False) -> int:
    """中止 (or 雨天中止): reminders stop, and everyone who should hear is told once."""
    status = Status.RAIN_CANCELLED if rain else Status.CANCELLED
    return update(work, event, {"status": status}, action="event.cancel")


def set_day_status(work: Work, event: Event, day: DayStatus, *, message: str | None = None, rain: bool = False
                   ) -> int:
    """On the day, in one tap: 開催 / 中止 / 延期 / 内容変更 with a short message. The status and the message show on
    cards and answers at once; everyone who subscribed or asked about the event in the last 30 days hears it once
    (a second tap with the same status and message tells nobody again). Unless the event says otherwise
    (status_urgent), the notice is not held by the quiet hours: a rain decision at 6:30 reaches people before
    they set out. Returns how many people were told."""
    if event.ends_at < clock.now():
        raise Refused("このイベントは もう終わっています。当日の状況は、終わるまでに お知らせしてください", "status",
                      "the event is over: a day status is for an event not yet ended")
    status = day.status(rain)
    message = (message or "").strip() or None
    if event.status == status and event.status_message == message and event.status_at is not None:
        return 0  # the same word twice (a double tap): said already
    before = snapshot(event)
    _assign(work.session, event, {"status": status, "status_message": message})
    event.status_at = event.updated_at = clock.now()
    schedule_reminders(work.session, event=event)
    users = change_audience(work.session, event)
    notices = {lang: messages.day_notice(event, lang=lang) for lang in {user.language for user in users}}
    not_before = work.not_before(urgent=event.status_urgent)  # off: it waits for the morning like other news
    source = f"event:{event.id}:day:{event.status_at.isoformat()}"
    for user in users:
        work.outbox.push(work.session, user=user, messages=[notices[user.language]], source=source,
                         not_before=not_before)
    work.audit("event.day_status", f"event:{event.id}",
               f"{event.title}: {day.label}{'（雨天）' if rain and day == DayStatus.CANCELLED else ''}"
               f"{f' 「{message}」' if message else ''}（{len(users)}人に通知; 前は{Status(before['status']).label}）")
    return len(users)


def preview_day_status(session: Session, event: Event) -> int:
    """How many people set_day_status() would tell now (the console shows it on the buttons)."""
    return len(change_audience(session, event))


@dataclass
class Preview:
    """What update() would do with a change: the notice it sends ("cancelled" | "moved" | None), to how many
    people, and the event's time and status before it (snapshot())."""

    what: str | None
    count: int
    before: dict[str, Any]


def preview_update(session: Session, event: Event, changes: dict[str, Any]) -> Preview:
    """What update() would do, without doing it: the same check of the changes (InputError), the same rule for
    whether a notice goes (change_of) and the same audience (change_audience), so the console can say "N people
    will be told" before saving. The event is changed in this session only: the caller must not commit it."""
    with session.no_autoflush:
        before = _assign(session, event, changes)
        what = change_of(event, before)
        count = len(change_audience(session, event)) if what else 0
    return Preview(what, count, before)


def _assign(session: Session, event: Event, changes: dict[str, Any]) -> dict[str, Any]:
    """Lay the changes over the event, validated whole; returns the snapshot() from before."""
    current = EventInput.current(event, members.subcommittee_name(session, event.subcommittee_id))
    data: EventInput = validate(EventInput, {**current, **changes})
    before = snapshot(event)
    for key, value in data.columns().items():
        setattr(event, key, value)
    event.subcommittee_id = _subcommittee_id(session, data)
    return before


def delete(work: Work, event: Event) -> None:
    work.audit("event.delete", f"event:{event.id}", event.title)
    work.session.delete(event)


def _subcommittee_id(session: Session, data: EventInput) -> int | None:
    if data.subcommittee is None:
        return None
    found = members.find_subcommittee(session, data.subcommittee)
    if found is None:
        raise Refused(f"部会: 「{data.subcommittee}」という部会はありません", "subcommittee",
                      f"unknown 部会 '{data.subcommittee}'")
    return found.id


# --------------------------------------------------------------------------- who sees what


def visible_to(member: Member | None) -> Any:
    """A filter on Event: public events, and members' events for a linked member of their audience."""
    conditions = [Event.visibility == Visibility.PUBLIC]
    if member is not None:
        conditions.append(Event.visibility == Visibility.MEMBERS)
        if member.subcommittee_id is not None:
            conditions.append((Event.visibility == Visibility.SUBCOMMITTEE)
                              & (Event.subcommittee_id == member.subcommittee_id))
    return or_(*conditions)


@dataclass
class Found:
    events: list[Event]
    more: int  # how many more matched than the cards show
    query: search.Query
    named: bool = False  # the words named these events (not only a date, a category or イベント)

    @property
    def topics(self) -> list[str]:
        """The questions asked about the events; 無料 is a filter, not a question, unless an event is named
        (無料のイベント: the free events; 区民まつりは無料？: its fee)."""
        return [t for t in self.query.topics if not (t == Topic.FEE and self.query.free and not self.named
                                                      and (self.query.wants_events or self.query.categories))]


def find(session: Session, *, member: Member | None, text: str) -> Found | None:
    """Events for what a user (a council member, or not: None) typed; None when the text is not about events.
    A resident's answer is kept for a moment (events.kept): the next resident asking the same gets it at once."""
    if member is not None or len(text) > search.KEPT_TEXT:
        return _find(session, member=member, text=text)
    today = clock.now().astimezone(clock.JST).date()
    return kept(session, ("find", text, today), lambda: _kept_copy(_find(session, member=None, text=text)))


SUGGESTED = 8  # upcoming events offered when nothing matched


def upcoming(session: Session, *, member: Member | None) -> list[Event]:
    """What one can still go to, soonest first (offered when nothing matched the question); a resident's list is
    kept for a moment like their answers (events.kept)."""
    def read() -> list[Event]:
        return list(session.scalars(select(Event).where(
            visible_to(member), Event.ends_at >= clock.now(), Event.status.not_in(CANCELLED))
            .order_by(Event.starts_at).limit(SUGGESTED)))
    if member is not None:
        return read()
    return kept(session, ("upcoming",), lambda: [detached(e) for e in read()])


def _kept_copy(found: Found | None) -> Found | None:
    if found is None:
        return None
    return Found([detached(e) for e in found.events], found.more, found.query, named=found.named)


def _find(session: Session, *, member: Member | None, text: str) -> Found | None:
    now = clock.now()
    today = now.astimezone(clock.JST).date()
    query = search.parse(text, today)
    if query.bad_date or (query.dates and query.dates.passed(today)):
        return Found([], 0, query)  # the answer says so: a date that does not exist, or has passed
    if query.unknown_date and (query.wants_events or query.categories or not query.rest):
        return Found([], 0, query)  # a date not understood in a question about events: the answer says so
    if query.topics and query.wish and not (query.dates or query.categories or query.wants_events):
        return None  # 区民まつりの駐車場を増やしてほしい: an opinion, about an event or not
    # Only what matching needs is read for every candidate; the few events shown are loaded whole afterwards.
    statement = select(Event.id, Event.title, Event.title_en, Event.venue, Event.keywords, Event.tags,
                       Event.kind, Event.starts_at, Event.ends_at, Event.free).where(visible_to(member))
    if query.dates:
        start = dt.datetime.combine(query.dates.start, dt.time(0), clock.JST)
        end = dt.datetime.combine(query.dates.end + dt.timedelta(days=1), dt.time(0), clock.JST)
        statement = statement.where(Event.starts_at < end, Event.ends_at >= max(start, now))
    else:
        statement = statement.where(Event.ends_at >= now)
    candidates = list(session.execute(statement.order_by(Event.starts_at, Event.id)))
    if query.dates and query.dates.days is not None:  # some days of the span only (10月の土曜日, 10日と17日)
        candidates = [e for e in candidates if query.dates.includes(*_local_days(e))]
    scores = {e.id: _name_score(query.rest, e) for e in candidates} if query.rest else {}
    best = max(scores.values(), default=0.0)
    # the events the words name best (くみんまつり: 港区民まつり, not every event tagged まつり)
    named = [e for e in candidates if scores.get(e.id, 0) >= max(NAME_MATCH, best - 0.01)]
    if query.categories and all(search.is_category_word(word) for word in query.rest.split()):
        named = []  # kids events, まつり: the category's events, not only those whose name has the word (Kids')
    # a date not understood: 翌日の区民まつり is about an event (say so); 毎日うるさい is not ours to answer
    if query.unknown_date:
        return Found([], 0, query) if named else None
    if named:
        chosen = named
    elif query.categories:
        chosen = [e for e in candidates if _in_categories(e, query.categories)]
    elif query.dates or query.wants_events:
        chosen = candidates
    elif query.topics and query.remark:
        return None  # 駅前の駐輪場が足りません: an opinion, not a question about events
    elif query.topics or (query.free and not query.rest):
        return Found([], 0, query)  # a question on its own (駐車場ある？): about the event just seen, or all
    else:
        return None
    if query.free and not named:  # 無料のイベント, 今週の無料イベント
        chosen = [e for e in chosen if e.free]
    ids = [row.id for row in chosen[:MAX_CARDS]]
    loaded = {e.id: e for e in session.scalars(select(Event).where(Event.id.in_(ids)))} if ids else {}
    return Found([loaded[i] for i in ids], max(len(chosen) - MAX_CARDS, 0), query, named=bool(named))


def _name_score(rest: str, event: Any) -> float:
    """How well the words name the event: all of them (matches_name), or one of them written apart (わんぱくまつり
    犬連れていける？: the name, then a question), or its title or another name of it inside the words
    (わんぱくまつりで犬連れていける？). Categories (tags) count only as the whole words: まつり in 区民まつり is not
    every festival."""
    score = search.matches_name(rest, _names(event))
    parts = rest.split()
    if len(parts) > 1:
        score = max(score, *(search.matches_name(part, _names(event)) for part in parts if len(part) >= 3))
    if score < NAME_MATCH and any(len(f) >= 4 and f in rest for f in map(search.fold, _own_names(event))):
        score = NAME_MATCH
    return score


def _own_names(event: Any) -> list[str]:
    return [n for n in [event.title, event.title_en, *(event.keywords or [])] if n]


def _local_days(event: Any) -> tuple[dt.date, dt.date]:
    """The first and last day (JST) an event takes place on; one ending at midnight ends the day before."""
    last = event.ends_at - dt.timedelta(microseconds=1) if event.ends_at > event.starts_at else event.ends_at
    return event.starts_at.astimezone(clock.JST).date(), last.astimezone(clock.JST).date()


def _names(event: Any) -> list[str]:
    return [n for n in [event.title, event.title_en, event.venue, *(event.keywords or []), *(event.tags or [])] if n]


def _in_categories(event: Any, categories: set[str]) -> bool:
    tags = {search.fold(t) for t in event.tags or []}
    return any(search.fold(c) in tags or event.kind in CATEGORY_KINDS.get(c, set()) for c in categories)


def remember_inquiry(session: Session, *, user: User, events: list[Event]) -> None:
    """The user was shown these events: they will hear if one is cancelled or moved (for 30 days)."""
    if events:
        now = clock.now()
        session.flush()  # (the user, if new) — then a Core INSERT: the ORM's bulk insert cost ten times as much
        session.connection().execute(insert(EventInquiry.__table__),
                                     [{"event_id": e.id, "user_id": user.id, "at": now} for e in events])


def last_shown(session: Session, *, user: User, member: Member | None,
               within: dt.timedelta = INQUIRY_MEMORY) -> list[Event]:
    """The events the user was shown last (the cards of their latest question, or the one they opened), if shown
    within that time and still to come: what 「詳しく」 or 「地図」 typed on its own refers to."""
    since = clock.now() - within
    latest = session.scalar(select(sa.func.max(EventInquiry.at)).where(EventInquiry.user_id == user.id,
                                                                       EventInquiry.at >= since))
    if latest is None:
        return []
    shown = select(EventInquiry.event_id).where(EventInquiry.user_id == user.id, EventInquiry.at == latest)
    return list(session.scalars(
        select(Event).where(Event.id.in_(shown), visible_to(member), Event.ends_at >= clock.now())
        .order_by(Event.starts_at, Event.id).limit(MAX_CARDS)))


def recently_shown(session: Session, *, user: User, member: Member | None) -> list[Event]:
    """last_shown(), if the user looked in the last two hours: what a question on its own (雨の日は？) is about."""
    return last_shown(session, user=user, member=member, within=TOPIC_MEMORY)


def having(session: Session, *, member: Member | None, topics: list[str], limit: int = TOPIC_EVENTS) -> list[Event]:
    """The coming events that answer one of the topics (駐車場ある？ asked of no event in particular), soonest
    first; for whether it is on (やってる？), the events of today and tomorrow."""
    now = clock.now()
    query = select(Event).where(visible_to(member), Event.ends_at >= now).order_by(Event.starts_at, Event.id)
    if search.STATUS in topics and len(topics) == 1:
        tomorrow = dt.datetime.combine(now.astimezone(clock.JST).date() + dt.timedelta(days=2), dt.time(0), clock.JST)
        return list(session.scalars(query.where(Event.starts_at < tomorrow).limit(limit)))
    if not topics:  # what is coming at all
        return list(session.scalars(query.where(Event.status.not_in(CANCELLED)).limit(limit)))
    found = []
    for event in session.scalars(query.where(Event.status.not_in(CANCELLED)).limit(500)):
        if any(messages.answers_topic(event, topic) for topic in topics):
            found.append(event)
            if len(found) == limit:
                break
    return found


def faq_of(events: list[Event], text: str) -> tuple[Event, dict[str, Any]] | None:
    """The first of these events whose own Q&A the text asks (ペット大丈夫？), with the pair."""
    for event in events:
        if event.faq and (pair := search.matches_faq(text, event.faq)) is not None:
            return event, pair
    return None


def is_subscribed(session: Session, *, user: User, event: Event) -> bool:
    return session.scalar(select(EventSubscription.id).where(EventSubscription.event_id == event.id,
                                                             EventSubscription.user_id == user.id)) is not None


def subscribe(session: Session, *, user: User, event: Event) -> bool:
    """リマインドする: True when newly subscribed."""
    if is_subscribed(session, user=user, event=event):
        return False
    session.add(EventSubscription(event_id=event.id, user_id=user.id))
    session.flush()
    return True


# --------------------------------------------------------------------------- reminders


def default_offsets(event: Event) -> list[tuple[str, dt.datetime]]:
    """(label, due time) of the event's reminders: its own hours, or the kind's defaults."""
    if event.reminder_hours is not None:
        return [(f"{h}h", event.starts_at - dt.timedelta(hours=int(h))) for h in event.reminder_hours]
    if event.kind in MEETINGS:
        return [("7d", event.starts_at - dt.timedelta(days=7)), ("1d", event.starts_at - dt.timedelta(days=1))]
    morning = dt.datetime.combine(event.starts_at.astimezone(clock.JST).date(), dt.time(8), clock.JST)
    offsets = [("3d", event.starts_at - dt.timedelta(days=3))]
    if morning.astimezone(dt.UTC) < event.starts_at:
        offsets.append(("morning", morning.astimezone(dt.UTC)))
    return offsets


def schedule_reminders(session: Session, *, event: Event) -> None:
    """(Re)create the event's pending reminders from its time and status; sent ones stay as they were."""
    if event.status in CANCELLED:  # kept, marked, for the record
        session.execute(sa.update(Reminder).where(Reminder.event_id == event.id, Reminder.status == "pending")
                        .values(status="cancelled"))
        return
    session.execute(sa.delete(Reminder).where(Reminder.event_id == event.id, Reminder.status == "pending"))
    sent = set(session.scalars(select(Reminder.label).where(Reminder.event_id == event.id,
                                                            Reminder.status == "sent")))
    now = clock.now()
    for label, due in default_offsets(event):
        if label not in sent and due < event.starts_at and event.starts_at > now:
            session.add(Reminder(event_id=event.id, label=label, due_at=due))
    session.flush()


def audience(session: Session, event: Event) -> list[User]:
    """Who a reminder or notice goes to: members for meetings and members' events; subscribers otherwise."""
    if event.visibility in (Visibility.MEMBERS, Visibility.SUBCOMMITTEE) or event.kind in MEETINGS:
        query = select(User).join(Member, Member.user_id == User.id).where(Member.active.is_(True))
        if event.visibility == Visibility.SUBCOMMITTEE and event.subcommittee_id is not None:
            query = query.where(Member.subcommittee_id == event.subcommittee_id)
    else:
        subscribed = select(EventSubscription.user_id).where(EventSubscription.event_id == event.id)
        categories = [c for c in OPT_IN_CATEGORIES if _in_categories(event, {c})]
        opted_in = select(CategorySubscription.user_id).where(CategorySubscription.category.in_(categories))
        query = select(User).where(or_(User.id.in_(subscribed), User.id.in_(opted_in)))
    return list(session.scalars(query.where(User.is_reachable.is_(True)).distinct()))


def audiences(session: Session, events: list[Event]) -> dict[int, list[User]]:
    """audience() for many events at once: three queries for all public events together, however many."""
    public = [e for e in events if e.visibility == Visibility.PUBLIC and e.kind not in MEETINGS]
    out: dict[int, dict[int, User]] = {e.id: {} for e in public}
    if public:
        for event_id, user in session.execute(
            select(EventSubscription.event_id, User).join(User, User.id == EventSubscription.user_id)
            .where(EventSubscription.event_id.in_(list(out)), User.is_reachable.is_(True))
        ):
            out[event_id][user.id] = user
        by_category: dict[str, list[User]] = {}
        for category, user in session.execute(
            select(CategorySubscription.category, User).join(User, User.id == CategorySubscription.user_id)
            .where(User.is_reachable.is_(True))
        ):
            by_category.setdefault(category, []).append(user)
        for event in public:
            for category, users in by_category.items():
                if _in_categories(event, {category}):
                    out[event.id].update((u.id, u) for u in users)
    result = {event_id: list(users.values()) for event_id, users in out.items()}
    for event in events:
        if event.id not in result:
            result[event.id] = audience(session, event)
    return result


def run_due(work: Work, *, limit: int = 1000) -> dict[str, int]:
    """Send due reminders exactly once: each is claimed in the transaction that queues its pushes. A reminder
    missed while the app was down is still sent if the event has not started, else skipped; at night it waits."""
    session, settings = work.session, work.settings
    now = clock.now()
    done = {"sent": 0, "skipped": 0, "waiting": 0}
    due = session.execute(select(Reminder.id, Reminder.event_id, Reminder.label)
                          .where(Reminder.status == "pending", Reminder.due_at <= now)
                          .order_by(Reminder.due_at).limit(limit).with_for_update(skip_locked=True, of=Reminder)).all()
    quiet = clock.outside_quiet_hours(now, settings.quiet_hours_start, settings.quiet_hours_end) != now
    events = {e.id: e for e in session.scalars(select(Event).where(Event.id.in_({r.event_id for r in due})))}
    live = [e for e in events.values() if e.status not in CANCELLED and e.starts_at > now]
    recipients_of = audiences(session, live) if due and not quiet else {}
    changes: list[dict[str, Any]] = []
    pushes: list[tuple[User, list[Message], str]] = []
    built: dict[tuple[int, bool, str], Message] = {}  # built once per event, kind and language
    for reminder in due:
        event = events.get(reminder.event_id)
        if event is None or event.status in CANCELLED or event.starts_at <= now:
            changes.append({"id": reminder.id, "status": "skipped"})
            done["skipped"] += 1
            continue
        if quiet:
            done["waiting"] += 1
            continue
        meeting = event.kind in MEETINGS
        recipients = recipients_of[event.id]
        for user in recipients:
            key = (event.id, reminder.label == "7d", "ja" if meeting else user.language)
            if key not in built:
                built[key] = messages.reminder(event, base_url=work.base_url, with_documents=key[1],
                                               meeting=meeting, lang=key[2])
            pushes.append((user, [built[key]], f"reminder:{reminder.id}"))
        changes.append({"id": reminder.id, "status": "sent", "sent_at": now, "recipients": len(recipients)})
        done["sent"] += 1
        metrics.REMINDERS.labels("event").inc()
    # One INSERT for the pushes and one UPDATE per batch of reminders, in the transaction that claimed them.
    work.outbox.push_many(session, pushes=pushes)
    if changes:
        session.execute(sa.update(Reminder), changes)
    return done


# --------------------------------------------------------------------------- meetings: attendance


def in_meeting_audience(event: Event, member: Member) -> bool:
    if not member.active or event.kind not in MEETINGS:
        return False
    return event.visibility != "subcommittee" or event.subcommittee_id == member.subcommittee_id


def upcoming_meetings(session: Session, member: Member, *, limit: int = 10) -> list[Event]:
    """The meetings this member is invited to that have not started yet (cancelled ones left out), soonest first."""
    found = session.scalars(
        select(Event).where(visible_to(member), Event.kind.in_(MEETINGS), Event.starts_at > clock.now(),
                            Event.status.not_in(CANCELLED))
        .order_by(Event.starts_at, Event.id).limit(limit * 2))
    return [e for e in found if in_meeting_audience(e, member)][:limit]


def attendance_of(session: Session, member: Member, events: list[Event]) -> dict[int, Attendance]:
    """The member's answers for these meetings, by event id."""
    if not events:
        return {}
    return {a.event_id: a for a in session.scalars(select(Attendance).where(
        Attendance.member_id == member.id, Attendance.event_id.in_([e.id for e in events])))}


def answer_attendance(session: Session, *, event: Event, member: Member, response: str | None = None,
                      documents_read: bool = False) -> Attendance:
    row = session.scalars(select(Attendance).where(Attendance.event_id == event.id,
                                                   Attendance.member_id == member.id)).one_or_none()
    if row is None:
        row = Attendance(event_id=event.id, member_id=member.id)
        session.add(row)
    if response is not None:
        row.response = response
    if documents_read and row.documents_confirmed_at is None:
        row.documents_confirmed_at = clock.now()
    row.updated_at = clock.now()
    session.flush()
    return row


def attendance(session: Session, event: Event) -> dict[str, Any]:
    """Who will attend, who is absent, who has not answered, who has read the documents."""
    answers = {a.member_id: a for a in session.scalars(select(Attendance).where(Attendance.event_id == event.id))}
    query = select(Member, Subcommittee.name).outerjoin(Subcommittee, Subcommittee.id == Member.subcommittee_id)
    query = query.where(or_(Member.active.is_(True), Member.id.in_(list(answers))))  # a retired member's answer stays
    if event.visibility == Visibility.SUBCOMMITTEE and event.subcommittee_id is not None:
        query = query.where(Member.subcommittee_id == event.subcommittee_id)
    out: dict[str, Any] = {"event_id": event.id, "title": event.title, "attending": [], "absent": [],
                           "no_answer": [], "documents_confirmed": []}
    for member, subcommittee in session.execute(query.order_by(Member.id)):
        entry = {"member_id": member.id, "name": member.name, "subcommittee": subcommittee}
        answer = answers.get(member.id)
        key = {"attend": "attending", "absent": "absent"}.get(answer.response if answer else None, "no_answer")
        out[key].append(entry)
        if answer is not None and answer.documents_confirmed_at is not None:
            out["documents_confirmed"].append(entry)
    return out


# --------------------------------------------------------------------------- resident settings (通知設定)


def categories_of(session: Session, user: User) -> set[str]:
    return set(session.scalars(select(CategorySubscription.category).where(CategorySubscription.user_id == user.id)))


def toggle_category(session: Session, *, user: User, category: str) -> bool:
    """Switch the category on or off; True when it is now on."""
    row = session.scalars(select(CategorySubscription).where(CategorySubscription.user_id == user.id,
                                                             CategorySubscription.category == category)).first()
    if row is not None:
        session.delete(row)
        return False
    session.add(CategorySubscription(user_id=user.id, category=category))
    return True


def subscriptions(session: Session, user: User) -> list[Event]:
    return list(session.scalars(select(Event).join(EventSubscription, EventSubscription.event_id == Event.id)
                                .where(EventSubscription.user_id == user.id, Event.ends_at >= clock.now())
                                .order_by(Event.starts_at)))


def unsubscribe(session: Session, *, user: User, event_id: int) -> bool:
    result = session.execute(sa.delete(EventSubscription).where(EventSubscription.user_id == user.id,
                                                             EventSubscription.event_id == event_id))
    return bool(getattr(result, "rowcount", 0))


# --------------------------------------------------------------------------- changes


def change_audience(session: Session, event: Event) -> list[User]:
    """Who hears that the event was cancelled or moved: its audience (subscribers, or the meeting's members) and
    everyone who asked about it in the last 30 days, each once."""
    since = clock.now() - INQUIRY_MEMORY
    asked = select(EventInquiry.user_id).where(EventInquiry.event_id == event.id, EventInquiry.at >= since)
    users = {u.id: u for u in audience(session, event)}
    for user in session.scalars(select(User).where(User.id.in_(asked), User.is_reachable.is_(True))):
        users[user.id] = user
    return list(users.values())


def notice_time(work: Work, event: Event) -> dt.datetime:
    """When a change notice of the event leaves: at once when the event is near (people may be on their way),
    else not in the quiet hours (Work.not_before)."""
    return work.not_before(urgent=event.starts_at - clock.now() < URGENT_CHANGE)


def notify_change(work: Work, *, event: Event, what: str) -> int:
    """Tell everyone who subscribed, or asked about the event in the last 30 days, that it was cancelled or
    moved (what: "cancelled" | "moved"). Each person hears once."""
    session = work.session
    users = change_audience(session, event)
    notices = {lang: messages.change_notice(event, base_url=work.base_url, what=what, lang=lang)
               for lang in {user.language for user in users}}  # in each reader's language
    not_before = notice_time(work, event)
    for user in users:
        work.outbox.push(session, user=user, messages=[notices[user.language]], source=f"event:{event.id}:{what}",
                         not_before=not_before)
    return len(users)


def snapshot(event: Event) -> dict[str, Any]:
    """What apply_change compares after an edit: take it before changing the event."""
    return {"status": event.status, "starts_at": event.starts_at, "ends_at": event.ends_at}


def change_of(event: Event, before: dict[str, Any]) -> str | None:
    """Which notice an edit sends: "cancelled" (newly 中止 or 雨天中止), "moved" (its time changed) or None.
    before: snapshot() taken before the edit."""
    if event.status in CANCELLED and before["status"] not in CANCELLED:
        return "cancelled"
    if (event.starts_at, event.ends_at) != (before["starts_at"], before["ends_at"]) and event.status not in CANCELLED:
        return "moved"
    return None


def apply_change(work: Work, *, event: Event, before: dict[str, Any]) -> int:
    """After an edit: reschedule reminders, and send a notice if the event was cancelled or its time moved."""
    event.updated_at = clock.now()
    schedule_reminders(work.session, event=event)
    what = change_of(event, before)
    return notify_change(work, event=event, what=what) if what else 0
