"""Opinions for staff: list, enter (said at a meeting, on paper, by phone), change (status, 担当課, due date, memo,
公開, meeting), reply (pushed to the sender, quoting them), the figures of the feedback loop, the 担当課 list, a
meeting's published table, and exports as CSV and .xlsx."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Response, status
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import API_ACTOR, Id, RuntimeDep, invalid, not_found
from bot import sheets
from bot.inputs import InputError, validate
from db.models import Department, Opinion
from opinions import service
from opinions.service import DepartmentInput, OpinionChange, OpinionEntry, ReplyInput

router = APIRouter(prefix="/opinions", tags=["opinions"])
Status = Literal["unread", "in_progress", "answered", "reflected", "difficult"]
Rating = Literal["enough", "mostly", "not_enough"]


class OpinionOut(BaseModel):
    id: int
    kind: str
    source: str
    category: str
    event_id: int | None
    member_id: int | None
    text: str
    name: str | None
    name_consent: bool
    status: Status
    status_label: str
    reason: str | None
    department_id: int | None
    due_on: dt.date | None
    overdue: bool
    memo: str | None
    public: bool
    reply_text: str | None
    replied_at: dt.datetime | None
    first_replied_at: dt.datetime | None
    days_to_answer: float | None
    rating: Rating | None
    rating_comment: str | None
    rated_at: dt.datetime | None
    created_at: dt.datetime


class ReplyOut(OpinionOut):
    pushed: bool


class DepartmentOut(BaseModel):
    id: int
    name: str
    active: bool


class DepartmentChange(BaseModel):
    name: str | None = None
    active: bool | None = None


class Figure(BaseModel):
    opinions: int
    answered: int
    share_answered: float | None
    median_days: float | None
    rated: int
    satisfied: int
    share_satisfied: float | None
    ratings: dict[str, int]
    overdue: int


class DepartmentFigure(Figure):
    id: int | None
    name: str


class Target(BaseModel):
    indicator: str
    target: float
    target_year: str
    baseline: float
    baseline_year: str


class FiguresOut(BaseModel):
    overall: Figure
    departments: list[DepartmentFigure]
    target: Target
    met: bool | None


class PublishedRow(BaseModel):
    number: int
    text: str
    name: str | None
    answer: str | None
    status: str
    reason: str | None


class PublishedOut(BaseModel):
    event_id: int
    title: str
    starts_at: dt.datetime
    rows: list[PublishedRow]


def _get(session: Session, opinion_id: Id) -> Opinion:
    opinion = session.get(Opinion, opinion_id)
    if opinion is None:
        raise not_found("opinion")
    return opinion


def _out(opinion: Opinion) -> OpinionOut:
    return OpinionOut(
        id=opinion.id, kind=opinion.kind, source=opinion.source, category=opinion.category,
        event_id=opinion.event_id, member_id=opinion.member_id, text=opinion.text, name=opinion.name,
        name_consent=opinion.name_consent, status=opinion.status,  # type: ignore[arg-type]
        status_label=service.STATUSES[opinion.status], reason=opinion.reason, department_id=opinion.department_id,
        due_on=opinion.due_on, overdue=service.overdue(opinion), memo=opinion.memo, public=opinion.public,
        reply_text=opinion.reply_text, replied_at=opinion.replied_at, first_replied_at=opinion.first_replied_at,
        days_to_answer=service.days_to_answer(opinion), rating=opinion.rating,  # type: ignore[arg-type]
        rating_comment=opinion.rating_comment, rated_at=opinion.rated_at, created_at=opinion.created_at)


@router.get("", response_model=list[OpinionOut])
def list_opinions(runtime: RuntimeDep, status: Status | None = None) -> list[OpinionOut]:
    with runtime.sessions() as session:
        query = select(Opinion).order_by(Opinion.id.desc())
        if status:
            query = query.where(Opinion.status == status)
        return [_out(o) for o in session.scalars(query)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OpinionOut)
def enter(body: OpinionEntry, runtime: RuntimeDep) -> OpinionOut:
    """An opinion staff enter: said at a meeting (`event_id` required), on paper or by phone; `member_id` where
    known (the name comes from the member; `name_consent`: they agreed to it in the published table)."""
    try:
        with runtime.work(API_ACTOR) as work:
            return _out(service.enter(work, body))
    except InputError as exc:
        raise invalid(exc) from None


@router.get("/figures", response_model=FiguresOut)
def figures(runtime: RuntimeDep) -> FiguresOut:
    """Share answered, median days to the first answer and share rated 十分 or まあ十分, overall and per 担当課,
    with the council template's feedback indicator target (README, "Feedback loop")."""
    with runtime.sessions() as session:
        return FiguresOut.model_validate(service.figures(session))


@router.get("/departments", response_model=list[DepartmentOut])
def list_departments(runtime: RuntimeDep) -> list[DepartmentOut]:
    with runtime.sessions() as session:
        return [DepartmentOut(id=d.id, name=d.name, active=d.active) for d in service.departments(session)]


@router.post("/departments", status_code=status.HTTP_201_CREATED, response_model=DepartmentOut)
def create_department(body: DepartmentInput, runtime: RuntimeDep) -> DepartmentOut:
    try:
        with runtime.work(API_ACTOR) as work:
            department = service.create_department(work, body)
            return DepartmentOut(id=department.id, name=department.name, active=department.active)
    except InputError as exc:
        raise invalid(exc) from None


@router.patch("/departments/{department_id}", response_model=DepartmentOut)
def change_department(department_id: Id, body: DepartmentChange, runtime: RuntimeDep) -> DepartmentOut:
    """Rename a 担当課, or retire it (`active: false`: offered no more; its opinions keep it) or bring it back."""
    try:
        with runtime.work(API_ACTOR) as work:
            department = work.session.get(Department, department_id)
            if department is None:
                raise not_found("department")
            if body.name is not None:
                service.rename_department(work, department, validate(DepartmentInput, {"name": body.name}))
            if body.active is not None:
                service.set_department_active(work, department, body.active)
            return DepartmentOut(id=department.id, name=department.name, active=department.active)
    except InputError as exc:
        raise invalid(exc) from None


@router.get("/meetings/{event_id}", response_model=PublishedOut)
def published(event_id: Id, runtime: RuntimeDep) -> PublishedOut:
    """The meeting's 「ご意見と区役所の対応・考え方」: the opinions marked 公開, as the public page shows them."""
    with runtime.sessions() as session:
        event = service.meeting(session, event_id)
        if event is None:
            raise not_found("meeting")
        rows = [PublishedRow(**vars(p)) for p in service.published(session, event)]
        return PublishedOut(event_id=event.id, title=event.title, starts_at=event.starts_at, rows=rows)


@router.get(".csv", response_class=Response)
def export(runtime: RuntimeDep) -> Response:
    with runtime.sessions() as session:
        return _download(service.export_csv(session), "csv")


@router.get(".xlsx", response_class=Response)
def export_xlsx(runtime: RuntimeDep) -> Response:
    with runtime.sessions() as session:
        return _download(service.export_xlsx(session), "xlsx")


def _download(data: bytes, ext: str) -> Response:
    name, fallback = service.export_name(ext)
    return Response(data, media_type=sheets.CSV_TYPE if ext == "csv" else sheets.XLSX_TYPE,
                    headers={"Content-Disposition": sheets.disposition(name, fallback)})


@router.patch("/{opinion_id}", response_model=OpinionOut)
def change(opinion_id: Id, body: OpinionChange, runtime: RuntimeDep) -> OpinionOut:
    """Change what is given: `status` (受付 unread → 検討中 in_progress → 回答済 answered → 反映済 reflected, or
    対応困難 difficult with a `reason`; answered and reflected need an answer sent first), `department_id`,
    `due_on`, `memo` (internal), `public` (in the meeting's published table), `event_id` (the meeting)."""
    try:
        with runtime.work(API_ACTOR) as work:
            opinion = _get(work.session, opinion_id)
            service.update(work, opinion, body)
            return _out(opinion)
    except InputError as exc:
        raise invalid(exc) from None


@router.post("/{opinion_id}/reply", response_model=ReplyOut)
def reply(opinion_id: Id, body: ReplyInput, runtime: RuntimeDep) -> dict[str, Any]:
    """Answer the sender in LINE, quoting their message, with 「この回答で 十分でしたか？」 under it; the opinion
    becomes 回答済 (from 受付 or 検討中)."""
    with runtime.work(API_ACTOR) as work:
        opinion = _get(work.session, opinion_id)
        pushed = service.reply(work, opinion, body)
        return {**_out(opinion).model_dump(mode="json"), "pushed": pushed}
