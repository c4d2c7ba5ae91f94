"""Opinions in the console: the inbox (by status, 担当課, overdue) with the feedback loop's figures (live), an
opinion's page (status 受付 → 検討中 → 回答済 → 反映済 or 対応困難 with its reason, 担当課, due date, meeting,
公開, internal memo; the answer pushed to the sender quoting them; their rating), opinions entered by staff, the
担当課 list, each meeting's published table (the public page, CSV and .xlsx), and the full export. A form refused
keeps what was typed, with the reason next to the field."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import clock, sheets
from bot.inputs import InputError, validate
from console.deps import Editor, Id, Posted, Staff, StaffDep, get_or_404, redirect, render, runtime_of
from db.models import Department, Event, Member, Opinion, Subcommittee, User
from opinions import service
from opinions.service import DepartmentInput, OpinionChange, OpinionEntry, ReplyInput

router = APIRouter(prefix="/opinions")
# what the management form sends; a field left out of a post is not changed
CHANGE_FIELDS = ("status", "reason", "department_id", "due_on", "event_id", "memo")


def _get(session: Session, opinion_id: Id) -> Opinion:
    return get_or_404(session, Opinion, opinion_id, "ご意見")


def _labels() -> dict[str, Any]:
    return {"statuses": service.STATUSES, "sources": service.SOURCES, "ratings": service.RATINGS,
            "jday": clock.format_date}


@router.get("", response_class=HTMLResponse, include_in_schema=False)
def inbox(request: Request, staff: StaffDep, status: str = "", department: str = "", overdue: str = ""
          ) -> HTMLResponse:
    today = clock.today_jst()
    with runtime_of(request).sessions() as session:
        query = (select(Opinion, Event.title, Department.name).outerjoin(Event, Event.id == Opinion.event_id)
                 .outerjoin(Department, Department.id == Opinion.department_id))
        if status in service.STATUSES:
            query = query.where(Opinion.status == status)
        if department == "none":
            query = query.where(Opinion.department_id.is_(None))
        elif department.isdigit():
            query = query.where(Opinion.department_id == int(department))
        if overdue:
            query = query.where(Opinion.status.in_(service.OPEN), Opinion.due_on < today)
        rows = list(session.execute(query.order_by(Opinion.id.desc()).limit(300)))
        return render(request, "opinions.html", staff, rows=rows, status=status, department=department,
                      overdue=overdue, today=today, figures=service.figures(session),
                      departments=service.departments(session),
                      meetings=service.meetings_with_opinions(session), **_labels())


@router.get("/figures.json", include_in_schema=False)
def figures(request: Request, staff: StaffDep) -> JSONResponse:
    """The figures as the inbox shows them, for its live refresh (a rating counts the moment it is tapped)."""
    with runtime_of(request).sessions() as session:
        return JSONResponse(service.figures(session))


@router.get(".{ext}", include_in_schema=False)
def export(request: Request, staff: StaffDep, ext: str) -> Response:
    if ext not in ("csv", "xlsx"):
        raise HTTPException(404, "ありません")
    with runtime_of(request).sessions() as session:
        data = service.export_csv(session) if ext == "csv" else service.export_xlsx(session)
    name, fallback = service.export_name(ext)
    return _download(data, ext, name, fallback)


def _download(data: bytes, ext: str, name: str, fallback: str) -> Response:
    return Response(data, media_type=sheets.CSV_TYPE if ext == "csv" else sheets.XLSX_TYPE,
                    headers={"Content-Disposition": sheets.disposition(name, fallback)})


@router.get("/meetings/{event_id}.{ext}", include_in_schema=False)
def published_export(request: Request, staff: StaffDep, event_id: Id, ext: str) -> Response:
    """The meeting's published table for the office: exactly what the public page shows (no memo)."""
    if ext not in ("csv", "xlsx"):
        raise HTTPException(404, "ありません")
    with runtime_of(request).sessions() as session:
        event = service.meeting(session, event_id)
        if event is None:
            raise HTTPException(404, "会議が見つかりません")
        data = service.published_csv(session, event) if ext == "csv" else service.published_xlsx(session, event)
        name, fallback = service.published_name(event, ext)
    return _download(data, ext, name, fallback)


# --------------------------------------------------------------------------- opinions entered by staff


def _choices(session: Session) -> dict[str, Any]:
    members = list(session.execute(select(Member, Subcommittee.name).outerjoin(
        Subcommittee, Subcommittee.id == Member.subcommittee_id).where(Member.active.is_(True))
        .order_by(Member.id)))
    return {"meetings": service.meetings(session), "members": members,
            "departments": service.departments(session, active_only=True),
            "categories": (*service.CATEGORIES, service.PRE_MEETING)}


def _entry_page(request: Request, staff: Staff, status_code: int = 200, **context: Any) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        return render(request, "opinion_form.html", staff, status_code, form=context.pop("form", {}),
                      errors=context.pop("errors", {}), **_choices(session), **_labels(), **context)


@router.get("/new", response_class=HTMLResponse, include_in_schema=False)
def new(request: Request, staff: Editor, event_id: str = "") -> HTMLResponse:
    return _entry_page(request, staff, form={"event_id": event_id, "source": "meeting" if event_id else ""})


def _blank(value: Any) -> Any:
    value = str(value or "").strip()
    return value or None


@router.post("/new", response_class=HTMLResponse, include_in_schema=False)
def enter(request: Request, staff: Editor, form: Posted) -> Response:
    values = {key: str(form.get(key, "")) for key in ("text", "source", "category", "event_id", "member_id", "name",
                                                       "received_on", "department_id", "due_on", "memo")}
    data = {**{key: _blank(value) for key, value in values.items()}, "text": values["text"],
            "name_consent": "name_consent" in form, "public": "public" in form}
    if data["category"] is None:
        data.pop("category")
    try:
        entry = validate(OpinionEntry, data)
        with runtime_of(request).work(staff.name) as work:
            opinion = service.enter(work, entry)
            opinion_id = opinion.id
    except InputError as exc:
        return _entry_page(request, staff, 422, form={**values, "name_consent": data["name_consent"],
                                                      "public": data["public"]},
                           errors=exc.by_field(), error=exc.japanese())
    return redirect(f"/console/opinions/{opinion_id}", "created")


# --------------------------------------------------------------------------- the 担当課 list


def _departments_page(request: Request, staff: Staff, status_code: int = 200, **context: Any) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        return render(request, "opinion_departments.html", staff, status_code,
                      departments=service.departments(session), errors=context.pop("errors", {}), **context)


@router.get("/departments", response_class=HTMLResponse, include_in_schema=False)
def departments(request: Request, staff: StaffDep) -> HTMLResponse:
    return _departments_page(request, staff)


@router.post("/departments", response_class=HTMLResponse, include_in_schema=False)
def create_department(request: Request, staff: Editor, form: Posted) -> Response:
    name = str(form.get("name", ""))
    try:
        data = validate(DepartmentInput, {"name": name})
        with runtime_of(request).work(staff.name) as work:
            service.create_department(work, data)
    except InputError as exc:
        return _departments_page(request, staff, 422, draft=name, errors={"new": exc.japanese()},
                                 error=exc.japanese())
    return redirect("/console/opinions/departments", "created")


@router.post("/departments/{department_id}", response_class=HTMLResponse, include_in_schema=False)
def change_department(request: Request, staff: Editor, form: Posted, department_id: Id) -> Response:
    try:
        with runtime_of(request).work(staff.name) as work:
            department = get_or_404(work.session, Department, department_id, "担当課")
            if "active" in form:
                service.set_department_active(work, department, str(form.get("active")) == "1")
            else:
                service.rename_department(work, department, validate(DepartmentInput,
                                                                     {"name": str(form.get("name", ""))}))
    except InputError as exc:
        return _departments_page(request, staff, 422, errors={department_id: exc.japanese()},
                                 error=exc.japanese())
    return redirect("/console/opinions/departments", "saved")


# --------------------------------------------------------------------------- one opinion


def _page(request: Request, staff: Staff, opinion_id: int, status_code: int = 200, **context: Any) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        opinion = _get(session, opinion_id)
        event = session.get(Event, opinion.event_id) if opinion.event_id else None
        user = session.get(User, opinion.user_id) if opinion.user_id else None
        member = session.get(Member, opinion.member_id) if opinion.member_id else None
        department = session.get(Department, opinion.department_id) if opinion.department_id else None
        choices = service.departments(session, active_only=True)
        if department is not None and department not in choices:
            choices.append(department)  # a retired 担当課 still shows as the opinion's own
        return render(request, "opinion.html", staff, status_code, opinion=opinion, event=event, member=member,
                      department=department, departments=choices, meetings=service.meetings(session),
                      reachable=user is not None and user.is_reachable, overdue=service.overdue(opinion),
                      days=service.days_to_answer(opinion), transitions=service.TRANSITIONS,
                      public_name=service.public_name(opinion), draft_change=context.pop("draft_change", {}),
                      errors=context.pop("errors", {}), **_labels(), **context)


@router.get("/{opinion_id}", response_class=HTMLResponse, include_in_schema=False)
def show(request: Request, staff: StaffDep, opinion_id: Id) -> HTMLResponse:
    return _page(request, staff, opinion_id)


@router.post("/{opinion_id}/status", response_class=HTMLResponse, include_in_schema=False)
def mark(request: Request, staff: Editor, form: Posted, opinion_id: Id) -> Response:
    """The management form: status (and 対応困難's reason), 担当課, due date, meeting, 公開, memo. Only the fields
    the form sends change."""
    given = {key: str(form.get(key, "")) for key in CHANGE_FIELDS if key in form}
    data: dict[str, Any] = {key: (_blank(value) if key != "status" else value.strip() or None)
                            for key, value in given.items()}
    if "public_field" in form:
        data["public"] = "public" in form
    if "status" in given and data["status"] not in service.STATUSES:
        return _page(request, staff, opinion_id, 422, error="状態を選んでください",
                     errors={"status": "状態を選んでください"}, draft_change=given)
    try:
        change = validate(OpinionChange, data)
        with runtime_of(request).work(staff.name) as work:
            service.update(work, _get(work.session, opinion_id), change)
    except InputError as exc:
        return _page(request, staff, opinion_id, 422, error=exc.japanese(), errors=exc.by_field(),
                     draft_change={**given, **({"public": data["public"]} if "public" in data else {})})
    return redirect(f"/console/opinions/{opinion_id}", "saved")


@router.post("/{opinion_id}/reply", response_class=HTMLResponse, include_in_schema=False)
def reply(request: Request, staff: Editor, form: Posted, opinion_id: Id) -> Response:
    body = str(form.get("reply", ""))
    try:
        data = validate(ReplyInput, {"text": body})
    except InputError as exc:
        message = exc.by_field().get("text", exc.japanese())
        return _page(request, staff, opinion_id, 422, draft=body, error=message, errors={"reply": message})
    with runtime_of(request).work(staff.name) as work:
        service.reply(work, _get(work.session, opinion_id), data)
    return redirect(f"/console/opinions/{opinion_id}", "replied")
