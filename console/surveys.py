"""Surveys in the console: create, open, close, the live response rate, results with charts, CSV downloads."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from bot import clock
from console.deps import Editor, FormError, Id, Posted, StaffDep, get_or_404, parse_local, redirect, render, runtime_of
from db.base import transaction
from db.models import Subcommittee, Survey
from staff.service import record
from surveys import results, service

router = APIRouter(prefix="/surveys")
STATUSES = {"draft": "準備中", "scheduled": "開始予約", "open": "回答受付中", "closed": "締切"}


def _get(session: Any, survey_id: Id) -> Survey:
    return get_or_404(session, Survey, survey_id, "アンケート")


def _list(request: Request, staff: Any, status_code: int = 200, **context: Any) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        rows = []
        for survey in session.scalars(select(Survey).order_by(Survey.id.desc()).limit(200)):
            answered, audience = service.counts(session, survey)
            rows.append({"survey": survey, "answered": answered, "audience": audience,
                         "percent": round(100 * answered / audience) if audience else 0})
        versions = service.sync_templates(session)
        templates = {key: v.definition["title"] for key, v in versions.items()}
        subcommittees = list(session.scalars(select(Subcommittee.name).order_by(Subcommittee.id)))
    return render(request, "surveys.html", staff, status_code, rows=rows, statuses=STATUSES, templates=templates,
                  subcommittees=subcommittees, **context)


@router.get("", response_class=HTMLResponse, include_in_schema=False)
def list_surveys(request: Request, staff: StaffDep) -> HTMLResponse:
    return _list(request, staff)


@router.post("", response_class=HTMLResponse, include_in_schema=False)
def create_survey(request: Request, staff: Editor, form: Posted) -> Response:
    try:
        with transaction(runtime_of(request).sessions) as session:
            names = [str(n) for n in form.getlist("subcommittee")]
            ids = list(session.scalars(select(Subcommittee.id).where(Subcommittee.name.in_(names))))
            if len(ids) != len(set(names)):
                raise FormError("部会を選び直してください")
            opens = str(form.get("opens_at", "")).strip()
            try:
                survey = service.create(
                    session, template_key=str(form.get("template", "")), title=str(form.get("title", "")) or None,
                    opens_at=parse_local(opens, "開始") if opens else clock.now(),
                    closes_at=parse_local(str(form.get("closes_at", "")), "締切"),
                    anonymous=form.get("anonymous") == "on", subcommittee_ids=ids,
                    target_year=str(form.get("target_year", "")).strip() or None)
            except service.SurveyError as exc:
                raise FormError(str(exc)) from None
            record(session, actor=staff.name, action="survey.create", target=f"survey:{survey.id}",
                   detail=survey.title)
    except FormError as exc:
        return _list(request, staff, 422, error=str(exc), form=form)
    return redirect("/console/surveys", "created")


@router.post("/{survey_id}/open", include_in_schema=False)
def open_survey(request: Request, staff: Editor, form: Posted, survey_id: Id) -> Response:
    runtime = runtime_of(request)
    with transaction(runtime.sessions) as session:
        survey = _get(session, survey_id)
        try:
            invited = service.open_survey(session, survey=survey, outbox=runtime.gateway.outbox)
        except service.SurveyError as exc:
            raise HTTPException(409, f"開始できません: {exc}") from None
        record(session, actor=staff.name, action="survey.open", target=f"survey:{survey.id}",
               detail=f"{survey.title}（案内 {invited}人）")
    runtime.gateway.wake()
    return redirect(f"/console/surveys/{survey_id}", "opened")


@router.post("/{survey_id}/close", include_in_schema=False)
def close_survey(request: Request, staff: Editor, form: Posted, survey_id: Id) -> Response:
    with transaction(runtime_of(request).sessions) as session:
        survey = _get(session, survey_id)
        service.close_survey(session, survey=survey)
        record(session, actor=staff.name, action="survey.close", target=f"survey:{survey.id}", detail=survey.title)
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
