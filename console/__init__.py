"""The staff console: server-rendered pages (Jinja2) at /console, in Japanese, for ward office staff."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles

from console import auth, broadcasts, dashboard, events, members, opinions, public, staff, surveys
from console.deps import LoginRequired, login_redirect
from console.errors import http_error, validation_error

router = APIRouter(prefix="/console")
router.add_api_route("", dashboard.dashboard, methods=["GET"], include_in_schema=False)
for module in (auth, events, members, surveys, broadcasts, opinions, staff):
    router.include_router(module.router)

static = StaticFiles(directory=str(Path(__file__).parent / "static"))
FAVICON = Path(__file__).parent / "static" / "favicon.ico"
__all__ = ["FAVICON", "LoginRequired", "http_error", "login_redirect", "public", "router", "static",
           "validation_error"]
