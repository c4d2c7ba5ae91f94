"""What every API route shares: the bearer token check (bot.auth), the running app, and errors."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status

from bot.auth import require_token
from bot.inputs import InputError, Moment
from bot.work import API_ACTOR, Services


async def reject_nul(request: Request) -> None:
    """Text with a NUL character cannot be stored (PostgreSQL refuses it): a clear 422 instead of a 500."""
    body = await request.body()  # Starlette keeps it for the route
    if b"\\u0000" in body or b"\x00" in body or "%00" in request.url.query:
        raise HTTPException(422, [{"loc": ["body"], "msg": "text must not contain NUL characters",
                                   "type": "value_error"}])


def get_runtime(request: Request) -> Services:
    runtime: Services = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Services, Depends(get_runtime)]
# A row id in a path: a positive 32-bit integer (larger ones get a 422, not a database error).
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


def invalid(exc: InputError) -> HTTPException:
    """A domain command's refusal as FastAPI's 422, naming the field."""
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.for_api())


__all__ = ["API_ACTOR", "Id", "Moment", "RuntimeDep", "get_runtime", "invalid", "not_found", "reject_nul",
           "require_token"]
