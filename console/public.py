"""The public, print-friendly page of each meeting's 「ご意見と区役所の対応・考え方」 (no log-in, linkable from the
ward's website): only the opinions staff marked 公開, a member's name only where they agreed, the ward's answer and
the status. Nothing internal is read for it: no memo, no 担当課, no staff, no resident's name (opinions.service
.published builds the rows). Its own strict Content-Security-Policy: its stylesheet only, no script."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bot import clock
from console.deps import Id, render, runtime_of
from opinions import service

router = APIRouter(prefix="/public")
PUBLIC_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; form-action 'none'; "
              "base-uri 'none'")


@router.get("/meetings/{event_id}/opinions", response_class=HTMLResponse, include_in_schema=False)
def meeting_opinions(request: Request, event_id: Id) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        event = service.meeting(session, event_id)
        if event is None:
            response = render(request, "public_opinions.html", None, 404, event=None, rows=[])
        else:
            response = render(request, "public_opinions.html", None, event=event,
                              rows=service.published(session, event), title=service.PUBLISHED_TITLE,
                              day=clock.format_date(event.starts_at), updated=clock.format_date(clock.now()))
    response.headers["content-security-policy"] = PUBLIC_CSP
    response.headers["cache-control"] = "public, max-age=60"
    return response
