"""Surveys: templates, create, open, close, results (JSON, CSV, .xlsx, SVG charts)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.deps import API_ACTOR, Id, RuntimeDep, invalid, not_found
from bot import sheets
from bot.inputs import InputError
from db.models import Survey
from surveys import results, service
from surveys.service import PaperInput, SurveyInput

router = APIRouter(tags=["surveys"])


class SurveyOut(BaseModel):
    id: int
    title: str
    template_id: str
    template_version_id: int
    status: str
    anonymous: bool
    opens_at: dt.datetime
    closes_at: dt.datetime
    opened_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None  # when it was closed: before closes_at when closed early
    subcommittee_ids: list[int]
    answered: int
    audience: int
    kind: str = "survey"  # survey | pulse (the short survey after a meeting)
    event_id: int | None = None  # a pulse's meeting


class CallOut(BaseModel):
    member_id: int
    name: str
    subcommittee: str | None
    phone: str | None
    contact_method: str | None  # line | phone | paper; None: not said
    contact_label: str
    linked: bool
    started: bool


class CallListOut(BaseModel):
    ready: bool  # the last reminder has gone (or the survey closed): rows lists who has not answered
    rows: list[CallOut]
    waiting: int
    last_reminder_at: dt.datetime | None
    next_reminder_at: dt.datetime | None
    reminders_sent: int
    answered: int
    audience: int


class PaperOut(BaseModel):
    survey_id: int
    member_id: int
    answered: int
    audience: int


def _out(session: Session, survey: Survey) -> SurveyOut:
    answered, audience = service.counts(session, survey)
    return SurveyOut(id=survey.id, title=survey.title, template_id=service.template_of(session, survey).id,
                     template_version_id=survey.template_version_id, status=survey.status,
                     anonymous=survey.anonymous, opens_at=survey.opens_at, closes_at=survey.closes_at,
                     opened_at=survey.opened_at, closed_at=survey.closed_at,
                     subcommittee_ids=survey.audience_subcommittee_ids, answered=answered, audience=audience,
                     kind=survey.kind, event_id=survey.event_id)


@router.get("/survey-templates")
def list_templates(runtime: RuntimeDep) -> list[dict[str, Any]]:
    with runtime.work(API_ACTOR) as work:
        versions = service.sync_templates(work.session)
        return [{**results.template_summary(service.definition.from_dict(v.definition)),
                 "version": v.version, "version_id": v.id} for v in versions.values()]


@router.post("/surveys", status_code=status.HTTP_201_CREATED, response_model=SurveyOut)
def create_survey(body: SurveyInput, runtime: RuntimeDep) -> SurveyOut:
    try:
        with runtime.work(API_ACTOR) as work:
            return _out(work.session, service.create(work, body))
    except InputError as exc:
        raise invalid(exc) from None


def _survey(session: Session, survey_id: Id) -> Survey:
    survey = session.get(Survey, survey_id)
    if survey is None:
        raise not_found("survey")
    return survey


@router.get("/surveys/{survey_id}", response_model=SurveyOut)
def get_survey(survey_id: Id, runtime: RuntimeDep) -> SurveyOut:
    with runtime.sessions() as session:
        return _out(session, _survey(session, survey_id))


@router.post("/surveys/{survey_id}/open",
             responses={409: {"description": "already open or closed, or the close time has passed"}})
def open_survey(survey_id: Id, runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.work(API_ACTOR) as work:
        survey = _survey(work.session, survey_id)
        try:
            invited = service.open_survey(work, survey)
        except service.SurveyError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, exc.english()) from None
        return {"id": survey.id, "status": survey.status, "invitations": invited}


@router.post("/surveys/{survey_id}/close")
def close_survey(survey_id: Id, runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.work(API_ACTOR) as work:
        survey = _survey(work.session, survey_id)
        service.close_survey(work, survey)
        return {"id": survey.id, "status": survey.status}


@router.get("/surveys/{survey_id}/results")
def get_results(survey_id: Id, runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.sessions() as session:
        return results.compute(session, _survey(session, survey_id))


def _download(survey: Survey, what: str, ext: str, data: bytes) -> Response:
    name, fallback = results.export_name(survey, what, ext)
    return Response(data, media_type=sheets.CSV_TYPE if ext == "csv" else sheets.XLSX_TYPE,
                    headers={"Content-Disposition": sheets.disposition(name, fallback)})


@router.get("/surveys/{survey_id}/results.csv", response_class=Response)
def results_csv(survey_id: Id, runtime: RuntimeDep) -> Response:
    """Every sent response, one per row. Anonymous surveys: answers only (no member, no time), ordered by value,
    and none at all below the small-group threshold, as on the console page (surveys.results.answers_withheld)."""
    with runtime.sessions() as session:
        survey = _survey(session, survey_id)
        return _download(survey, "回答", "csv", results.answers_csv(session, survey))


@router.get("/surveys/{survey_id}/results.xlsx", response_class=Response)
def results_xlsx(survey_id: Id, runtime: RuntimeDep) -> Response:
    """results.csv as a workbook (with a sheet of the questions), under the same rules."""
    with runtime.sessions() as session:
        survey = _survey(session, survey_id)
        return _download(survey, "回答", "xlsx", results.answers_xlsx(session, survey))


@router.get("/surveys/{survey_id}/summary.csv", response_class=Response)
def summary_csv(survey_id: Id, runtime: RuntimeDep) -> Response:
    with runtime.sessions() as session:
        survey = _survey(session, survey_id)
        return _download(survey, "集計", "csv", results.summary_csv(results.compute(session, survey)))


@router.get("/surveys/{survey_id}/summary.xlsx", response_class=Response)
def summary_xlsx(survey_id: Id, runtime: RuntimeDep) -> Response:
    with runtime.sessions() as session:
        survey = _survey(session, survey_id)
        return _download(survey, "集計", "xlsx", results.summary_xlsx(results.compute(session, survey)))


@router.get("/surveys/{survey_id}/charts/{name}.svg", response_class=Response)
def chart(survey_id: Id, name: str, runtime: RuntimeDep) -> Response:
    """`indicators` or a question id."""
    with runtime.sessions() as session:
        data = results.compute(session, _survey(session, survey_id))
    if name == "indicators":
        return Response(results.indicators_chart(data), media_type="image/svg+xml")
    question = next((q for q in data["questions"] if q["id"] == name), None)
    if question is None:
        raise not_found("question")
    return Response(results.question_chart(question), media_type="image/svg+xml")


@router.get("/surveys/{survey_id}/call-list", response_model=CallListOut)
def call_list(survey_id: Id, runtime: RuntimeDep) -> CallListOut:
    """After the last reminder: the members of the audience who have not answered, with their phone and how they
    prefer to be reached (LINE / 電話 / 紙); before it, `ready` is false and `rows` empty."""
    with runtime.sessions() as session:
        return CallListOut.model_validate(service.call_list(session, _survey(session, survey_id)))


@router.post("/surveys/{survey_id}/paper-answers", status_code=status.HTTP_201_CREATED, response_model=PaperOut,
             responses={409: {"description": "the member's answers are already in, or the survey has not opened"}})
def paper_answers(survey_id: Id, body: PaperInput, runtime: RuntimeDep) -> PaperOut:
    """A member's answers from a paper form, counted once in the response rate (anonymous surveys: stored apart
    from the member, as answers sent in LINE are)."""
    try:
        with runtime.work(API_ACTOR) as work:
            survey = _survey(work.session, survey_id)
            service.record_paper(work, survey, body)
            answered, audience = service.counts(work.session, survey)
    except service.SurveyError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, exc.english()) from None
    except InputError as exc:
        raise invalid(exc) from None
    except IntegrityError:  # the same member entered at the same moment elsewhere: the first one counts
        raise HTTPException(status.HTTP_409_CONFLICT, "this member's answers are already in") from None
    return PaperOut(survey_id=survey_id, member_id=body.member_id, answered=answered, audience=audience)


@router.get("/pulse-trend")
def pulse_trend(runtime: RuntimeDep, year: int | None = Query(None, ge=2000, le=2100)) -> dict[str, Any]:
    """Both indicators meeting by meeting (the pulses of a fiscal year, default this one: 2026 = 令和8年度) against
    the baseline and the year's target, with the yearly questionnaire's figure; fewer than 3 answers: no share."""
    with runtime.sessions() as session:
        return results.pulse_trend(session, year)


@router.get("/pulse-trend/{question}.svg", response_class=Response)
def pulse_trend_chart(question: str, runtime: RuntimeDep, year: int | None = Query(None, ge=2000, le=2100)
                      ) -> Response:
    """The trend chart of one indicator (`exchange` or `feedback`)."""
    with runtime.sessions() as session:
        trend = results.pulse_trend(session, year)
    index = next((i for i, ind in enumerate(trend["indicators"]) if ind["question"] == question), None)
    if index is None:
        raise not_found("indicator")
    return Response(results.trend_chart(trend, index), media_type="image/svg+xml")
