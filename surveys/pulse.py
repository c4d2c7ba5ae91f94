"""A pulse after every meeting (issue #17, point 4): when a 全体会議 or a 部会 has ended (its end time plus
PULSE_DELAY_MINUTES; 0: at the end), its members get the council template's questions marked ``pulse`` (the two
indicator questions) as a short anonymous survey, with one reminder.

A pulse is an ordinary Survey (kind 'pulse', event_id: the meeting) made from a template version holding only the
pulse questions (definition.pulse_template, stored like any version), so answering, reminders, results, the small-
group rule, the call list and paper answers all work unchanged. Its audience is the meeting's: every active member
for a 全体会議, the 部会's members for a 部会. Cancelled meetings get none.

Exactly once: the job claims a meeting by inserting its MeetingPulse row (ON CONFLICT DO NOTHING) in the
transaction that creates and opens the pulse; a second process's insert waits for the first's commit and then
inserts nothing, so it creates nothing. Quiet hours: a meeting that ends at 21:00 gets its pulse at 8:00 (the
pulse opens then, and its invitations go out when it opens).
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import clock
from bot.work import Work
from db.base import upsert_insert
from db.models import Event, MeetingPulse, Member, Survey, SurveyTemplateVersion
from events.schema import CANCELLED, MEETINGS, Visibility
from surveys import definition, service
from surveys.definition import Template

log = logging.getLogger(__name__)

PULSE_TEMPLATE = "council-questionnaire"  # whose questions marked `pulse` are asked after every meeting
OPEN_DAYS = 7  # a pulse takes answers for a week after it opens
REMINDER_HOURS = 96  # its one reminder: three days after it opens (four before the close)
MAX_LATE = dt.timedelta(days=2)  # after downtime: a pulse more than two days late is not sent at all
TITLE_LIMIT = 100


def current_template() -> Template:
    """The pulse as the council template's file has it now."""
    pulse = definition.pulse_template(definition.load_all()[PULSE_TEMPLATE])
    if pulse is None:
        raise definition.TemplateError(f"{PULSE_TEMPLATE}.yaml: no question is marked pulse: true")
    return pulse


def pulse_version(session: Session) -> tuple[SurveyTemplateVersion, Template]:
    """The stored template version of the council template's pulse (stored now if the file changed)."""
    pulse = current_template()
    try:
        with session.begin_nested():  # another process storing the same new version at the same moment
            version = service.store_version(session, pulse.id, pulse)
    except IntegrityError:
        version = service.store_version(session, pulse.id, pulse)
    return version, pulse


def audience_ids(event: Event) -> list[int]:
    """The 部会 a pulse asks (empty: every member): the meeting's, as its reminders reach them."""
    if event.visibility == Visibility.SUBCOMMITTEE and event.subcommittee_id is not None:
        return [event.subcommittee_id]
    return []


def title_of(event: Event) -> str:
    local = event.starts_at.astimezone(clock.JST)
    suffix = f"（{local.month}月{local.day}日）のふりかえり"
    return event.title[: TITLE_LIMIT - len(suffix)] + suffix


def due_meetings(session: Session, now: dt.datetime, delay: dt.timedelta) -> list[Event]:
    """Meetings whose pulse is due (ended at least `delay` ago, at most MAX_LATE later than that), not cancelled,
    not yet claimed; the first to end first."""
    latest_end = now - delay
    earliest_end = latest_end - MAX_LATE
    claimed = select(MeetingPulse.event_id)
    return list(session.scalars(
        select(Event).where(Event.kind.in_(MEETINGS), Event.status.not_in(CANCELLED),
                            Event.starts_at <= latest_end, Event.ends_at <= latest_end,
                            Event.ends_at > earliest_end, Event.id.not_in(claimed))
        .order_by(Event.ends_at, Event.id)))


def claim(session: Session, event: Event) -> bool:
    """Insert the meeting's MeetingPulse row; False when another transaction has (or had) it."""
    statement = upsert_insert(session, MeetingPulse).values(event_id=event.id, status="created",
                                                            created_at=clock.now())
    inserted = session.execute(statement.on_conflict_do_nothing(index_elements=["event_id"])
                               .returning(MeetingPulse.event_id)).first()
    return inserted is not None


def create_pulse(work: Work, event: Event) -> Survey | None:
    """The meeting's pulse, created and opened (now, or at the end of the quiet hours); None when the meeting has
    no members to ask."""
    session = work.session
    audience = audience_ids(event)
    members = select(func.count()).select_from(Member).where(Member.active.is_(True))
    if audience:
        members = members.where(Member.subcommittee_id.in_(audience))
    if not session.scalar(members):
        return None
    version, _template = pulse_version(session)
    opens = work.not_before()  # a meeting ending at night: the pulse opens (and invites) in the morning
    survey = Survey(kind="pulse", event_id=event.id, template_version_id=version.id, title=title_of(event),
                    opens_at=opens, closes_at=opens + dt.timedelta(days=OPEN_DAYS), anonymous=True,
                    audience_subcommittee_ids=audience,
                    reminder_hours=service.capped_hours([REMINDER_HOURS], work.settings.survey_max_reminders),
                    status="draft")
    session.add(survey)
    session.flush()
    work.audit("survey.create", f"survey:{survey.id}", f"{survey.title}（会議のあとのふりかえり）")
    service.open_survey(work, survey)
    return survey


def run_due(work: Work) -> dict[str, int]:
    """The scheduler's pulse work: each meeting that has ended (plus PULSE_DELAY_MINUTES) gets its pulse once."""
    session = work.session
    now = clock.now()
    done = {"created": 0, "skipped": 0}
    for event in due_meetings(session, now, dt.timedelta(minutes=work.settings.pulse_delay_minutes)):
        if not claim(session, event):
            continue  # another process has it
        survey = create_pulse(work, event)
        row = session.get(MeetingPulse, event.id)
        assert row is not None
        if survey is None:
            row.status = "skipped"
            done["skipped"] += 1
        else:
            row.survey_id = survey.id
            done["created"] += 1
            log.info("pulse for event %s: survey %s (%s)", event.id, survey.id, survey.status)
    return done

