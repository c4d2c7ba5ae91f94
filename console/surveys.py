"""Surveys in the console: create, open, close, the live response rate, results with charts, downloads (CSV and
.xlsx); the pulses after meetings and their trend against the baseline and the year's target; the call list after
the last reminder (printable) and answers entered from paper. A form refused keeps everything typed, ticked and
chosen, and says what is wrong next to each field."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import clock, sheets
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
from db.models import Event, Member, Survey
from members import service as members
from surveys import definition, results, service
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
                         "percent": round(100 * answered / audience) if audience else 0,
                         "closed_early": results.closed_early(survey), "pulse": survey.kind == "pulse"})
        versions = service.sync_templates(session)
        subcommittees = members.subcommittee_names(session)
    this_year = results.fiscal_year(clock.now())
    templates, hints = {}, {}
    for key, version in versions.items():
        templates[key] = version.definition["title"]
        hint = results.target_hint(definition.from_dict(version.definition), this_year)
        if hint:
            hints[key] = {**hint, "title": version.definition["title"]}
    form = context.pop("form", None)
    errors: dict[str, str] = context.pop("errors", {})
    return render(request, "surveys.html", staff, status_code, rows=rows, statuses=STATUSES, templates=templates,
                  subcommittees=subcommittees, chosen=_chosen(form), target_hints=hints, errors=errors,
                  first_error=next(iter(errors), ""), row_errors=context.pop("row_errors", {}),
                  this_year=results.fiscal_year_label(this_year), **context)


def _chosen(form: Any) -> dict[str, Any]:
    """What the create form shows: as typed after an error, the defaults on a fresh page (匿名 ticked)."""
    if form is None:
        return {"template": "", "title": "", "opens_at": "", "closes_at": "", "target_year": "",
                "subcommittees": [], "anonymous": True}
    return {"template": str(form.get("template", "")), "title": str(form.get("title", "")),
            "opens_at": str(form.get("opens_at", "")), "closes_at": str(form.get("closes_at", "")),
            "target_year": str(form.get("target_year", "")),
            "subcommittees": [str(n) for n in form.getlist("subcommittee")], "anonymous": form.get("anonymous") == "on"}


def _label(key: str) -> str:
    info = SurveyInput.model_fields.get(key)
    return info.title if info is not None and info.title else key


def _moment(form: Any, key: str, label: str, errors: dict[str, str]) -> Any:
    text = str(form.get(key, "")).strip()
    if not text:
        return None
    try:
        return parse_local(text, label)
    except FormError as exc:
        errors[key] = str(exc)
        return None


@router.get("", response_class=HTMLResponse, include_in_schema=False)
def list_surveys(request: Request, staff: StaffDep) -> HTMLResponse:
    return _list(request, staff)


@router.post("", response_class=HTMLResponse, include_in_schema=False)
def create_survey(request: Request, staff: Editor, form: Posted) -> Response:
    errors: dict[str, str] = {}
    fields: dict[str, Any] = {
        "template_id": str(form.get("template", "")), "title": str(form.get("title", "")),
        "opens_at": _moment(form, "opens_at", "開始", errors),
        "anonymous": form.get("anonymous") == "on", "subcommittees": [str(n) for n in form.getlist("subcommittee")],
        "target_year": str(form.get("target_year", ""))}
    closes = _moment(form, "closes_at", "締切", errors)
    if closes is not None or "closes_at" in errors:
        fields["closes_at"] = closes
    try:
        data = validate(SurveyInput, fields)
        if errors:  # a date that could not be read: said next to it, with the other fields' errors if any
            raise InputError([])
        with runtime_of(request).work(staff.name) as work:
            service.create(work, data)
    except InputError as exc:
        for key, message in exc.by_field().items():
            errors.setdefault(key or "form", message)
        summary = "。".join(errors.values())
        # next to its field, the message need not name the field again (「締切: 開始より後…」 → 「開始より後…」)
        beside = {key: message.removeprefix(f"{_label(key)}: ") for key, message in errors.items()}
        return _list(request, staff, 422, error=f"入力を確かめてください。{summary}", errors=beside, form=form)
    return redirect("/console/surveys", "created")


@router.post("/{survey_id}/open", response_class=HTMLResponse, include_in_schema=False)
def open_survey(request: Request, staff: Editor, form: Posted, survey_id: Id) -> Response:
    try:
        with runtime_of(request).work(staff.name) as work:
            service.open_survey(work, _get(work.session, survey_id))
    except service.SurveyError as exc:
        message = f"開始できません: {exc}"
        return _list(request, staff, 409, error=message, row_errors={survey_id: message})
    return redirect(f"/console/surveys/{survey_id}", "opened")


@router.post("/{survey_id}/close", include_in_schema=False)
def close_survey(request: Request, staff: Editor, form: Posted, survey_id: Id) -> Response:
    with runtime_of(request).work(staff.name) as work:
        service.close_survey(work, _get(work.session, survey_id))
    return redirect(f"/console/surveys/{survey_id}", "closed")


@router.get("/pulse", response_class=HTMLResponse, include_in_schema=False)
def pulse_trend(request: Request, staff: StaffDep, year: int | None = None) -> HTMLResponse:
    """Both indicators meeting by meeting (the pulses after each meeting of a fiscal year) against the baseline and
    the year's target, beside the yearly questionnaire's figure."""
    if year is not None and not 2000 <= year <= 2100:
        raise HTTPException(404, "その年度はありません")
    with runtime_of(request).sessions() as session:
        trend = results.pulse_trend(session, year)
        years = results.pulse_years(session)
    if trend["year"] not in years:
        years = sorted({*years, trend["year"]}, reverse=True)
    charts = [results.trend_chart(trend, i, titled=False) for i in range(len(trend["indicators"]))]
    return render(request, "survey_pulse.html", staff, trend=trend, charts=charts, statuses=STATUSES,
                  years=[(y, results.fiscal_year_label(y)) for y in years],
                  delay=runtime_of(request).settings.pulse_delay_minutes)


@router.get("/{survey_id}", response_class=HTMLResponse, include_in_schema=False)
def survey_results(request: Request, staff: StaffDep, survey_id: Id) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        survey = _get(session, survey_id)
        data = results.compute(session, survey)
        meeting = session.get(Event, survey.event_id) if survey.event_id is not None else None
    # the page has each question as its heading: the chart does not say it again
    charts = {q["id"]: results.question_chart(q, titled=False) for q in data["questions"] if q.get("choices")}
    return render(request, "survey.html", staff, survey=survey, data=data, statuses=STATUSES, charts=charts,
                  closed_early=results.closed_early(survey), meeting=meeting,
                  indicators_chart=results.indicators_chart(data, titled=False) if data["indicators"] else None)


@router.get("/{survey_id}/calls", response_class=HTMLResponse, include_in_schema=False)
def call_list(request: Request, staff: StaffDep, survey_id: Id) -> HTMLResponse:
    """The printable call list: after the last reminder, who has not answered, with phone and preference."""
    with runtime_of(request).sessions() as session:
        survey = _get(session, survey_id)
        calls = service.call_list(session, survey)
    return render(request, "survey_calls.html", staff, survey=survey, calls=calls, statuses=STATUSES,
                  max_reminders=runtime_of(request).settings.survey_max_reminders, now=clock.now())


def _paper_page(request: Request, staff: Staff, survey_id: int, status_code: int = 200, **context: Any
                ) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        survey = _get(session, survey_id)
        template = service.template_of(session, survey)
        candidates = [{"id": m.id, "name": m.name, "subcommittee": sub, "paper": m.contact_method == "paper"}
                      for m, sub in service.paper_members(session, survey)]
        answered, audience = service.counts(session, survey)
        entered = context.pop("entered", None)
        entered_name = session.scalar(select(Member.name).where(Member.id == entered)) if entered else None
    conditions = {}
    for q in template.questions:
        if q.show_if is not None:
            target = template.question(q.show_if.question)
            number = template.index(q.show_if.question) + 1
            conditions[q.id] = (f"問{number}（{target.label if target else ''}）で"
                                + "・".join(f"「{c}」" for c in q.show_if.any_of) + "と答えた人だけ")
    return render(request, "survey_paper.html", staff, status_code, survey=survey, form_of=template,
                  candidates=candidates, answered=answered, audience=audience, conditions=conditions,
                  entered_name=entered_name, chosen=context.pop("chosen", {}), errors=context.pop("errors", {}),
                  member_id=context.pop("member_id", None), statuses=STATUSES, **context)


@router.get("/{survey_id}/paper", response_class=HTMLResponse, include_in_schema=False)
def paper_form(request: Request, staff: Editor, survey_id: Id, member: int | None = None,
               entered: int | None = None) -> HTMLResponse:
    """Enter a member's answers from a paper form (one member at a time)."""
    return _paper_page(request, staff, survey_id, member_id=member, entered=entered)


def _given(form: Any, template: definition.Template) -> tuple[dict[str, Any], dict[str, Any]]:
    """The answers as the form posted them (choices by their number) and what to show again after an error."""
    given: dict[str, Any] = {}
    chosen: dict[str, Any] = {}
    for q in template.questions:
        key = f"q.{q.id}"
        if q.kind == "text":
            chosen[q.id] = given[q.id] = str(form.get(key, ""))
            continue
        raw = [str(v) for v in form.getlist(key)] if q.kind == "multiple" else [str(form.get(key, ""))]
        labels = [q.choices[int(v)] if v.isdigit() and int(v) < len(q.choices) else v for v in raw if v]
        chosen[q.id] = labels
        given[q.id] = labels if q.kind == "multiple" else (labels[0] if labels else None)
    return given, chosen


@router.post("/{survey_id}/paper", response_class=HTMLResponse, include_in_schema=False)
def enter_paper(request: Request, staff: Editor, form: Posted, survey_id: Id) -> Response:
    raw_member = str(form.get("member_id", "")).strip()
    member_id = int(raw_member) if raw_member.isdigit() and int(raw_member) <= 2_147_483_647 else None
    with runtime_of(request).sessions() as session:
        template = service.template_of(session, _get(session, survey_id))
    given, chosen = _given(form, template)
    again = {"chosen": chosen, "member_id": member_id}
    if member_id is None:
        return _paper_page(request, staff, survey_id, 422, error="委員を選んでください",
                           errors={"member_id": "委員を選んでください"}, **again)
    try:
        with runtime_of(request).work(staff.name) as work:
            service.record_paper(work, _get(work.session, survey_id),
                                 service.PaperInput(member_id=member_id, answers=given))
    except service.AlreadyAnswered as exc:
        return _paper_page(request, staff, survey_id, 409, error=str(exc), **{**again, "member_id": None})
    except IntegrityError:  # entered at the same moment in another tab: the first one counts
        return _paper_page(request, staff, survey_id, 409, **{**again, "member_id": None},
                           error="この委員の回答はすでに入っています（二重には数えません）")
    except InputError as exc:
        errors: dict[str, str] = {}
        for e in exc.errors:
            loc = e["loc"]
            key = str(loc[1]) if len(loc) > 1 else str(loc[0]) if loc else "form"
            errors.setdefault(key, e["ja"])
        status_code = 409 if isinstance(exc, service.SurveyError) else 422
        return _paper_page(request, staff, survey_id, status_code, error=f"入力を確かめてください。{exc.japanese()}",
                           errors=errors, **again)
    return redirect(f"/console/surveys/{survey_id}/paper?entered={member_id}")


@router.get("/{survey_id}/{kind}.{ext}", include_in_schema=False)
def download(request: Request, staff: StaffDep, survey_id: Id, kind: str, ext: str) -> Response:
    """The page's downloads; they follow the page's small-group rule and the API's exports (the same functions)."""
    if kind not in ("answers", "summary") or ext not in ("csv", "xlsx"):
        raise HTTPException(404, "ありません")
    with runtime_of(request).sessions() as session:
        survey = _get(session, survey_id)
        if kind == "answers":
            data = results.answers_csv(session, survey) if ext == "csv" else results.answers_xlsx(session, survey)
        else:
            computed = results.compute(session, survey)
            data = results.summary_csv(computed) if ext == "csv" else results.summary_xlsx(computed)
        name, fallback = results.export_name(survey, "回答" if kind == "answers" else "集計", ext)
    return Response(data, media_type=sheets.CSV_TYPE if ext == "csv" else sheets.XLSX_TYPE,
                    headers={"Content-Disposition": sheets.disposition(name, fallback)})
