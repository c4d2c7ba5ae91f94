"""Security headers on every response (a plain ASGI middleware: no cost worth measuring on the webhook)."""

from __future__ import annotations

from typing import Any

COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
# The console loads its own script and style only; images may come from event pages (https).
CONSOLE_CSP = (b"default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; "
               b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeaders:
    def __init__(self, app: Any, *, production: bool) -> None:
        self.app = app
        self.production = production

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        console = scope["path"].startswith("/console")

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + COMMON
                if console:
                    headers += [(b"content-security-policy", CONSOLE_CSP), (b"cache-control", b"no-store")]
                if self.production:
                    headers.append(HSTS)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
