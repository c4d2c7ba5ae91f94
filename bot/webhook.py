"""POST /callback: verify the signature, store the events, answer 200 at once; the work happens afterwards."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot import metrics, signature

log = logging.getLogger(__name__)
router = APIRouter()


class BodyTooLarge(Exception):
    pass


async def read_limited(request: Request, limit: int) -> bytes:
    """The raw body, refusing more than limit bytes without reading them all."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for part in request.stream():
        size += len(part)
        if size > limit:
            raise BodyTooLarge
        chunks.append(part)
    return b"".join(chunks)


def _problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


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


@router.post("/callback", include_in_schema=False)
async def callback(request: Request) -> JSONResponse:
    runtime = request.app.state.runtime
    settings = runtime.settings
    try:
        body = await read_limited(request, settings.webhook_max_body_bytes)
    except BodyTooLarge:
        return _problem(413, "body too large")
    if not signature.is_valid(settings.channel_secret, body, request.headers.get("x-line-signature")):
        log.warning("webhook refused: missing or wrong signature")
        return _problem(400, "invalid signature")
    try:
        events = parse_events(body)
    except ValueError as exc:
        return _problem(400, str(exc))
    if events:
        new = await runtime.inbox_writer.store(events)
        metrics.WEBHOOK_EVENTS.inc(new)
        if new:
            runtime.processor.wake()
        log.info("webhook stored %d new of %d events", new, len(events),
                 extra={"webhook_event_ids": [e["webhookEventId"] for e in events][:20]})
    return JSONResponse({})
