"""Council members: register, list, issue a link code, unlink."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, status
from pydantic import BaseModel

from api.deps import API_ACTOR, Id, RuntimeDep, not_found
from db.models import Member
from members import service
from members.service import MemberInput

router = APIRouter(prefix="/members", tags=["members"])


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
def create_member(body: MemberInput, runtime: RuntimeDep) -> MemberOut:
    with runtime.work(API_ACTOR) as work:
        return _out(service.create(work, body), body.subcommittee)


@router.get("", response_model=list[MemberOut])
def list_members(runtime: RuntimeDep) -> list[MemberOut]:
    with runtime.sessions() as session:
        rows = session.execute(service.with_subcommittees().order_by(Member.id)).all()
        return [_out(member, name) for member, name in rows]


@router.post("/{member_id}/link-code", status_code=status.HTTP_201_CREATED, response_model=LinkCodeOut)
def issue_link_code(member_id: Id, runtime: RuntimeDep) -> LinkCodeOut:
    """A new one-time code (older unused codes of the member stop working). Shown once: only a hash is kept."""
    with runtime.work(API_ACTOR) as work:
        member = work.session.get(Member, member_id)
        if member is None or not member.active:
            raise not_found("member")
        [(_member, code, expires_at)] = service.issue_link_codes(work, [member])
        return LinkCodeOut(member_id=member.id, code=code, expires_at=expires_at)


@router.delete("/{member_id}/link", status_code=status.HTTP_204_NO_CONTENT)
def unlink(member_id: Id, runtime: RuntimeDep) -> None:
    with runtime.work(API_ACTOR) as work:
        member = work.session.get(Member, member_id)
        if member is None:
            raise not_found("member")
        service.unlink(work, member)
