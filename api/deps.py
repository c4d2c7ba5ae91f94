"""What every API route shares: the bearer token check (bot.auth) and the runtime."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status

from bot.auth import require_token


def get_runtime(request: Request) -> Any:
    return request.app.state.runtime


RuntimeDep = Annotated[Any, Depends(get_runtime)]


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


__all__ = ["RuntimeDep", "get_runtime", "not_found", "require_token"]
