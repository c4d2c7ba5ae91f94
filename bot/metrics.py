"""Prometheus metrics: GET /metrics (bearer ADMIN_API_TOKEN), for the counters below and the outbox backlog."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from bot.auth import require_token
from db.models import Delivery, InboxEvent

REGISTRY = CollectorRegistry()
WEBHOOK_EVENTS = Counter("webhook_events_received_total", "Webhook events stored (new, not redelivered copies)",
                         registry=REGISTRY)
EVENTS_PROCESSED = Counter("webhook_events_processed_total", "Webhook events handled, by outcome", ["outcome"],
                           registry=REGISTRY)
PROCESSING_LAG = Histogram("webhook_event_lag_seconds", "From LINE's timestamp to the end of handling",
                           buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300), registry=REGISTRY)
DELIVERIES = Counter("line_deliveries_total", "Requests to LINE that finished, by kind and outcome",
                     ["kind", "outcome"], registry=REGISTRY)
LINE_LATENCY = Histogram("line_api_seconds", "Time LINE took to answer, by endpoint and HTTP status",
                         ["kind", "status"], registry=REGISTRY)
REMINDERS = Counter("reminders_sent_total", "Event and survey reminders sent", ["what"], registry=REGISTRY)
_quota_left: Gauge | None = None  # made on the first reading: with LINE off (or not read yet) nothing is reported


def quota_left(value: int) -> None:
    """LINE's monthly quota left, as last read; absent from /metrics until LINE has been asked (never a false 0)."""
    global _quota_left
    if _quota_left is None:
        _quota_left = Gauge("line_quota_left", "Messages left in LINE's monthly quota, when last read",
                            registry=REGISTRY)
    _quota_left.set(value)
BACKLOG = Gauge("backlog", "Rows waiting, by table and status", ["table", "status"], registry=REGISTRY)

router = APIRouter(include_in_schema=False)


@router.get("/metrics", dependencies=[Depends(require_token)])
async def metrics(request: Request) -> Response:
    runtime = request.app.state.runtime

    def backlog() -> None:
        with runtime.sessions() as session:
            for table, model in (("inbox_events", InboxEvent), ("deliveries", Delivery)):
                for status, count in session.execute(select(model.status, func.count()).where(
                        model.status.in_(("pending", "processing", "sending", "held", "failed")))
                        .group_by(model.status)):
                    BACKLOG.labels(table, status).set(count)

    await run_in_threadpool(backlog)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

