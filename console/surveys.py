"""Surveys in the console: create, open, close, the live response rate, results with charts, CSV downloads."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.inputs import InputError, validate
from console.deps import (
    Editor,
    FormError,
    Id,
    Posted,
    Staff,
    StaffDep,
    get_or_404,
    parse_local,
    redirect,
    render,
    runtime_of,
)
from db.models import Survey
from members import service as members
from surveys import results, service
from surveys.service import STATUSES, SurveyInput

router = APIRouter(prefix="/surveys")


def _get(session: Session, survey_id: Id) -> Survey:
    return get_or_404(session, Survey, survey_id, "アンケート")


def _list(request: Request, staff: Staff, status_code: int = 200, **context: Any) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        rows = []
        for survey in session.scalars(select(Survey).order_by(Survey.id.desc()).limit(200)):
            answered, audience = service.counts(session, survey)
            rows.append({"survey": survey, "answered": answered, "audience": audience,
                         "percent": round(100 * answered / audience) if audience else 0})
        versions = service.sync_templates(session)
        templates = {key: v.definition["title"] for key, v in versions.items()}
        subcommittees = members.subcommittee_names(session)
    return render(request, "surveys.html", staff, status_code, rows=rows, statuses=STATUSES, templates=templates,
                  subcommittees=subcommittees, **context)


@router.get("", response_class=HTMLResponse, include_in_schema=False)
def list_surveys(request: Request, staff: StaffDep) -> HTMLResponse:
    return _list(request, staff)


@router.post("", response_class=HTMLResponse, include_in_schema=False)
def create_survey(request: Request, staff: Editor, form: Posted) -> Response:
    try:
        opens = str(form.get("opens_at", "")).strip()
        data = validate(SurveyInput, {
            "template_id": str(form.get("template", "")), "title": str(form.get("title", "")),
            "opens_at": parse_local(opens, "開始") if opens else None,
            "closes_at": parse_local(str(form.get("closes_at", "")), "締切"),
            "anonymous": form.get("anonymous") == "on", "subcommittees": [str(n) for n in form.getlist("subcommittee")],
            "target_year": str(form.get("target_year", ""))})
        with runtime_of(request).work(staff.name) as work:
            service.create(work, data)
    except InputError as exc:
        return _list(request, staff, 422, error=exc.japanese(), form=form)
    except FormError as exc:
        return _list(request, staff, 422, error=str(exc), form=form)
    return redirect("/console/surveys", "created")


@router.post("/{survey_id}/open", include_in_schema=False)
def open_survey(request: Request, staff: Editor, form: Posted, survey_id: Id) -> Response:
    with runtime_of(request).work(staff.name) as work:
        try:
            service.open_survey(work, _get(work.session, survey_id))
        except service.SurveyError as exc:
            raise HTTPException(409, f"開始できません: {exc}") from None
    return redirect(f"/console/surveys/{survey_id}", "opened")


@router.post("/{survey_id}/close", include_in_schema=False)
def close_survey(request: Request, staff: Editor, form: Posted, survey_id: Id) -> Response:
    with runtime_of(request).work(staff.name) as work:
        service.close_survey(work, _get(work.session, survey_id))
    return redirect(f"/console/surveys/{survey_id}", "closed")


@router.get("/{survey_id}", response_class=HTMLResponse, include_in_schema=False)
def survey_results(request: Request, staff: StaffDep, survey_id: Id) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        survey = _get(session, survey_id)
        data = results.compute(session, survey)
    charts = {q["id"]: results.question_chart(q) for q in data["questions"] if q.get("choices")}
    return render(request, "survey.html", staff, survey=survey, data=data, statuses=STATUSES, charts=charts,
                  indicators_chart=results.indicators_chart(data) if data["indicators"] else None)


@router.get("/{survey_id}/{kind}.csv", include_in_schema=False)
def download(request: Request, staff: StaffDep, survey_id: Id, kind: str) -> Response:
    """The page's CSVs; they follow the page's small-group rule and the API's exports (the same functions)."""
    with runtime_of(request).sessions() as session:
        survey = _get(session, survey_id)
        if kind == "answers":
            data = results.answers_csv(session, survey)
        elif kind == "summary":
            data = results.summary_csv(results.compute(session, survey))
        else:
            raise HTTPException(404, "ありません")
    return Response(data, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="survey-{survey_id}-{kind}.csv"'})
