"""Errors as pages: a console address that fails gets a page in the console's layout, in Japanese, with a way
back, instead of raw JSON. The automation API (and anything outside /console) keeps FastAPI's JSON answers."""

from __future__ import annotations

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from console.deps import templates

MESSAGES = {
    400: ("正しく送れませんでした", "もう一度 画面を開き直してから、操作してください。"),
    403: ("この操作はできません", "この画面や操作は、権限のある職員だけが使えます。"
          "必要なときは管理者にご相談ください。"),
    404: ("ページが見つかりませんでした", "アドレスがまちがっているか、削除されたページです。"),
    405: ("このページは この方法では開けません", "メニューから開き直してください。"),
    409: ("ほかの操作と重なりました", "画面を開き直して、いまの状態を確かめてください。"),
}
FALLBACK = ("うまくいきませんでした", "時間をおいて、もう一度おためしください。続くときは管理者にご連絡ください。")


def _is_page(request: Request) -> bool:
    return request.url.path == "/console" or request.url.path.startswith("/console/")


def _page(request: Request, status: int, detail: str | None = None) -> Response:
    title, body = MESSAGES.get(status, FALLBACK)
    # a detail written for clerks (Japanese, from the console's own checks) is shown; FastAPI's English ones are not
    said = detail if detail and not detail.isascii() else None
    return templates.TemplateResponse(request, "error.html", {"staff": None, "status": status, "title": title,
                                                              "body": body, "detail": said}, status_code=status)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if not _is_page(request):
        return await http_exception_handler(request, exc)
    response = _page(request, exc.status_code, exc.detail if isinstance(exc.detail, str) else None)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def validation_error(request: Request, exc: Exception) -> Response:
    """A console address with a malformed part (/console/events/abc) is a page that does not exist."""
    assert isinstance(exc, RequestValidationError)
    if not _is_page(request):
        return await request_validation_exception_handler(request, exc)
    return _page(request, 404)
