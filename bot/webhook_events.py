"""Builders of LINE webhook events in webhook.yml's shape, for the simulator, the tests and the benchmarks."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from bot import signature


def new_event_id() -> str:
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(26))


def _base(kind: str, user_id: str, *, timestamp: int | None = None, reply: bool = True,
          event_id: str | None = None, redelivery: bool = False, mode: str = "active") -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": kind,
        "mode": mode,
        "timestamp": timestamp if timestamp is not None else int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": event_id or new_event_id(),
        "deliveryContext": {"isRedelivery": redelivery},
    }
    if reply:
        event["replyToken"] = secrets.token_hex(16)
    return event


def text_message(user_id: str, text: str, **kw: Any) -> dict[str, Any]:
    event = _base("message", user_id, **kw)
    event["message"] = {"type": "text", "id": str(secrets.randbelow(10**17)), "text": text,
                        "quoteToken": secrets.token_urlsafe(16)}
    return event


def sticker_message(user_id: str, **kw: Any) -> dict[str, Any]:
    event = _base("message", user_id, **kw)
    event["message"] = {"type": "sticker", "id": str(secrets.randbelow(10**17)), "packageId": "446",
                        "stickerId": "1988", "stickerResourceType": "STATIC", "quoteToken": secrets.token_urlsafe(16)}
    return event


def postback(user_id: str, data: str, **kw: Any) -> dict[str, Any]:
    event = _base("postback", user_id, **kw)
    event["postback"] = {"data": data}
    return event


def follow(user_id: str, unblocked: bool = False, **kw: Any) -> dict[str, Any]:
    event = _base("follow", user_id, **kw)
    event["follow"] = {"isUnblocked": unblocked}
    return event


def unfollow(user_id: str, **kw: Any) -> dict[str, Any]:
    return _base("unfollow", user_id, reply=False, **kw)


def body(*events: dict[str, Any], destination: str = "U" + "0" * 32) -> bytes:
    return json.dumps({"destination": destination, "events": list(events)}, ensure_ascii=False).encode("utf-8")


def signed(secret: str, *events: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """A webhook body and the headers LINE would send with it."""
    raw = body(*events)
    return raw, {"content-type": "application/json", "x-line-signature": signature.sign(secret, raw)}
