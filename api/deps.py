"""What every API route shares: the bearer token check (bot.auth) and the runtime."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request, status
from pydantic import AfterValidator, AwareDatetime

from bot.auth import require_token


def _within_years(moment: dt.datetime) -> dt.datetime:
    if not 2000 <= moment.year <= 2100:
        raise ValueError("must be between the years 2000 and 2100")
    return moment


# A date and time with its time zone, in a range the ward can mean (and date arithmetic cannot overflow).
Moment = Annotated[AwareDatetime, AfterValidator(_within_years)]


async def reject_nul(request: Request) -> None:
    """Text with a NUL character cannot be stored (PostgreSQL refuses it): a clear 422 instead of a 500."""
    body = await request.body()  # Starlette keeps it for the route
    if b"\\u0000" in body or b"\x00" in body or "%00" in request.url.query:
        raise HTTPException(422, [{"loc": ["body"], "msg": "text must not contain NUL characters",
                                   "type": "value_error"}])


def get_runtime(request: Request) -> Any:
    return request.app.state.runtime


RuntimeDep = Annotated[Any, Depends(get_runtime)]
# A row id in a path: a positive 32-bit integer (larger ones get a 422, not a database error).
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


__all__ = ["Id", "Moment", "RuntimeDep", "get_runtime", "not_found", "reject_nul", "require_token"]
