"""Council members and 部会: register, list, change, retire, issue a link code, unlink; the 部会 list (create,
rename, merge, retire, restore)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import API_ACTOR, Id, RuntimeDep, invalid, not_found
from bot.inputs import InputError
from db.models import Member, Subcommittee
from members import service
from members.service import MemberChange, MemberInput, MergeInput, SubcommitteeInput

router = APIRouter(tags=["members"])


class MemberOut(BaseModel):
    id: int
    name: str
    subcommittee: str | None
    term_end: dt.date | None
    phone: str | None
    email: str | None
    contact_method: str | None
    linked: bool
    linked_at: dt.datetime | None
    active: bool
    retired_at: dt.datetime | None


class LinkCodeOut(BaseModel):
    member_id: int
    code: str
    expires_at: dt.datetime


class SubcommitteeOut(BaseModel):
    id: int
    name: str
    active: bool
    members: int
    retired_at: dt.datetime | None


class MergeOut(BaseModel):
    into: SubcommitteeOut
    members: int
    events: int
    surveys: int
    broadcasts: int


def _out(member: Member, subcommittee: str | None) -> MemberOut:
    return MemberOut(id=member.id, name=member.name, subcommittee=subcommittee, term_end=member.term_end,
                     phone=member.phone, email=member.email, contact_method=member.contact_method,
                     linked=member.user_id is not None, linked_at=member.linked_at, active=member.active,
                     retired_at=member.retired_at)


def _member_out(session: Session, member: Member) -> MemberOut:
    return _out(member, service.subcommittee_name(session, member.subcommittee_id))


def _member(session: Session, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise not_found("member")
    return member


@router.post("/members", status_code=status.HTTP_201_CREATED, response_model=MemberOut)
def create_member(body: MemberInput, runtime: RuntimeDep) -> MemberOut:
    """A new member. The 部会 must be one of `GET /subcommittees` (active): an unknown one is a 422 naming
    `subcommittee` and listing the valid names; nothing is created for it."""
    try:
        with runtime.work(API_ACTOR) as work:
            return _member_out(work.session, service.create(work, body))
    except InputError as exc:
        raise invalid(exc) from None


@router.get("/members", response_model=list[MemberOut])
def list_members(runtime: RuntimeDep, include_retired: bool = False) -> list[MemberOut]:
    """Active members; `include_retired=true` adds the retired ones."""
    with runtime.sessions() as session:
        query = select(Member) if include_retired else select(Member).where(Member.active.is_(True))
        rows = session.execute(service.with_subcommittees(query).order_by(Member.id)).all()
        return [_out(member, name) for member, name in rows]


@router.get("/members/{member_id}", response_model=MemberOut)
def get_member(member_id: Id, runtime: RuntimeDep) -> MemberOut:
    with runtime.sessions() as session:
        return _member_out(session, _member(session, member_id))


@router.patch("/members/{member_id}", response_model=MemberOut,
              responses={409: {"description": "the member has retired"}})
def change_member(member_id: Id, body: MemberChange, runtime: RuntimeDep) -> MemberOut:  # type: ignore[valid-type]
    """Change the fields given (name, 部会, term, phone, email, contact method); the result is checked whole, as a
    new member would be."""
    try:
        with runtime.work(API_ACTOR) as work:
            member = _member(work.session, member_id)
            if not member.active:
                raise HTTPException(status.HTTP_409_CONFLICT, "the member has retired")
            service.update(work, member, body.model_dump(exclude_unset=True))
            return _member_out(work.session, member)
    except InputError as exc:
        raise invalid(exc) from None


@router.post("/members/{member_id}/retire", response_model=MemberOut)
def retire_member(member_id: Id, runtime: RuntimeDep) -> MemberOut:
    """退任: unlinked (the LINE account gets the residents' rich menu), in no new audience or response rate, kept in
    past results and attendance. Retiring a retired member changes nothing."""
    with runtime.work(API_ACTOR) as work:
        member = _member(work.session, member_id)
        service.retire(work, member)
        return _member_out(work.session, member)


@router.post("/members/{member_id}/link-code", status_code=status.HTTP_201_CREATED, response_model=LinkCodeOut)
def issue_link_code(member_id: Id, runtime: RuntimeDep) -> LinkCodeOut:
    """A new one-time code (older unused codes of the member stop working). Shown once: only a hash is kept."""
    with runtime.work(API_ACTOR) as work:
        member = work.session.get(Member, member_id)
        if member is None or not member.active:
            raise not_found("member")
        [(_member_row, code, expires_at)] = service.issue_link_codes(work, [member])
        return LinkCodeOut(member_id=member.id, code=code, expires_at=expires_at)


@router.delete("/members/{member_id}/link", status_code=status.HTTP_204_NO_CONTENT)
def unlink(member_id: Id, runtime: RuntimeDep) -> None:
    with runtime.work(API_ACTOR) as work:
        service.unlink(work, _member(work.session, member_id))


# --------------------------------------------------------------------------- 部会


def _subcommittee(session: Session, subcommittee_id: int) -> Subcommittee:
    sub = session.get(Subcommittee, subcommittee_id)
    if sub is None:
        raise not_found("subcommittee")
    return sub


def _sub_out(session: Session, sub: Subcommittee) -> SubcommitteeOut:
    row = next(r for r in service.subcommittee_rows(session) if r.subcommittee.id == sub.id)
    return SubcommitteeOut(id=sub.id, name=sub.name, active=sub.active, members=row.members,
                           retired_at=sub.retired_at)


@router.get("/subcommittees", response_model=list[SubcommitteeOut])
def list_subcommittees(runtime: RuntimeDep) -> list[SubcommitteeOut]:
    """Every 部会 (active first) with its number of active members."""
    with runtime.sessions() as session:
        return [SubcommitteeOut(id=r.subcommittee.id, name=r.subcommittee.name, active=r.subcommittee.active,
                                members=r.members, retired_at=r.subcommittee.retired_at)
                for r in service.subcommittee_rows(session)]


@router.post("/subcommittees", status_code=status.HTTP_201_CREATED, response_model=SubcommitteeOut)
def create_subcommittee(body: SubcommitteeInput, runtime: RuntimeDep) -> SubcommitteeOut:
    """A new 部会. A name that exists, or differs from one only by 「・」, spaces or 部会, is a 422."""
    try:
        with runtime.work(API_ACTOR) as work:
            return _sub_out(work.session, service.create_subcommittee(work, body.name))
    except InputError as exc:
        raise invalid(exc) from None


@router.patch("/subcommittees/{subcommittee_id}", response_model=SubcommitteeOut)
def rename_subcommittee(subcommittee_id: Id, body: SubcommitteeInput, runtime: RuntimeDep) -> SubcommitteeOut:
    """Rename: members, meetings and surveys keep it; broadcasts not sent yet follow."""
    try:
        with runtime.work(API_ACTOR) as work:
            sub = _subcommittee(work.session, subcommittee_id)
            service.rename_subcommittee(work, sub, body.name)
            return _sub_out(work.session, sub)
    except InputError as exc:
        raise invalid(exc) from None


@router.post("/subcommittees/{subcommittee_id}/merge", response_model=MergeOut)
def merge_subcommittee(subcommittee_id: Id, body: MergeInput, runtime: RuntimeDep) -> MergeOut:
    """Merge this 部会 into `into`: its members, meetings and events, survey audiences and broadcasts not sent
    yet move there, and this one is deleted. Says how many of each moved."""
    try:
        with runtime.work(API_ACTOR) as work:
            source = _subcommittee(work.session, subcommittee_id)
            moved = service.merge_subcommittees(work, source, body.into)
            target = service.find_subcommittee(work.session, body.into)
            assert target is not None
            return MergeOut(into=_sub_out(work.session, target), members=moved.members, events=moved.events,
                            surveys=moved.surveys, broadcasts=moved.broadcasts)
    except InputError as exc:
        raise invalid(exc) from None


@router.post("/subcommittees/{subcommittee_id}/retire", response_model=SubcommitteeOut,
             responses={409: {"description": "active members still belong to it (move them or merge first)"}})
def retire_subcommittee(subcommittee_id: Id, runtime: RuntimeDep) -> SubcommitteeOut:
    """Retire: not offered for new members, meetings or audiences; past records keep it."""
    try:
        with runtime.work(API_ACTOR) as work:
            sub = _subcommittee(work.session, subcommittee_id)
            service.retire_subcommittee(work, sub)
            return _sub_out(work.session, sub)
    except InputError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, exc.english()) from None


@router.post("/subcommittees/{subcommittee_id}/restore", response_model=SubcommitteeOut)
def restore_subcommittee(subcommittee_id: Id, runtime: RuntimeDep) -> SubcommitteeOut:
    with runtime.work(API_ACTOR) as work:
        sub = _subcommittee(work.session, subcommittee_id)
        service.restore_subcommittee(work, sub)
        return _sub_out(work.session, sub)



