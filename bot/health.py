"""GET /healthz: the database answers and the scheduler runs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

router = APIRouter()


@router.get("/healthz", tags=["health"])
async def healthz(request: Request) -> JSONResponse:
    runtime = request.app.state.runtime

    def ping() -> tuple[bool, bool]:
        try:
            with runtime.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True, runtime.workers_alive()
        except Exception:
            return False, runtime.scheduler.running

    database, scheduler = await run_in_threadpool(ping)
    ok = database and scheduler
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "database": "ok" if database else "unreachable",
         "scheduler": "running" if scheduler else "stopped"},
        status_code=200 if ok else 503,
    )
