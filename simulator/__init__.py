"""GET /simulator: chat with the bot as a LINE user, through the real path (signed webhook, inbox, outbox).

A development client, like the demo data: it sits on top, beside main.py. In production every route here answers
404.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import httpx
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from bot import webhook_events
from bot.work import Services
from db.models import Delivery, InboxEvent, User
from members import service as members
from richmenu import images
from richmenu.menus import HEIGHT, WIDTH, request_body

router = APIRouter(prefix="/simulator", include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

def sim_user_id(key: str) -> str:
    """A stable, valid-looking LINE user ID for a simulator user."""
    return "U" + hashlib.sha256(f"simulator:{key}".encode()).hexdigest()[:32]


def _development_only(request: Request) -> Services:
    runtime: Services = request.app.state.runtime
    if runtime.settings.is_production:
        raise HTTPException(status_code=404)
    return runtime


@router.get("", response_class=HTMLResponse)
async def page(request: Request) -> HTMLResponse:
    _development_only(request)
    return templates.TemplateResponse(request, "simulator.html", {})


@router.get("/api/users")
async def list_users(request: Request) -> list[dict[str, Any]]:
    runtime = _development_only(request)

    def load() -> list[dict[str, Any]]:
        with runtime.sessions() as session:
            users = session.scalars(select(User).order_by(User.id)).all()
            return [{"userId": u.line_user_id, "name": u.display_name or u.line_user_id[:9],
                     "reachable": u.is_reachable, "language": u.language} for u in users]

    return await run_in_threadpool(load)


class SimulatedEvent(BaseModel):
    user_id: str = Field(pattern=r"^U[0-9a-f]{32}$")
    kind: Literal["text", "postback", "follow", "unfollow", "sticker"]
    text: str | None = Field(None, max_length=5000)
    data: str | None = Field(None, max_length=300)
    display_name: str | None = Field(None, max_length=100)
    language: Literal["ja", "en"] | None = None


class NewUser(BaseModel):
    display_name: str = Field(min_length=1, max_length=100)
    language: Literal["ja", "en"] = "ja"


@router.post("/api/users")
async def new_user(request: Request, body: NewUser) -> dict[str, str]:
    """A new LINE user who has not followed yet (their profile is what LINE would return)."""
    runtime = _development_only(request)
    user_id = webhook_events.new_event_id()  # random, then shaped as a user ID
    user_id = sim_user_id(user_id)

    def create() -> None:
        with runtime.work("simulator") as work:
            work.session.add(User(line_user_id=user_id, display_name=body.display_name, language=body.language,
                             is_reachable=False))

    await run_in_threadpool(create)
    return {"userId": user_id}


@router.post("/api/events")
async def send_event(request: Request, body: SimulatedEvent) -> dict[str, Any]:
    """Build the LINE webhook event, sign it with the channel secret and post it to /callback."""
    runtime = _development_only(request)
    if body.kind == "text":
        event = webhook_events.text_message(body.user_id, body.text or "")
    elif body.kind == "postback":
        event = webhook_events.postback(body.user_id, body.data or "")
    elif body.kind == "follow":
        event = webhook_events.follow(body.user_id)
    elif body.kind == "unfollow":
        event = webhook_events.unfollow(body.user_id)
    else:
        event = webhook_events.sticker_message(body.user_id)
    raw, headers = webhook_events.signed(runtime.settings.channel_secret, event)
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://simulator") as client:
        response = await client.post("/callback", content=raw, headers=headers)
    return {"status": response.status_code, "webhookEventId": event["webhookEventId"]}


@router.get("/api/richmenu")
async def rich_menu(request: Request, user_id: str) -> dict[str, Any]:
    """The menu this user sees on LINE: the members' menu once linked, else the residents'."""
    runtime = _development_only(request)

    def kind() -> str:
        with runtime.sessions() as session:
            user = session.scalars(select(User).where(User.line_user_id == user_id)).one_or_none()
            return "member" if members.member_of(session, user) is not None else "resident"

    menu = await run_in_threadpool(kind)
    body = request_body(menu, menu)
    return {"kind": menu, "image": f"/simulator/richmenu/{menu}.png", "width": WIDTH, "height": HEIGHT,
            "chatBarText": body["chatBarText"], "areas": body["areas"]}


@router.get("/richmenu/{kind}.png")
async def rich_menu_image(request: Request, kind: Literal["resident", "member"]) -> Response:
    _development_only(request)
    return Response(await run_in_threadpool(images.render, kind), media_type="image/png")


def _postback_labels(node: Any, out: dict[str, str]) -> None:
    """What each postback button in these messages shows the user as their message (displayText, else label), by
    data."""
    if isinstance(node, dict):
        if node.get("type") == "postback" and isinstance(node.get("data"), str):
            shown = node.get("displayText") or node.get("label")
            if shown:
                out[node["data"]] = shown
        for value in node.values():
            _postback_labels(value, out)
    elif isinstance(node, list):
        for value in node:
            _postback_labels(value, out)


def _label_postbacks(items: list[dict[str, Any]], older: list[Delivery]) -> None:
    """Give each tapped postback the label of the button tapped: the latest message before it with that data (LINE
    never sends the label back, only the data)."""
    shown: dict[str, str] = {}
    for delivery in older:  # oldest first: a later button with the same data wins
        _postback_labels(delivery.messages, shown)
    for item in items:
        if item["from"] == "bot":
            _postback_labels(item["messages"], shown)
        elif item["type"] == "postback":
            data = (item["event"].get("postback") or {}).get("data") or ""
            if data in shown:
                item["label"] = shown[data]


@router.get("/api/messages")
async def conversation(request: Request, user_id: str) -> list[dict[str, Any]]:
    """What the user sent (the inbox) and what the bot answered (the outbox), oldest first; a tapped postback
    carries the label of its button."""
    runtime = _development_only(request)

    def load() -> list[dict[str, Any]]:
        with runtime.sessions() as session:
            user = session.scalars(select(User).where(User.line_user_id == user_id)).one_or_none()
            items: list[dict[str, Any]] = []
            for row in session.scalars(
                select(InboxEvent).where(InboxEvent.user_key == user_id).order_by(InboxEvent.id.desc()).limit(100)
            ):
                items.append({"from": "user", "at": row.received_at.isoformat(), "type": row.event_type,
                              "event": row.payload, "status": row.status})
            older: list[Delivery] = []
            if user is not None:
                own = list(session.scalars(
                    select(Delivery).where(Delivery.user_id == user.id, Delivery.kind != "richmenu")
                    .order_by(Delivery.id.desc()).limit(100)
                ))
                for delivery in own:
                    items.append({"from": "bot", "at": delivery.created_at.isoformat(),
                                  "messages": delivery.messages, "status": delivery.status})
                # broadcasts from the console: multicasts that name the user, and broadcasts to everyone
                for delivery in session.scalars(
                    select(Delivery).where(Delivery.kind.in_(("multicast", "broadcast")), Delivery.created_at
                                           >= user.created_at).order_by(Delivery.id.desc()).limit(50)
                ):
                    if delivery.kind == "broadcast" or user_id in delivery.recipients:
                        items.append({"from": "bot", "at": delivery.created_at.isoformat(),
                                      "messages": delivery.messages, "status": delivery.status})
                if len(own) == 100:  # the buttons of the earliest taps shown may be in older answers
                    older = list(session.scalars(
                        select(Delivery).where(Delivery.user_id == user.id, Delivery.kind != "richmenu",
                                               Delivery.id < own[-1].id).order_by(Delivery.id.desc()).limit(100)
                    ))[::-1]
            items.sort(key=lambda item: item["at"])
            _label_postbacks(items, older)
            return items[-150:]

    return await run_in_threadpool(load)
