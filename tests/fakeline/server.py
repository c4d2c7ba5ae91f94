"""A fake LINE Messaging API on 127.0.0.1, for the real line-bot-sdk client to talk to over HTTP.

It validates every request body against messaging-api.yml and the limits LINE documents but the file does not
state, records every request, honours X-Line-Retry-Key (409 with x-line-accepted-request-id for an accepted key),
and can be told to answer 500, 429 (rate limit or monthly limit) or hang, for fault tests.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakeline import spec


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int
    at: float = field(default_factory=time.monotonic)

    @property
    def retry_key(self) -> str | None:
        return self.headers.get("x-line-retry-key")


@dataclass
class Fault:
    path: str  # a path suffix such as "/message/push"; "" for any
    status: int = 500
    body: dict[str, Any] | None = None
    hang: float = 0.0
    times: int = 1
    accept_first: bool = False  # accept the request, then answer with the fault (LINE got it; the answer was lost)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def limit_errors(path: str, body: Any) -> list[str]:
    """The limits from LINE's documentation that messaging-api.yml does not state."""
    errors: list[str] = []
    if not isinstance(body, dict):
        return errors
    messages = body.get("messages")
    if isinstance(messages, list):
        if not 1 <= len(messages) <= 5:
            errors.append(f"{len(messages)} messages in one request (1 to 5 allowed)")
        for i, m in enumerate(messages):
            if not isinstance(m, dict):
                continue
            if m.get("type") == "text" and _utf16(str(m.get("text", ""))) > 5000:
                errors.append(f"messages/{i}: text longer than 5000 UTF-16 units")
            if len(m.get("altText", "")) > 1500:
                errors.append(f"messages/{i}: altText longer than 1500")
            items = (m.get("quickReply") or {}).get("items") or []
            if len(items) > 13:
                errors.append(f"messages/{i}: {len(items)} quick reply items (13 allowed)")
            contents = m.get("contents") or {}
            bubbles = contents.get("contents", []) if contents.get("type") == "carousel" else []
            if m.get("type") == "flex" and len(bubbles) > 12:
                errors.append(f"messages/{i}: more than 12 bubbles")
            raw = json.dumps(m, ensure_ascii=False)
            for data in _postback_data(m):
                if len(data) > 300:
                    errors.append(f"messages/{i}: postback data longer than 300 characters")
            if m.get("type") == "flex" and len(raw.encode()) > 50_000:
                errors.append(f"messages/{i}: flex message over 50 KB")
    if path.endswith("/multicast") and len(body.get("to", [])) > 500:
        errors.append(f"multicast to {len(body['to'])} users (500 allowed)")
    return errors


def image_info(raw: bytes) -> tuple[dict[str, Any], str | None]:
    """Size and dimensions of an uploaded rich menu image, and what LINE would refuse about it."""
    info: dict[str, Any] = {"bytes": len(raw)}
    if raw[:8] != b"\x89PNG\r\n\x1a\n":
        return info, "not a PNG image"
    info["width"], info["height"] = int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
    if len(raw) > 1024 * 1024:
        return info, "image over 1 MB"
    if info["width"] != 2500 or info["height"] not in (1686, 843):
        return info, f"image is {info['width']}x{info['height']}, not 2500x1686 or 2500x843"
    return info, None


def _postback_data(node: Any) -> list[str]:
    found = []
    if isinstance(node, dict):
        if node.get("type") == "postback" and isinstance(node.get("data"), str):
            found.append(node["data"])
        for value in node.values():
            found.extend(_postback_data(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_postback_data(value))
    return found


class FakeLine:
    """Start with start(); read .requests and .violations; steer with fail(), profiles and reset()."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.profiles: dict[str, dict[str, Any]] = {}
        self.faults: deque[Fault] = deque()
        self.delay: dict[str, float] = {}  # path suffix -> seconds every request there takes
        self.rate_limits: dict[str, int] = {}  # path suffix -> requests allowed in any one second (else 429)
        self.error_rate: dict[str, float] = {}  # path suffix -> share of requests answered 500 at random
        self._recent: dict[str, deque[float]] = {}
        self.random = random.Random(7)
        self.validate_every = 1  # validate every request (the tests); a benchmark may sample
        self._seen = 0
        self.accepted_keys: dict[str, str] = {}
        self.used_reply_tokens: set[str] = set()
        self.monthly_limit = False
        self.quota = 1000
        self.rich_menus: dict[str, dict[str, Any]] = {}
        self.rich_menu_images: dict[str, dict[str, Any]] = {}
        self.rich_menu_links: dict[str, str] = {}
        self.default_rich_menu: str | None = None
        self.rich_menu_changes: list[float] = []  # create/delete times, for LINE's 100 per hour
        self.lock = threading.Lock()
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # -- steering
    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.violations.clear()
            self.profiles.clear()
            self.faults.clear()
            self.delay.clear()
            self.rate_limits.clear()
            self.error_rate.clear()
            self._recent.clear()
            self.accepted_keys.clear()
            self.used_reply_tokens.clear()
            self.monthly_limit = False
            self.quota = 1000
            self.rich_menus.clear()
            self.rich_menu_images.clear()
            self.rich_menu_links.clear()
            self.default_rich_menu = None
            self.rich_menu_changes.clear()

    def fail(self, path: str = "", status: int = 500, times: int = 1, body: dict[str, Any] | None = None,
             hang: float = 0.0, accept_first: bool = False) -> None:
        self.faults.append(Fault(path, status, body, hang, times, accept_first))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def sent(self, kind: str | None = None) -> list[Recorded]:
        """Message requests LINE accepted (2xx), optionally only of one kind: reply, push, multicast, broadcast."""
        with self.lock:
            return [r for r in self.requests if 200 <= r.status < 300 and r.path.startswith("/v2/bot/message/")
                    and r.method == "POST" and (kind is None or r.path.endswith("/" + kind))]

    def messages_to(self, user_id: str) -> list[dict[str, Any]]:
        """Every message accepted for a user, by push, multicast or reply (replies name no user: see reply_tokens)."""
        out = []
        for r in self.sent():
            if r.path.endswith("/push") and r.body["to"] == user_id:
                out.extend(r.body["messages"])
            elif r.path.endswith("/multicast") and user_id in r.body["to"]:
                out.extend(r.body["messages"])
        return out

    # -- HTTP
    def _take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if path.endswith(fault.path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    async def _handle(self, request: Request) -> Response:
        path = request.url.path
        raw = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        body: Any = None
        if headers.get("content-type", "").startswith("image/"):
            body, problem = image_info(raw)
            if problem:
                return self._record(request, headers, body, 400, JSONResponse({"message": problem}, 400),
                                    violation=f"{path}: {problem}")
            raw = b""
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                return self._record(request, headers, raw.decode("utf-8", "replace"), 400,
                                    JSONResponse({"message": "The request body has 1 error(s)"}, 400),
                                    violation=f"{path}: body is not JSON")
        if not headers.get("authorization", "").startswith("Bearer "):
            return self._record(request, headers, body, 401, JSONResponse({"message": "Authentication failed"}, 401),
                                violation=f"{path}: no bearer token")
        self._seen += 1
        errors = (spec.request_errors(request.method, path, body) + limit_errors(path, body)
                  if self._seen % self.validate_every == 0 else [])
        if errors:
            return self._record(request, headers, body, 400,
                                JSONResponse({"message": "The request body has errors", "details": [
                                    {"message": e, "property": ""} for e in errors]}, 400),
                                violation=f"{request.method} {path}: " + "; ".join(errors))

        retry_key = headers.get("x-line-retry-key")
        if retry_key is not None:
            try:
                uuid.UUID(retry_key)
            except ValueError:
                return self._record(request, headers, body, 400, JSONResponse({"message": "Invalid retry key"}, 400),
                                    violation=f"{path}: retry key is not a UUID")
            with self.lock:
                accepted = self.accepted_keys.get(retry_key)
            if accepted:
                return self._record(request, headers, body, 409, JSONResponse(
                    {"message": "The retry key is already accepted", "sentMessages": []}, 409,
                    headers={"x-line-accepted-request-id": accepted, "x-line-request-id": str(uuid.uuid4())}))

        for suffix, seconds in list(self.delay.items()):
            if path.endswith(suffix):
                await asyncio.sleep(seconds)
        if self._over_rate_limit(path):
            return self._record(request, headers, body, 429, JSONResponse({"message": "Too many requests"}, 429))
        if any(path.endswith(suffix) and self.random.random() < share for suffix, share in self.error_rate.items()):
            return self._record(request, headers, body, 500, JSONResponse({"message": "Internal server error"}, 500))
        fault = self._take_fault(path)
        if fault is not None and not fault.accept_first:
            response = self._record(request, headers, body, fault.status,
                                    JSONResponse(fault.body or {"message": "Internal server error"}, fault.status))
            if fault.hang:  # recorded on arrival, so a late answer never lands in a later test's records
                await asyncio.sleep(fault.hang)
            return response
        if self.monthly_limit and path.split("/")[-1] in ("push", "multicast", "broadcast", "narrowcast"):
            return self._record(request, headers, body, 429,
                                JSONResponse({"message": "You have reached your monthly limit."}, 429))

        request_id = str(uuid.uuid4())
        response = self._answer(request.method, path, body, headers)
        if response.status_code < 300 and retry_key:
            with self.lock:
                self.accepted_keys[retry_key] = request_id
        response.headers["x-line-request-id"] = request_id
        if fault is not None:  # LINE accepted the request, but the answer never arrived intact
            self._record(request, headers, body, response.status_code, response)
            if fault.hang:
                await asyncio.sleep(fault.hang)
            return JSONResponse(fault.body or {"message": "Internal server error"}, fault.status)
        return self._record(request, headers, body, response.status_code, response)

    def _over_rate_limit(self, path: str) -> bool:
        """LINE's per-endpoint rate limit, as a sliding one-second window."""
        for suffix, limit in self.rate_limits.items():
            if path.endswith(suffix):
                now = time.monotonic()
                with self.lock:
                    window = self._recent.setdefault(suffix, deque())
                    while window and now - window[0] >= 1.0:
                        window.popleft()
                    if len(window) >= limit:
                        return True
                    window.append(now)
        return False

    def _answer(self, method: str, path: str, body: Any, headers: dict[str, str]) -> Response:
        if path == "/v2/bot/message/reply":
            token = body["replyToken"]
            with self.lock:
                if token in self.used_reply_tokens:
                    return JSONResponse({"message": "Invalid reply token"}, 400)
                self.used_reply_tokens.add(token)
            return JSONResponse({"sentMessages": [{"id": str(uuid.uuid4().int)[:18], "quoteToken": "q"}
                                                  for _ in body["messages"]]})
        if path == "/v2/bot/message/push":
            return JSONResponse({"sentMessages": [{"id": str(uuid.uuid4().int)[:18], "quoteToken": "q"}
                                                  for _ in body["messages"]]})
        if path in ("/v2/bot/message/multicast", "/v2/bot/message/broadcast", "/v2/bot/message/narrowcast"):
            return JSONResponse({})
        if path.startswith("/v2/bot/profile/"):
            user_id = path.rsplit("/", 1)[-1]
            profile = self.profiles.get(user_id, {"displayName": f"ユーザー{user_id[-4:]}", "language": "ja"})
            if not profile:  # set profiles[user_id] = {} for a user LINE does not know
                return JSONResponse({"message": "Not found"}, 404)
            return JSONResponse({"userId": user_id, **profile})
        member = re.fullmatch(r"/v2/bot/(group|room)/([^/]+)/member/([^/]+)", path)
        if member and method == "GET":  # a member of a group or room: not necessarily a friend of the bot
            user_id = member.group(3)
            profile = self.profiles.get(user_id, {"displayName": f"メンバー{user_id[-4:]}"})
            if not profile:
                return JSONResponse({"message": "Not found"}, 404)
            return JSONResponse({"userId": user_id, "displayName": profile.get("displayName", ""),
                                 **({"pictureUrl": profile["pictureUrl"]} if "pictureUrl" in profile else {})})
        if path.startswith(("/v2/bot/richmenu", "/v2/bot/user/")):
            return self._rich_menu(method, path, body)
        if path == "/v2/bot/message/quota":
            return JSONResponse({"type": "limited", "value": self.quota})
        if path == "/v2/bot/message/quota/consumption":
            used = sum(len(r.body.get("to", [])) if r.path.endswith("multicast") else 1
                       for r in self.sent() if r.path.endswith(("/push", "/multicast")))
            return JSONResponse({"totalUsage": used})
        return JSONResponse({"message": f"the fake LINE server does not implement {method} {path}"}, 404)

    def _rich_menu(self, method: str, path: str, body: Any) -> Response:
        parts = path.split("/")
        with self.lock:
            creating = method == "POST" and path == "/v2/bot/richmenu"
            if creating or (method == "DELETE" and parts[3] == "richmenu" and len(parts) == 5):
                now = time.monotonic()
                self.rich_menu_changes = [t for t in self.rich_menu_changes if now - t < 3600]
                if len(self.rich_menu_changes) >= 100:
                    return JSONResponse({"message": "Too many requests"}, 429)
                self.rich_menu_changes.append(now)
            if method == "POST" and path == "/v2/bot/richmenu":
                rich_menu_id = f"richmenu-{uuid.uuid4().hex}"
                self.rich_menus[rich_menu_id] = body
                return JSONResponse({"richMenuId": rich_menu_id})
            if method == "GET" and path == "/v2/bot/richmenu/list":
                return JSONResponse({"richmenus": [{"richMenuId": k, **v} for k, v in self.rich_menus.items()]})
            if method == "POST" and path == "/v2/bot/richmenu/bulk/link":
                if body["richMenuId"] not in self.rich_menus:
                    return JSONResponse({"message": "rich menu not found"}, 400)
                for user_id in body["userIds"]:
                    self.rich_menu_links[user_id] = body["richMenuId"]
                return JSONResponse({}, 202)
            if method == "POST" and path.endswith("/content"):
                if parts[4] not in self.rich_menus:
                    return JSONResponse({"message": "rich menu not found"}, 404)
                self.rich_menu_images[parts[4]] = body
                return JSONResponse({})
            if method == "DELETE" and parts[3] == "richmenu":
                if self.rich_menus.pop(parts[4], None) is None:
                    return JSONResponse({"message": "rich menu not found"}, 404)
                return JSONResponse({})
            if method == "POST" and path.startswith("/v2/bot/user/all/richmenu/"):
                if parts[6] not in self.rich_menus or parts[6] not in self.rich_menu_images:
                    return JSONResponse({"message": "rich menu without an image"}, 400)
                self.default_rich_menu = parts[6]
                return JSONResponse({})
            if method == "POST" and parts[3] == "user" and len(parts) == 7:
                if parts[6] not in self.rich_menus:
                    return JSONResponse({"message": "rich menu not found"}, 400)
                self.rich_menu_links[parts[4]] = parts[6]
                return JSONResponse({})
            if method == "DELETE" and parts[3] == "user" and parts[5] == "richmenu":
                self.rich_menu_links.pop(parts[4], None)
                return JSONResponse({})
        return JSONResponse({"message": f"the fake LINE server does not implement {method} {path}"}, 404)

    def _record(self, request: Request, headers: dict[str, str], body: Any, status: int, response: Response,
                violation: str | None = None) -> Response:
        with self.lock:
            self.requests.append(Recorded(request.method, request.url.path, headers, body, status))
            if violation:
                self.violations.append(violation)
        return response

    # -- lifecycle
    def start(self) -> FakeLine:
        spec.messaging_api()  # load the spec before the first request
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "POST", "DELETE", "PUT"])])
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake LINE server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(5)
