"""Survey instances: create, open (invitations), close, audience, reminders to members who have not finished."""

from __future__ import annotations

import datetime as dt
import logging
import weakref
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from bot import clock, metrics
from bot.inputs import Moment, OptionalText, Refused, Text, field_error
from bot.work import Work
from db.models import Member, Survey, SurveyReminder, SurveyResponse, SurveyTemplateVersion, User
from members import service as members
from surveys import definition, messages
from surveys.definition import Template

log = logging.getLogger(__name__)

STATUSES = {"draft": "準備中", "scheduled": "開始予約", "open": "回答受付中", "closed": "締切"}


class SurveyError(Refused):
    """A request the survey cannot take; the message is for staff (Japanese) and names its field."""

    def __init__(self, message: str, field: str = "status", english: str | None = None) -> None:
        super().__init__(message, field, english)


class SurveyInput(BaseModel):
    """A survey as staff create it (console, API, demo data)."""

    model_config = ConfigDict(extra="forbid")

    template_id: Text = Field(min_length=1, max_length=60, title="テンプレート")
    title: OptionalText = Field(None, max_length=100, title="題名", description="default: the template's title")
    opens_at: Moment | None = Field(None, title="開始", description="default: now")
    closes_at: Moment = Field(title="締切")
    anonymous: bool = Field(True, title="匿名")
    subcommittees: list[str] = Field(default_factory=list, max_length=50, title="部会",
                                     description="部会 names; empty: all members")
    reminder_hours: list[int] = Field(default_factory=lambda: [72, 24], max_length=5, title="リマインド",
                                      description="hours before the close")
    target_year: OptionalText = Field(None, max_length=10, title="目標の年度",
                                      description="which year's target to judge against")

    @field_validator("closes_at")
    @classmethod
    def _after_open(cls, closes_at: Any, info: ValidationInfo) -> Any:
        opens_at = info.data.get("opens_at") or clock.now()
        if closes_at <= opens_at:
            raise field_error("survey_order", "closes_at must be after opens_at (and in the future)",
                              "開始より後（未来）の日時にしてください")
        return closes_at

    @field_validator("reminder_hours")
    @classmethod
    def _hours(cls, hours: list[int]) -> list[int]:
        if any(not 0 < h <= 24 * 60 for h in hours):
            raise field_error("reminder_hours", "reminder_hours must be between 1 and 1440",
                              "1〜1440時間前にしてください")
        return hours


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


def create(work: Work, data: SurveyInput) -> Survey:
    """A draft survey from a template (the template's current version is kept with it)."""
    session = work.session
    versions = sync_templates(session)
    version = versions.get(data.template_id)
    if version is None:
        known = ", ".join(sorted(versions))
        raise SurveyError(f"テンプレート「{data.template_id}」はありません（{known}）", "template_id",
                          f"no template '{data.template_id}' (known: {known})")
    ids, unknown = members.subcommittee_ids(session, data.subcommittees)
    if unknown:
        raise SurveyError("存在しない部会です: " + "、".join(unknown), "subcommittees",
                          "unknown 部会: " + ", ".join(f"'{n}'" for n in unknown))
    survey = Survey(
        template_version_id=version.id, title=data.title or version.definition["title"],
        opens_at=data.opens_at or clock.now(), closes_at=data.closes_at, anonymous=data.anonymous,
        audience_subcommittee_ids=sorted(ids), reminder_hours=sorted(set(data.reminder_hours), reverse=True),
        target_year=data.target_year, status="draft",
    )
    session.add(survey)
    session.flush()
    work.audit("survey.create", f"survey:{survey.id}", survey.title)
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


def open_survey(work: Work, survey: Survey) -> int:
    """Open now (invitations go out in the same transaction) or, with a future opens_at, when it is due. Returns
    how many members were invited."""
    if survey.status in ("open", "closed"):
        raise SurveyError(f"このアンケートはすでに{STATUSES[survey.status]}です",
                          english=f"the survey is already {survey.status}")
    now = clock.now()
    if survey.closes_at <= now:
        raise SurveyError("締切の日時が過ぎています", "closes_at", "the close time has passed")
    if survey.opens_at > now:
        survey.status = "scheduled"
        work.audit("survey.schedule", f"survey:{survey.id}", survey.title)
        return 0
    survey.status, survey.opened_at = "open", now
    for hours in survey.reminder_hours:
        due = survey.closes_at - dt.timedelta(hours=hours)
        if due > now:
            work.session.add(SurveyReminder(survey_id=survey.id, due_at=due))
    invited = invite(work, survey)
    work.audit("survey.open", f"survey:{survey.id}", f"{survey.title}（案内 {invited}人）")
    return invited


def invite(work: Work, survey: Survey) -> int:
    session = work.session
    template = template_of(session, survey)
    count = 0
    not_before = work.not_before()  # opened at night: the invitations go out in the morning
    for _member, user in session.execute(
        audience_query(survey).add_columns(User).join(User, User.id == Member.user_id)
    ):
        if user.is_reachable:
            work.outbox.push(session, user=user, messages=[messages.invitation(survey, template)],
                             source=f"survey:{survey.id}:invite", not_before=not_before)
            count += 1
    log.info("survey %s opened: %d invitations", survey.id, count)
    return count


def close_survey(work: Work, survey: Survey) -> None:
    if survey.status == "closed":
        return
    survey.status, survey.closed_at = "closed", clock.now()
    work.audit("survey.close", f"survey:{survey.id}", survey.title)
    work.session.execute(update(SurveyReminder).where(SurveyReminder.survey_id == survey.id,
                                                 SurveyReminder.status == "pending").values(status="skipped"))


def run_due(work: Work) -> dict[str, int]:
    """The scheduler's survey work: open scheduled surveys, close expired ones, send due reminders once."""
    session, settings = work.session, work.settings
    now = clock.now()
    done = {"opened": 0, "closed": 0, "reminders": 0}
    for survey in session.scalars(select(Survey).where(Survey.status == "scheduled", Survey.opens_at <= now)
                                  .with_for_update(skip_locked=True)):
        open_survey(work, survey)
        done["opened"] += 1
    for survey in session.scalars(select(Survey).where(Survey.status.in_(("open", "scheduled")),
                                                       Survey.closes_at <= now).with_for_update(skip_locked=True)):
        close_survey(work, survey)
        done["closed"] += 1
    reminders = session.scalars(select(SurveyReminder).where(SurveyReminder.status == "pending",
                                                             SurveyReminder.due_at <= now)
                                .with_for_update(skip_locked=True)).all()
    for reminder in reminders:
        survey = session.get(Survey, reminder.survey_id)
        if survey is None or not accepting(survey, now):
            reminder.status = "skipped"
            continue
        if clock.outside_quiet_hours(now, settings.quiet_hours_start, settings.quiet_hours_end) != now:
            continue  # night in Japan: it waits for the morning (and is skipped if the survey closes first)
        reminder.recipients = remind(work, survey)
        reminder.status, reminder.sent_at = "sent", now
        done["reminders"] += 1
        metrics.REMINDERS.labels("survey").inc()
    return done


def remind(work: Work, survey: Survey) -> int:
    """Push a reminder to each member of the audience who has not sent their answers."""
    session = work.session
    finished = select(SurveyResponse.member_id).where(SurveyResponse.survey_id == survey.id,
                                                      SurveyResponse.status == "submitted")
    users = [user for _member, user in session.execute(
        audience_query(survey).where(Member.id.not_in(finished)).add_columns(User)
        .join(User, User.id == Member.user_id).where(User.is_reachable.is_(True)))]
    message, source = messages.reminder(survey), f"survey:{survey.id}:remind"  # built once for all of them
    return work.outbox.push_many(session, pushes=[(user, [message], source) for user in users])


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
