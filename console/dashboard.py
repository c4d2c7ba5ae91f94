"""The first page after log-in: what needs attention today."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from bot import clock
from broadcasts import service as broadcasts
from console.deps import StaffDep, render, runtime_of
from db.models import Event, Member, Opinion, Survey, User
from surveys import service as surveys


async def dashboard(request: Request, staff: StaffDep) -> HTMLResponse:
    runtime = runtime_of(request)

    def load() -> dict[str, Any]:
        with runtime.sessions() as session:
            open_surveys = []
            for survey in session.scalars(select(Survey).where(Survey.status == "open").order_by(Survey.closes_at)):
                answered, audience = surveys.counts(session, survey)
                open_surveys.append({"survey": survey, "answered": answered, "audience": audience})
            recent = broadcasts.recent(session, 5)
            return {
                "friends": session.scalar(select(func.count()).select_from(User).where(User.is_reachable.is_(True))),
                "blocked": session.scalar(select(func.count()).select_from(User).where(User.is_reachable.is_(False))),
                "members": session.scalar(select(func.count()).select_from(Member).where(Member.active.is_(True))),
                "linked": session.scalar(select(func.count()).select_from(Member).where(
                    Member.active.is_(True), Member.user_id.is_not(None))),
                "open_surveys": open_surveys,
                "events": list(session.scalars(select(Event).where(Event.ends_at >= clock.now())
                                               .order_by(Event.starts_at).limit(5))),
                "broadcasts": [(b, broadcasts.progress(session, b)) for b in recent],
                "unread": session.scalar(select(func.count()).select_from(Opinion).where(Opinion.status == "unread")),
            }

    data = await run_in_threadpool(load)
    quota = await runtime.gateway.quota()
    return render(request, "dashboard.html", staff, quota=quota, line_enabled=runtime.settings.line_enabled,
                  statuses=broadcasts.STATUSES, **data)
