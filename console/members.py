"""Council members in the console: the list, register, edit, retire, unlink; the 部会 list (create, rename, merge,
retire); importing a sheet (.xlsx / .csv) with a preview; link codes issued by one action and printed from a
sheet page that issues nothing (members.code_sheets)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import segno
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import clock, sheets, texts
from bot.inputs import InputError, Refused, validate
from console.deps import COOKIE, NOTICES, Editor, Id, Posted, Staff, StaffDep, get_or_404, redirect, render, runtime_of
from db.models import Member, Subcommittee
from members import code_sheets, importing, service
from members.service import CONTACT_LABELS, MemberInput
from staff import service as staff_service

router = APIRouter(prefix="/members")
MY_NOTICES = {
    "retired": "退任にしました。LINEの連携も解除しました。", "renamed": "部会名を変えました。",
    "merged": "部会を統合しました。", "sub_retired": "部会を廃止しました。", "restored": "部会を再開しました。",
    "imported": "名簿を取り込みました。", "sub_created": "部会を作りました。",
}
FIELDS = ("name", "subcommittee", "term_end", "phone", "email", "contact_method")
BOT_NAME = "港区 区政会議"


def _render(request: Request, template: str, staff: Staff, status_code: int = 200, **context: Any) -> HTMLResponse:
    key = request.query_params.get("notice", "")
    return render(request, template, staff, status_code, notice=MY_NOTICES.get(key) or NOTICES.get(key),
                  jdate=clock.format_date, contact_labels=CONTACT_LABELS, **context)


def _errors(exc: InputError) -> dict[str, Any]:
    return {"error": exc.japanese(), "errors": exc.by_field()}


# --------------------------------------------------------------------------- the list and registering


def _page(request: Request, staff: Staff, status_code: int = 200, **context: Any) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        rows = session.execute(service.with_subcommittees().order_by(Subcommittee.id, Member.id)).all()
        retired = session.execute(service.with_subcommittees(select(Member).where(Member.active.is_(False)))
                                  .order_by(Member.retired_at.desc(), Member.id)).all()
        return _render(request, "members.html", staff, status_code, rows=rows, retired=retired,
                       subcommittees=service.subcommittee_names(session), **context)


@router.get("", response_class=HTMLResponse, include_in_schema=False)
def list_members(request: Request, staff: StaffDep) -> HTMLResponse:
    return _page(request, staff)


def _fields(form: Any) -> dict[str, Any]:
    """The member form as MemberInput's fields; Refused for a date that cannot be read."""
    values: dict[str, Any] = {key: str(form.get(key, "")) for key in FIELDS}
    text = values["term_end"].strip()
    try:
        values["term_end"] = dt.date.fromisoformat(text) if text else None
    except ValueError:
        raise Refused("任期の日付が正しくありません（例: 2027-03-31）", "term_end") from None
    values["contact_method"] = values["contact_method"] or None
    return values


@router.post("", response_class=HTMLResponse, include_in_schema=False)
def register(request: Request, staff: Editor, form: Posted) -> Response:
    try:
        fields = _fields(form)
        with runtime_of(request).work(staff.name) as work:
            service.create(work, validate(MemberInput, fields))
    except InputError as exc:
        return _page(request, staff, 422, form=form, **_errors(exc))
    return redirect("/console/members", "created")


@router.get("/export.csv", include_in_schema=False)
def export(request: Request, staff: Editor) -> Response:
    """The list as a sheet the import takes back (with the ID column)."""
    with runtime_of(request).sessions() as session:
        body = importing.export_csv(session)
    name = f"members-{clock.today_jst():%Y%m%d}.csv"
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/export.xlsx", include_in_schema=False)
def export_xlsx(request: Request, staff: StaffDep) -> Response:
    """The list as an Excel workbook: Japanese headings, readable widths, dates as dates."""
    with runtime_of(request).sessions() as session:
        data = importing.members_xlsx(session)
    name, fallback = importing.members_export_name()
    return Response(data, media_type=sheets.XLSX_TYPE,
                    headers={"Content-Disposition": sheets.disposition(name, fallback)})



# --------------------------------------------------------------------------- 部会


def _subcommittees_page(request: Request, staff: Staff, status_code: int = 200, **context: Any) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        rows = service.subcommittee_rows(session)
        return _render(request, "subcommittees.html", staff, status_code, rows=rows,
                       active_names=[r.subcommittee.name for r in rows if r.subcommittee.active], **context)


@router.get("/subcommittees", response_class=HTMLResponse, include_in_schema=False)
def list_subcommittees(request: Request, staff: StaffDep) -> HTMLResponse:
    return _subcommittees_page(request, staff)


@router.post("/subcommittees", response_class=HTMLResponse, include_in_schema=False)
def create_subcommittee(request: Request, staff: Editor, form: Posted) -> Response:
    try:
        with runtime_of(request).work(staff.name) as work:
            service.create_subcommittee(work, str(form.get("name", "")))
    except InputError as exc:
        return _subcommittees_page(request, staff, 422, form=form, error=exc.japanese())
    return redirect("/console/members/subcommittees", "sub_created")


def _sub(session: Session, subcommittee_id: int) -> Subcommittee:
    return get_or_404(session, Subcommittee, subcommittee_id, "部会")


# What each button of the 部会 list does: (command, the notice shown after it)
SUBCOMMITTEE_ACTIONS: dict[str, tuple[Any, str]] = {
    "rename": (lambda work, sub, form: service.rename_subcommittee(work, sub, str(form.get("name", ""))), "renamed"),
    "merge": (lambda work, sub, form: service.merge_subcommittees(work, sub, str(form.get("into", ""))), "merged"),
    "retire": (lambda work, sub, form: service.retire_subcommittee(work, sub), "sub_retired"),
    "restore": (lambda work, sub, form: service.restore_subcommittee(work, sub), "restored"),
}


@router.post("/subcommittees/{subcommittee_id}/{action}", response_class=HTMLResponse, include_in_schema=False)
def change_subcommittee(request: Request, staff: Editor, form: Posted, subcommittee_id: Id, action: str
                        ) -> Response:
    """Rename, merge, retire or restore a 部会; a refusal is shown on the list, next to what was typed."""
    if action not in SUBCOMMITTEE_ACTIONS:
        raise HTTPException(404)
    command, notice = SUBCOMMITTEE_ACTIONS[action]
    try:
        with runtime_of(request).work(staff.name) as work:
            command(work, _sub(work.session, subcommittee_id), form)
    except InputError as exc:
        return _subcommittees_page(request, staff, 422, error=exc.japanese())
    return redirect("/console/members/subcommittees", notice)


# --------------------------------------------------------------------------- importing a sheet


@router.get("/import", response_class=HTMLResponse, include_in_schema=False)
def import_form(request: Request, staff: Editor) -> HTMLResponse:
    return _render(request, "members_import.html", staff, plan=None, headers=importing.HEADERS)


def _preview(request: Request, staff: Staff, sheet: importing.SheetData, status_code: int = 200,
             error: str | None = None) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        plan = importing.plan(session, sheet)
    return _render(request, "members_import.html", staff, status_code, plan=plan, headers=importing.HEADERS,
                   labels=service.FIELD_LABELS, error=error)


@router.post("/import", response_class=HTMLResponse, include_in_schema=False)
def import_preview(request: Request, staff: Editor, form: Posted) -> HTMLResponse:
    """Read the file and show what would change; nothing is saved."""
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return _render(request, "members_import.html", staff, 422, plan=None, headers=importing.HEADERS,
                       error="取り込むファイル（.xlsx か .csv）を選んでください")
    data = upload.file.read(importing.MAX_BYTES + 1)
    try:
        sheet = importing.read(str(upload.filename), data)
    except importing.SheetError as exc:
        return _render(request, "members_import.html", staff, 422, plan=None, headers=importing.HEADERS,
                       error=str(exc))
    return _preview(request, staff, sheet)


@router.post("/import/apply", response_class=HTMLResponse, include_in_schema=False)
def import_apply(request: Request, staff: Editor, form: Posted) -> Response:
    """「この内容で取り込む」: the previewed sheet, planned again and applied in one transaction."""
    try:
        sheet = importing.SheetData.from_json(str(form.get("sheet", "")))
    except importing.SheetError as exc:
        return _render(request, "members_import.html", staff, 422, plan=None, headers=importing.HEADERS,
                       error=str(exc))
    try:
        with runtime_of(request).work(staff.name) as work:
            importing.apply(work, sheet, expected=str(form.get("digest", "")))
    except InputError as exc:
        return _preview(request, staff, sheet, 409 if isinstance(exc, importing.PlanChanged) else 422, str(exc))
    return redirect("/console/members", "imported")


# --------------------------------------------------------------------------- link codes


def _login(request: Request) -> tuple[int, str]:
    """The console session's id and its cookie: the sheet is sealed with the cookie (members.code_sheets)."""
    token = request.cookies.get(COOKIE, "")
    with runtime_of(request).sessions() as session:
        found = staff_service.find_session(session, token)
    if found is None:
        raise HTTPException(403, "ログインし直してください")
    return found[0].id, token


@router.post("/codes", response_class=HTMLResponse, include_in_schema=False)
def issue_codes(request: Request, staff: Editor, form: Posted) -> Response:
    """New one-time codes for the ticked members (their older unused codes stop working), then to their sheet:
    showing or printing it again issues nothing."""
    ids = [int(v) for v in form.getlist("member_id") if str(v).isdigit()][:500]
    if not ids:
        return _page(request, staff, 422, error="コードを発行する委員を選んでください")
    staff_session_id, secret = _login(request)
    with runtime_of(request).work(staff.name) as work:
        chosen = list(work.session.scalars(select(Member).where(Member.id.in_(ids), Member.active.is_(True))
                                           .order_by(Member.id)))
        if not chosen:
            raise HTTPException(404, "委員が見つかりません")
        sheet_id = code_sheets.issue(work, chosen, staff_session_id=staff_session_id, secret=secret)
    return redirect(f"/console/members/codes/{sheet_id}")


def _friend_link(request: Request) -> dict[str, Any]:
    settings = runtime_of(request).settings
    url = settings.line_add_friend_url.strip()
    if not url:
        simulator = None if settings.is_production else settings.public_base_url.rstrip("/") + "/simulator"
        return {"friend_url": None, "friend_qr": None, "simulator_url": simulator}
    qr = segno.make(url, error="m").svg_inline(scale=4, svgclass="qr", title="友だち追加のQRコード")
    return {"friend_url": url, "friend_qr": Markup(qr), "simulator_url": None}


@router.get("/codes/{sheet_id}", response_class=HTMLResponse, include_in_schema=False)
def code_sheet(request: Request, staff: Editor, sheet_id: str) -> HTMLResponse:
    """The sheet of one issuing action, to print (as often as needed: nothing is issued here)."""
    staff_session_id, secret = _login(request)
    with runtime_of(request).sessions() as session:
        sheet = code_sheets.open_sheet(session, sheet_id, staff_session_id=staff_session_id, secret=secret)
    if sheet is None:
        raise HTTPException(404, "この印刷用ページは表示できません（期限が切れたか、ログアウトしたか、ほかの画面で"
                                 "発行したものです）。必要なら、委員の一覧からコードを発行し直してください")
    done = {e.member_id: texts.t("link.ok", name=e.name).splitlines()[0] for e in sheet.entries}
    return _render(request, "codes.html", staff, sheet=sheet, done=done, bot_name=BOT_NAME,
                   **_friend_link(request))


# --------------------------------------------------------------------------- one member


def _member_page(request: Request, staff: Staff, member_id: int, status_code: int = 200,
                 **context: Any) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        member = get_or_404(session, Member, member_id, "委員")
        current = service.subcommittee_name(session, member.subcommittee_id)
        return _render(request, "member.html", staff, status_code, member=member, member_subcommittee=current,
                       subcommittees=service.subcommittee_names(session, also=current), **context)


@router.get("/{member_id}", response_class=HTMLResponse, include_in_schema=False)
def show_member(request: Request, staff: StaffDep, member_id: Id) -> HTMLResponse:
    return _member_page(request, staff, member_id)


@router.post("/{member_id}", response_class=HTMLResponse, include_in_schema=False)
def change_member(request: Request, staff: Editor, form: Posted, member_id: Id) -> Response:
    try:
        fields = _fields(form)
        with runtime_of(request).work(staff.name) as work:
            service.update(work, get_or_404(work.session, Member, member_id, "委員"), fields)
    except InputError as exc:
        return _member_page(request, staff, member_id, 422, form=form, **_errors(exc))
    return redirect(f"/console/members/{member_id}", "saved")


@router.post("/{member_id}/retire", include_in_schema=False)
def retire_member(request: Request, staff: Editor, form: Posted, member_id: Id) -> Response:
    with runtime_of(request).work(staff.name) as work:
        service.retire(work, get_or_404(work.session, Member, member_id, "委員"))
    return redirect(f"/console/members/{member_id}", "retired")


@router.post("/{member_id}/unlink", include_in_schema=False)
def unlink(request: Request, staff: Editor, form: Posted, member_id: Id) -> Response:
    with runtime_of(request).work(staff.name) as work:
        service.unlink(work, get_or_404(work.session, Member, member_id, "委員"))
    back = "/console/members" if form.get("back") == "list" else f"/console/members/{member_id}"
    return redirect(back, "unlinked")
