"""Surveys: templates, create, open, close, results (JSON, CSV, SVG charts)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.deps import API_ACTOR, Id, RuntimeDep, invalid, not_found
from bot.inputs import InputError
from db.models import Survey
from surveys import results, service
from surveys.service import SurveyInput

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
    subcommittee_ids: list[int]
    answered: int
    audience: int


def _out(session: Session, survey: Survey) -> SurveyOut:
    answered, audience = service.counts(session, survey)
    return SurveyOut(id=survey.id, title=survey.title, template_id=service.template_of(session, survey).id,
                     template_version_id=survey.template_version_id, status=survey.status,
                     anonymous=survey.anonymous, opens_at=survey.opens_at, closes_at=survey.closes_at,
                     subcommittee_ids=survey.audience_subcommittee_ids, answered=answered, audience=audience)


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


def _csv_response(data: bytes, filename: str) -> Response:
    return Response(data, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/surveys/{survey_id}/results.csv", response_class=Response)
def results_csv(survey_id: Id, runtime: RuntimeDep) -> Response:
    """Every sent response, one per row. Anonymous surveys: answers only (no member, no time), ordered by value,
    and none at all below the small-group threshold, as on the console page (surveys.results.answers_withheld)."""
    with runtime.sessions() as session:
        return _csv_response(results.answers_csv(session, _survey(session, survey_id)), f"survey-{survey_id}.csv")


@router.get("/surveys/{survey_id}/summary.csv", response_class=Response)
def summary_csv(survey_id: Id, runtime: RuntimeDep) -> Response:
    with runtime.sessions() as session:
        data = results.summary_csv(results.compute(session, _survey(session, survey_id)))
        return _csv_response(data, f"survey-{survey_id}-summary.csv")


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
