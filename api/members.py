"""Council members: register, list, issue a link code, unlink."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.deps import Id, RuntimeDep, not_found
from db.base import transaction
from db.models import Member, Subcommittee
from members import service

router = APIRouter(prefix="/members", tags=["members"])


class MemberIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    subcommittee: str | None = Field(None, min_length=1, max_length=100, description="部会 name")
    term_end: dt.date | None = None


class MemberOut(BaseModel):
    id: int
    name: str
    subcommittee: str | None
    term_end: dt.date | None
    linked: bool
    linked_at: dt.datetime | None


class LinkCodeOut(BaseModel):
    member_id: int
    code: str
    expires_at: dt.datetime


def _out(member: Member, subcommittee: str | None) -> MemberOut:
    return MemberOut(id=member.id, name=member.name, subcommittee=subcommittee, term_end=member.term_end,
                     linked=member.user_id is not None, linked_at=member.linked_at)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=MemberOut)
def create_member(body: MemberIn, runtime: RuntimeDep) -> MemberOut:
    with transaction(runtime.sessions) as session:
        member = service.create(session, name=body.name, subcommittee=body.subcommittee, term_end=body.term_end)
        return _out(member, body.subcommittee.strip() if body.subcommittee else None)


@router.get("", response_model=list[MemberOut])
def list_members(runtime: RuntimeDep) -> list[MemberOut]:
    with runtime.sessions() as session:
        rows = session.execute(select(Member, Subcommittee.name).outerjoin(
            Subcommittee, Subcommittee.id == Member.subcommittee_id).where(Member.active.is_(True))
            .order_by(Member.id)).all()
        return [_out(member, name) for member, name in rows]


@router.post("/{member_id}/link-code", status_code=status.HTTP_201_CREATED, response_model=LinkCodeOut)
def issue_link_code(member_id: Id, runtime: RuntimeDep) -> LinkCodeOut:
    """A new one-time code (older unused codes of the member stop working). Shown once: only a hash is kept."""
    with transaction(runtime.sessions) as session:
        member = session.get(Member, member_id)
        if member is None or not member.active:
            raise not_found("member")
        code, expires_at = service.issue_link_code(session, member=member)
        return LinkCodeOut(member_id=member.id, code=code, expires_at=expires_at)


@router.delete("/{member_id}/link", status_code=status.HTTP_204_NO_CONTENT)
def unlink(member_id: Id, runtime: RuntimeDep) -> None:
    with transaction(runtime.sessions) as session:
        member = session.get(Member, member_id)
        if member is None:
            raise not_found("member")
        service.unlink(session, member=member, outbox=runtime.gateway.outbox)
    runtime.gateway.wake()
