"""What every API route shares: the bearer token check (bot.auth) and the runtime."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request, status

from bot.auth import require_token


def get_runtime(request: Request) -> Any:
    return request.app.state.runtime


RuntimeDep = Annotated[Any, Depends(get_runtime)]
# A row id in a path: a positive 32-bit integer (larger ones get a 422, not a database error).
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


__all__ = ["Id", "RuntimeDep", "get_runtime", "not_found", "require_token"]
