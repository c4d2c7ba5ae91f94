"""Surveys: templates, create, open, close, results (JSON, CSV, SVG charts)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select

from api.deps import Id, Moment, RuntimeDep, not_found
from bot import clock
from db.base import transaction
from db.models import Subcommittee, Survey
from surveys import results, service

router = APIRouter(tags=["surveys"])


class SurveyIn(BaseModel):
    template_id: str = Field(min_length=1, max_length=60)
    title: str | None = Field(None, min_length=1, max_length=100)
    opens_at: Moment | None = Field(None, description="default: now")
    closes_at: Moment
    anonymous: bool = True
    subcommittees: list[str] = Field(default_factory=list, description="部会 names; empty: all members")
    reminder_hours: list[int] = Field(default_factory=lambda: [72, 24], max_length=5)
    target_year: str | None = Field(None, max_length=10, description="which year's target to judge against")

    @model_validator(mode="after")
    def _times(self) -> SurveyIn:
        if self.closes_at <= (self.opens_at or clock.now()):
            raise ValueError("closes_at must be after opens_at (and in the future)")
        if any(not 0 < h <= 24 * 60 for h in self.reminder_hours):
            raise ValueError("reminder_hours must be between 1 and 1440")
        return self


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


def _out(session: Any, survey: Survey) -> SurveyOut:
    answered, audience = service.counts(session, survey)
    return SurveyOut(id=survey.id, title=survey.title, template_id=service.template_of(session, survey).id,
                     template_version_id=survey.template_version_id, status=survey.status,
                     anonymous=survey.anonymous, opens_at=survey.opens_at, closes_at=survey.closes_at,
                     subcommittee_ids=survey.audience_subcommittee_ids, answered=answered, audience=audience)


@router.get("/survey-templates")
def list_templates(runtime: RuntimeDep) -> list[dict[str, Any]]:
    with transaction(runtime.sessions) as session:
        versions = service.sync_templates(session)
        return [{**results.template_summary(service.definition.from_dict(v.definition)),
                 "version": v.version, "version_id": v.id} for v in versions.values()]


@router.post("/surveys", status_code=status.HTTP_201_CREATED, response_model=SurveyOut)
def create_survey(body: SurveyIn, runtime: RuntimeDep) -> SurveyOut:
    with transaction(runtime.sessions) as session:
        ids = []
        for name in body.subcommittees:
            found = session.scalars(select(Subcommittee.id).where(Subcommittee.name == name.strip())).one_or_none()
            if found is None:
                raise HTTPException(422, [{"loc": ["body", "subcommittees"], "msg": f"unknown 部会 '{name}'",
                                           "type": "value_error"}])
            ids.append(found)
        try:
            survey = service.create(
                session, template_key=body.template_id, title=body.title, opens_at=body.opens_at or clock.now(),
                closes_at=body.closes_at, anonymous=body.anonymous, subcommittee_ids=ids,
                reminder_hours=body.reminder_hours, target_year=body.target_year)
        except service.SurveyError as exc:
            raise HTTPException(422, [{"loc": ["body", "template_id"], "msg": str(exc), "type": "value_error"}]) \
                from None
        return _out(session, survey)


def _survey(session: Any, survey_id: Id) -> Survey:
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
    with transaction(runtime.sessions) as session:
        survey = _survey(session, survey_id)
        try:
            invited = service.open_survey(session, survey=survey, outbox=runtime.gateway.outbox)
        except service.SurveyError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        result = {"id": survey.id, "status": survey.status, "invitations": invited}
    runtime.gateway.wake()
    return result


@router.post("/surveys/{survey_id}/close")
def close_survey(survey_id: Id, runtime: RuntimeDep) -> dict[str, Any]:
    with transaction(runtime.sessions) as session:
        survey = _survey(session, survey_id)
        service.close_survey(session, survey=survey)
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
    """Every sent response, one per row (anonymous surveys: answers only)."""
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
