"""Survey instances: create, open (invitations), close, audience, reminders to members who have not finished (at
most SURVEY_MAX_REMINDERS per survey), and after the last reminder the call list and answers entered from paper."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
import weakref
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import clock, metrics
from bot.inputs import InputError, Moment, OptionalText, Refused, Text, field_error
from bot.work import Work
from db.models import (
    AnonymousAnswerSet,
    Member,
    Subcommittee,
    Survey,
    SurveyReminder,
    SurveyResponse,
    SurveyTemplateVersion,
    User,
)
from members import service as members
from surveys import definition, engine, messages
from surveys.definition import TEXT_ANSWER_LIMIT, Template

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
    return {key: store_version(session, key, template) for key, template in definition.load_all().items()}


def store_version(session: Session, key: str, template: Template) -> SurveyTemplateVersion:
    """The stored version of this template content under this key, stored now if it is new."""
    checksum = template.checksum()
    versions = session.scalars(select(SurveyTemplateVersion).where(SurveyTemplateVersion.template_key == key)
                               .order_by(SurveyTemplateVersion.version)).all()
    same = next((v for v in versions if v.checksum == checksum), None)
    if same is None:
        same = SurveyTemplateVersion(template_key=key, version=(versions[-1].version + 1) if versions else 1,
                                     checksum=checksum, definition=template.to_dict())
        session.add(same)
        session.flush()
    return same


def capped_hours(hours: list[int], cap: int) -> list[int]:
    """At most `cap` reminder offsets, the ones nearest the close kept (72 h and 24 h of 120, 72, 24 with a cap of
    two), latest first as stored."""
    return sorted(sorted(set(hours))[:cap], reverse=True)


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
    cap = work.settings.survey_max_reminders
    hours = sorted(set(data.reminder_hours), reverse=True)
    if len(hours) > cap:
        if "reminder_hours" in data.model_fields_set:  # asked for explicitly: say so, rather than drop some
            raise SurveyError(f"リマインドは{cap}回までです", "reminder_hours",
                              f"at most {cap} reminders per survey (SURVEY_MAX_REMINDERS)")
        hours = capped_hours(hours, cap)
    survey = Survey(
        template_version_id=version.id, title=data.title or version.definition["title"],
        opens_at=data.opens_at or clock.now(), closes_at=data.closes_at, anonymous=data.anonymous,
        audience_subcommittee_ids=sorted(ids), reminder_hours=hours,
        target_year=data.target_year, status="draft",
    )
    session.add(survey)
    session.flush()
    work.audit("survey.create", f"survey:{survey.id}", survey.title)
    return survey


def audience_query(survey: Survey, *, counted: bool = False) -> Any:
    """Members the survey is for: active, and in one of its subcommittees when it names any. counted=True (the
    response rate's denominator): also those who retired after it opened, since they were asked."""
    if counted and survey.opened_at is not None:
        query = select(Member).where(members.serving_at(survey.opened_at))
    else:
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
    for hours in capped_hours(survey.reminder_hours, work.settings.survey_max_reminders):
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
        if survey is None or not accepting(survey, now) or reminders_sent(session, survey) >= \
                settings.survey_max_reminders:  # the cap holds also for reminders made before it was lowered
            reminder.status = "skipped"
            continue
        if clock.outside_quiet_hours(now, settings.quiet_hours_start, settings.quiet_hours_end) != now:
            continue  # night in Japan: it waits for the morning (and is skipped if the survey closes first)
        reminder.recipients = remind(work, survey)
        reminder.status, reminder.sent_at = "sent", now
        done["reminders"] += 1
        metrics.REMINDERS.labels("survey").inc()
    return done


def reminders_sent(session: Session, survey: Survey) -> int:
    return int(session.scalar(select(func.count()).select_from(SurveyReminder).where(
        SurveyReminder.survey_id == survey.id, SurveyReminder.status == "sent")) or 0)


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


def sent_while_open(session: Session, member: Member) -> list[Survey]:
    """Open surveys the member has already sent their answers to."""
    now = clock.now()
    return list(session.scalars(
        select(Survey).join(SurveyResponse, SurveyResponse.survey_id == Survey.id)
        .where(Survey.status == "open", Survey.closes_at > now, SurveyResponse.member_id == member.id,
               SurveyResponse.status == "submitted").order_by(Survey.closes_at)))


def counts(session: Session, survey: Survey) -> tuple[int, int]:
    """(members who sent their answers, members in the audience)."""
    audience = session.scalar(select(func.count()).select_from(audience_query(survey, counted=True).subquery())) or 0
    answered = session.scalar(select(func.count()).select_from(SurveyResponse).where(
        SurveyResponse.survey_id == survey.id, SurveyResponse.status == "submitted")) or 0
    return int(answered), int(audience)


# --------------------------------------------------------------------------- after the last reminder: calls, paper

CALL_ORDER = {"phone": 0, "paper": 1, None: 2, "line": 3}  # whom to ring first: those who asked for a call


def call_list(session: Session, survey: Survey) -> dict[str, Any]:
    """The members of the audience who have not sent their answers, with their phone and how they prefer to be
    reached (LINE / 電話 / 紙, on the member), for staff to call once the last reminder has gone (ready); before
    that, when it is due. Those who asked for a call come first, then paper, then the others; by 部会 and name."""
    reminders = session.scalars(select(SurveyReminder).where(SurveyReminder.survey_id == survey.id)
                                .order_by(SurveyReminder.due_at)).all()
    pending = [r for r in reminders if r.status == "pending"]
    sent = [r for r in reminders if r.status == "sent"]
    ready = survey.opened_at is not None and (not pending or survey.status == "closed")
    responses = dict(session.execute(select(SurveyResponse.member_id, SurveyResponse.status)
                                     .where(SurveyResponse.survey_id == survey.id)).all())
    rows = []
    for member, subcommittee in session.execute(
            audience_query(survey).add_columns(Subcommittee.name)
            .outerjoin(Subcommittee, Subcommittee.id == Member.subcommittee_id)):
        if responses.get(member.id) == "submitted":
            continue
        method = member.contact_method if member.contact_method in CALL_ORDER else None
        rows.append({"member_id": member.id, "name": member.name, "subcommittee": subcommittee, "phone": member.phone,
                     "contact_method": method,
                     "contact_label": members.CONTACT_LABELS[members.ContactMethod(method)] if method else "未設定",
                     "linked": member.user_id is not None, "started": member.id in responses})
    rows.sort(key=lambda r: (CALL_ORDER[r["contact_method"]], r["subcommittee"] or "\uffff", r["name"],
                             r["member_id"]))
    answered, audience = counts(session, survey)
    return {"ready": ready, "rows": rows if ready else [], "waiting": len(rows),
            "last_reminder_at": sent[-1].sent_at if sent else None,
            "next_reminder_at": pending[0].due_at if pending and not ready else None,
            "reminders_sent": len(sent), "answered": answered, "audience": audience}


class PaperInput(BaseModel):
    """A member's answers from a paper form, as staff enter them (console, API): by question id, a choice's words
    (a list for a multiple question) or a text; blank or missing: not answered."""

    model_config = ConfigDict(extra="forbid")

    member_id: int = Field(ge=1, le=2_147_483_647, title="委員")
    answers: dict[str, str | list[str] | None] = Field(max_length=100, title="回答")


class AlreadyAnswered(SurveyError):
    """The member's answers are already in: a paper answer is counted once."""


def paper_members(session: Session, survey: Survey) -> list[tuple[Member, str | None]]:
    """Members whose paper answers can be entered: in the survey's audience (as its response rate counts them)
    and not yet answered; those who prefer paper first."""
    answered = select(SurveyResponse.member_id).where(SurveyResponse.survey_id == survey.id,
                                                      SurveyResponse.status == "submitted")
    found = session.execute(audience_query(survey, counted=True).where(Member.id.not_in(answered))
                            .add_columns(Subcommittee.name)
                            .outerjoin(Subcommittee, Subcommittee.id == Member.subcommittee_id)).all()
    return sorted(((m, s) for m, s in found), key=lambda row: (row[0].contact_method != "paper",
                                                                row[1] or "\uffff", row[0].name, row[0].id))


def paper_answers(template: Template, given: dict[str, Any]) -> dict[str, Any]:
    """Answers as written on a paper form, checked against the template: a choice must be one of the question's,
    a text at most TEXT_ANSWER_LIMIT characters; blanks are left unanswered (a paper form may skip a question,
    required or not), answers to questions the form's own answers hide are dropped. Errors name the question
    (loc: answers, question id)."""
    errors: list[dict[str, Any]] = []

    def refuse(qid: str, japanese: str, english: str) -> None:
        errors.append({"loc": ["answers", qid], "msg": english, "type": "value_error", "ja": japanese})

    answers: dict[str, Any] = {}
    known = {q.id for q in template.questions}
    for qid in given:
        if qid not in known:
            refuse(str(qid), "このアンケートにない質問です", f"no question '{qid}' in this survey")
    for q in template.questions:
        value = given.get(q.id)
        if value in (None, "", []):
            continue
        if q.kind == "text":
            text = str(value).strip() if isinstance(value, str) else None
            if text is None:
                refuse(q.id, "文字で入れてください", "a text answer must be a string")
            elif len(text) > TEXT_ANSWER_LIMIT:
                refuse(q.id, f"{TEXT_ANSWER_LIMIT}文字までです（{len(text)}文字あります）",
                       f"at most {TEXT_ANSWER_LIMIT} characters")
            elif text:
                answers[q.id] = text
        elif q.kind == "single":
            if not isinstance(value, str) or value not in q.choices:
                refuse(q.id, "選択肢から選んでください", f"must be one of: {', '.join(q.choices)}")
            else:
                answers[q.id] = value
        else:
            ticked = [value] if isinstance(value, str) else value
            if not isinstance(ticked, list) or any(not isinstance(v, str) or v not in q.choices for v in ticked):
                refuse(q.id, "選択肢から選んでください", f"each must be one of: {', '.join(q.choices)}")
            elif len(ticked) > 1 and set(ticked) & set(q.exclusive):
                alone = "、".join(c for c in q.exclusive if c in ticked)
                refuse(q.id, f"「{alone}」はほかの選択肢といっしょに選べません",
                       f"'{alone}' cannot be ticked with other choices")
            else:
                answers[q.id] = [c for c in q.choices if c in ticked]
    if errors:
        raise InputError(errors)
    answers = engine.prune(template, answers)
    if not answers:
        raise Refused("回答がひとつも入っていません", "answers", "no answer given")
    return answers


def record_paper(work: Work, survey: Survey, data: PaperInput) -> SurveyResponse:
    """Answers a member sent on paper, entered by staff: counted in the response rate like answers sent in LINE,
    once (a second entry for the same member is refused). Named survey: the member's response. Anonymous: the
    answers go to anonymous_answer_sets (a random key, no member, no time) and the member is only marked as having
    answered, as when they send in LINE. The audit line names the member, never the answers."""
    session = work.session
    member_id = data.member_id
    if survey.opened_at is None:
        raise SurveyError("まだ開始していないアンケートです", english="the survey has not opened yet")
    member = session.get(Member, member_id)
    in_audience = member is not None and session.scalar(
        select(func.count()).select_from(audience_query(survey, counted=True).where(Member.id == member_id)
                                         .subquery()))
    if member is None or not in_audience:
        raise Refused("このアンケートの対象の委員ではありません", "member_id", "not a member of the survey's audience")
    answers = paper_answers(template_of(session, survey), data.answers)
    response = _response_for_update(session, survey, member)
    if response.status == "submitted":
        raise AlreadyAnswered(f"{member.name}さんの回答はすでに入っています（二重には数えません）",
                              english="this member's answers are already in")
    now = clock.now()
    if survey.anonymous:
        session.add(AnonymousAnswerSet(id=str(uuid.uuid4()), survey_id=survey.id, answers=answers))
        response.answers = {}
    else:
        response.answers = answers
    response.status, response.submitted_at, response.updated_at = "submitted", now, now
    response.current_question, response.reviewing, response.pending = None, False, []
    session.flush()
    work.audit("survey.paper", f"survey:{survey.id}", f"{survey.title}: {member.name}（紙の回答を入力）")
    return response


def _response_for_update(session: Session, survey: Survey, member: Member) -> SurveyResponse:
    """The member's response row, locked (made when there is none; a row made meanwhile by another transaction,
    the member starting in LINE, is taken instead)."""
    query = select(SurveyResponse).where(SurveyResponse.survey_id == survey.id,
                                         SurveyResponse.member_id == member.id).with_for_update()
    response = session.scalars(query).one_or_none()
    if response is None:
        try:
            with session.begin_nested():
                response = SurveyResponse(survey_id=survey.id, member_id=member.id, answers={}, pending=[])
                session.add(response)
        except IntegrityError:
            response = session.scalars(query).one()
    return response
