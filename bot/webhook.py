"""POST /callback: verify the signature, store the events, answer 200 at once; the work happens afterwards.

The webhook is the one hot path, so it is a plain ASGI endpoint placed in front of the routes rather than a
FastAPI route: FastAPI's per-request machinery (request objects, dependency solving, cookie and query parsing,
exit stacks) cost more than the endpoint's own work. The security headers and error middleware still apply.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from bot import metrics, signature

log = logging.getLogger(__name__)
PATH = "/callback"


class BodyTooLarge(Exception):
    pass


class Disconnected(Exception):
    """The client went away before its body was read: nothing is stored, nobody is left to answer."""


def parse_events(body: bytes) -> list[dict[str, Any]]:
    """The events of a webhook body, or ValueError saying what is wrong with it."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("the body is not valid JSON") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise ValueError("the body must be an object with an 'events' list")
    events = payload["events"]
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise ValueError(f"events[{index}] is not an object")
        event_id = event.get("webhookEventId")
        if not isinstance(event_id, str) or not 0 < len(event_id) <= 64:
            raise ValueError(f"events[{index}].webhookEventId is missing or too long")
        if not isinstance(event.get("type"), str):
            raise ValueError(f"events[{index}].type is missing")
        timestamp = event.get("timestamp")
        if not isinstance(timestamp, int) or isinstance(timestamp, bool) or not 0 <= timestamp < 2**53:
            raise ValueError(f"events[{index}].timestamp is not a time in milliseconds")
    return events


class WebhookEndpoint:
    """ASGI middleware answering POST /callback itself; every other request goes on to the app."""

    def __init__(self, app: Any, *, runtime: Any) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            await _answer(send, 405, {"message": "method not allowed"}, [(b"allow", b"POST")])
            return
        traffic = self.runtime.traffic
        traffic.enter()
        try:
            status, answer = await self._handle(scope, receive)
        except Disconnected:
            return
        finally:
            traffic.leave()
        await _answer(send, status, answer)

    async def _handle(self, scope: dict[str, Any], receive: Any) -> tuple[int, dict[str, Any]]:
        runtime = self.runtime
        settings = runtime.settings
        headers = dict(scope["headers"])  # lower-case names, as ASGI gives them
        try:
            body = await _read_limited(receive, headers.get(b"content-length"), settings.webhook_max_body_bytes)
        except BodyTooLarge:
            return 413, {"message": "body too large"}
        sig = headers.get(b"x-line-signature")
        if not signature.is_valid(settings.channel_secret, body, sig.decode("latin-1") if sig else None):
            log.warning("webhook refused: missing or wrong signature")
            return 400, {"message": "invalid signature"}
        try:
            events = parse_events(body)
        except ValueError as exc:
            return 400, {"message": str(exc)}
        if events:
            new = await runtime.inbox_writer.store(events)
            metrics.WEBHOOK_EVENTS.inc(new)
            if new:
                runtime.processor.wake()
            if log.isEnabledFor(logging.INFO):
                log.info("webhook stored %d new of %d events", new, len(events),
                         extra={"webhook_event_ids": [e["webhookEventId"] for e in events][:20]})
        return 200, {}


async def _read_limited(receive: Any, declared: bytes | None, limit: int) -> bytes:
    """The raw body, refusing more than limit bytes without reading them all."""
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        part = message.get("body", b"")
        size += len(part)
        if size > limit:
            raise BodyTooLarge
        chunks.append(part)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(send: Any, status: int, answer: dict[str, Any],
                  extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps(answer, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
