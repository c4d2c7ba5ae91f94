"""Survey instances: create, open (invitations), close, audience, reminders to members who have not finished."""

from __future__ import annotations

import datetime as dt
import logging
import weakref
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from bot import clock, metrics
from bot.gateway import Outbox
from db.models import Member, Survey, SurveyReminder, SurveyResponse, SurveyTemplateVersion, User
from surveys import definition, messages
from surveys.definition import Template

log = logging.getLogger(__name__)


class SurveyError(ValueError):
    """A request the survey cannot take (the message is for staff)."""


def sync_templates(session: Session) -> dict[str, SurveyTemplateVersion]:
    """Store every template file as a version; a changed file becomes a new version, old ones stay as they were."""
    latest: dict[str, SurveyTemplateVersion] = {}
    for key, template in definition.load_all().items():
        checksum = template.checksum()
        versions = session.scalars(select(SurveyTemplateVersion).where(SurveyTemplateVersion.template_key == key)
                                   .order_by(SurveyTemplateVersion.version)).all()
        same = next((v for v in versions if v.checksum == checksum), None)
        if same is None:
            same = SurveyTemplateVersion(template_key=key, version=(versions[-1].version + 1) if versions else 1,
                                         checksum=checksum, definition=template.to_dict())
            session.add(same)
            session.flush()
        latest[key] = same
    return latest


def template_of(session: Session, survey: Survey) -> Template:
    """The template version the survey was created from. Versions never change, so each is read once per database
    (the cache is keyed by engine too: a version id means nothing in another database)."""
    cache = _TEMPLATES.setdefault(session.get_bind().engine, {})
    template = cache.get(survey.template_version_id)
    if template is None:
        version = session.get(SurveyTemplateVersion, survey.template_version_id)
        assert version is not None
        template = cache[version.id] = definition.from_dict(version.definition)
    return template


_TEMPLATES: weakref.WeakKeyDictionary[Engine, dict[int, Template]] = weakref.WeakKeyDictionary()


def create(
    session: Session, *, template_key: str, title: str | None, opens_at: dt.datetime, closes_at: dt.datetime,
    anonymous: bool = True, subcommittee_ids: list[int] | None = None, reminder_hours: list[int] | None = None,
    target_year: str | None = None,
) -> Survey:
    versions = sync_templates(session)
    version = versions.get(template_key)
    if version is None:
        raise SurveyError(f"no template '{template_key}' (known: {', '.join(sorted(versions))})")
    if closes_at <= opens_at:
        raise SurveyError("closes_at must be after opens_at")
    survey = Survey(
        template_version_id=version.id, title=(title or version.definition["title"]).strip(), opens_at=opens_at,
        closes_at=closes_at, anonymous=anonymous, audience_subcommittee_ids=sorted(set(subcommittee_ids or [])),
        reminder_hours=sorted({int(h) for h in (reminder_hours if reminder_hours is not None else [72, 24])},
                              reverse=True),
        target_year=target_year, status="draft",
    )
    session.add(survey)
    session.flush()
    return survey


def audience_query(survey: Survey) -> Any:
    """Members the survey is for: active, and in one of its subcommittees when it names any."""
    query = select(Member).where(Member.active.is_(True))
    if survey.audience_subcommittee_ids:
        query = query.where(Member.subcommittee_id.in_(survey.audience_subcommittee_ids))
    return query


def in_audience(survey: Survey, member: Member) -> bool:
    return member.active and (not survey.audience_subcommittee_ids
                              or member.subcommittee_id in survey.audience_subcommittee_ids)


def accepting(survey: Survey, now: dt.datetime) -> bool:
    return survey.status == "open" and survey.opens_at <= now < survey.closes_at


def open_survey(session: Session, *, survey: Survey, outbox: Outbox) -> int:
    """Open now (invitations go out in the same transaction) or, with a future opens_at, when it is due."""
    if survey.status in ("open", "closed"):
        raise SurveyError(f"the survey is already {survey.status}")
    now = clock.now()
    if survey.closes_at <= now:
        raise SurveyError("the close time has passed")
    if survey.opens_at > now:
        survey.status = "scheduled"
        return 0
    survey.status, survey.opened_at = "open", now
    for hours in survey.reminder_hours:
        due = survey.closes_at - dt.timedelta(hours=hours)
        if due > now:
            session.add(SurveyReminder(survey_id=survey.id, due_at=due))
    return invite(session, survey=survey, outbox=outbox)


def invite(session: Session, *, survey: Survey, outbox: Outbox) -> int:
    template = template_of(session, survey)
    count = 0
    for _member, user in session.execute(
        audience_query(survey).add_columns(User).join(User, User.id == Member.user_id)
    ):
        if user.is_reachable:
            outbox.push(session, user=user, messages=[messages.invitation(survey, template)],
                        source=f"survey:{survey.id}:invite")
            count += 1
    log.info("survey %s opened: %d invitations", survey.id, count)
    return count


def close_survey(session: Session, *, survey: Survey) -> None:
    if survey.status == "closed":
        return
    survey.status, survey.closed_at = "closed", clock.now()
    session.execute(update(SurveyReminder).where(SurveyReminder.survey_id == survey.id,
                                                 SurveyReminder.status == "pending").values(status="skipped"))


def run_due(session: Session, *, outbox: Outbox, quiet_start: int = 21, quiet_end: int = 8) -> dict[str, int]:
    """The scheduler's survey work: open scheduled surveys, close expired ones, send due reminders once."""
    now = clock.now()
    done = {"opened": 0, "closed": 0, "reminders": 0}
    for survey in session.scalars(select(Survey).where(Survey.status == "scheduled", Survey.opens_at <= now)
                                  .with_for_update(skip_locked=True)):
        open_survey(session, survey=survey, outbox=outbox)
        done["opened"] += 1
    for survey in session.scalars(select(Survey).where(Survey.status.in_(("open", "scheduled")),
                                                       Survey.closes_at <= now).with_for_update(skip_locked=True)):
        close_survey(session, survey=survey)
        done["closed"] += 1
    reminders = session.scalars(select(SurveyReminder).where(SurveyReminder.status == "pending",
                                                             SurveyReminder.due_at <= now)
                                .with_for_update(skip_locked=True)).all()
    for reminder in reminders:
        survey = session.get(Survey, reminder.survey_id)
        if survey is None or not accepting(survey, now):
            reminder.status = "skipped"
            continue
        if clock.outside_quiet_hours(now, quiet_start, quiet_end) != now:
            continue  # night in Japan: it waits for the morning (and is skipped if the survey closes first)
        reminder.recipients = remind(session, survey=survey, outbox=outbox)
        reminder.status, reminder.sent_at = "sent", now
        done["reminders"] += 1
        metrics.REMINDERS.labels("survey").inc()
    return done


def remind(session: Session, *, survey: Survey, outbox: Outbox) -> int:
    """Push a reminder to each member of the audience who has not sent their answers."""
    finished = select(SurveyResponse.member_id).where(SurveyResponse.survey_id == survey.id,
                                                      SurveyResponse.status == "submitted")
    users = [user for _member, user in session.execute(
        audience_query(survey).where(Member.id.not_in(finished)).add_columns(User)
        .join(User, User.id == Member.user_id).where(User.is_reachable.is_(True)))]
    message, source = messages.reminder(survey), f"survey:{survey.id}:remind"  # built once for all of them
    return outbox.push_many(session, pushes=[(user, [message], source) for user in users])


def open_for_member(session: Session, member: Member) -> list[tuple[Survey, SurveyResponse | None]]:
    """Surveys the member can answer now, with their progress (None when not started)."""
    now = clock.now()
    out = []
    for survey in session.scalars(select(Survey).where(Survey.status == "open", Survey.opens_at <= now,
                                                       Survey.closes_at > now).order_by(Survey.closes_at)):
        if not in_audience(survey, member):
            continue
        response = session.scalars(select(SurveyResponse).where(SurveyResponse.survey_id == survey.id,
                                                                SurveyResponse.member_id == member.id)).one_or_none()
        if response is None or response.status != "submitted":
            out.append((survey, response))
    return out


def counts(session: Session, survey: Survey) -> tuple[int, int]:
    """(members who sent their answers, members in the audience)."""
    audience = session.scalar(select(func.count()).select_from(audience_query(survey).subquery())) or 0
    answered = session.scalar(select(func.count()).select_from(SurveyResponse).where(
        SurveyResponse.survey_id == survey.id, SurveyResponse.status == "submitted")) or 0
    return int(answered), int(audience)
