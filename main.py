"""Wires the app together, and the command line: `python main.py serve|migrate|demo`."""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, RedirectResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

import api
import console
import simulator
from bot import health, logs, metrics, webhook
from bot.headers import SecurityHeaders
from config import Settings, SettingsError
from db.base import OtherProcessRunning
from events import feed
from runtime import Runtime

GC_YOUNG_THRESHOLD = 20_000  # objects allocated between young collections (Python's default: 700)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ASGI app. Everything that opens connections happens in the lifespan, on the running loop."""
    settings = settings or Settings()
    runtime = Runtime(settings)
    # Worker threads do database work beside the event loop; a short switch interval keeps webhook answers
    # from waiting up to 5 ms for the GIL at every step.
    sys.setswitchinterval(0.0005)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        if settings.gc_freeze:
            # What start-up made (modules, SQLAlchemy's and pydantic's structures) lives as long as the process:
            # moved out of the collector's sight, a full collection no longer stops every answer for 100-200 ms.
            gc.collect()
            gc.freeze()
            gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 100)
        try:
            yield
        finally:
            await runtime.stop()

    # /docs with Swagger UI's assets served by the app itself (fastapi-offline ships them): ward networks block CDNs
    app = FastAPIOffline(title="港区 区政会議 LINE bot", version="0.1.0", lifespan=lifespan,
                         docs_url=None if settings.is_production else "/docs", redoc_url=None,
                         favicon_url="/favicon.ico")
    app.state.runtime = runtime
    app.include_router(health.router)
    app.include_router(simulator.router)
    app.include_router(api.router)
    app.include_router(api.files)  # images for broadcasts: POST /api/v1/media, the files at /media/...
    app.include_router(feed.router)
    app.include_router(metrics.router)
    app.mount("/console/static", console.static, name="console-static")
    app.include_router(console.router)
    app.include_router(console.public.router)  # the published tables of opinions (no log-in)
    app.add_exception_handler(console.LoginRequired, console.login_redirect)
    app.add_exception_handler(StarletteHTTPException, console.http_error)  # pages for the console, JSON elsewhere
    app.add_exception_handler(RequestValidationError, console.validation_error)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/console", status_code=303)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(console.FAVICON, media_type="image/x-icon")
    app.add_middleware(webhook.WebhookEndpoint, runtime=runtime)  # POST /callback, in front of the routes
    app.add_middleware(SecurityHeaders, production=settings.is_production)  # outermost: every answer has them
    return app


def _cmd_migrate(settings: Settings) -> None:
    from db.base import make_engine
    from db.migrate import upgrade

    upgrade(make_engine(settings.database_url))
    print("database migrated")


def _cmd_demo(settings: Settings) -> int:
    if settings.is_production:  # the demo creates a staff account with a published password
        print("the demo data is for development only (APP_ENV=production)", file=sys.stderr)
        return 2
    import demo
    from db.migrate import ensure_migrated

    runtime = Runtime(settings)
    ensure_migrated(runtime.engine)
    with runtime.work("demo") as work:
        added = demo.load(work)
    print("demo data: " + ", ".join(f"{n} {kind} added" for kind, n in added.items()))
    if added["staff accounts"]:
        name, password, _role = demo.DEMO_STAFF
        base = settings.public_base_url.rstrip("/")
        print(f"staff console: {base}/console  (log in as {name} / {password})")
        print(f"LINE simulator: {base}/simulator")
    return 0


def _cmd_serve(settings: Settings, host: str, port: int) -> None:
    """Serve HTTP. With PROCESS_ROLE=web, run `main.py worker` processes beside it for the background work."""
    import uvicorn

    logs.setup(settings.is_production, settings.log_level)
    uvicorn.run("main:create_app", factory=True, host=host, port=port, log_config=None)


def _cmd_worker(settings: Settings) -> None:
    """The background work alone: inbox, deliveries, scheduler. Stops cleanly on SIGTERM or Ctrl-C."""
    logs.setup(settings.is_production, settings.log_level)
    settings.process_role = "worker"

    async def run() -> None:
        runtime = Runtime(settings)
        try:
            await runtime.start()
        except OtherProcessRunning as exc:
            print(exc, file=sys.stderr)
            sys.exit(2)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runtime.stop()

    asyncio.run(run())


def _cmd_richmenu(settings: Settings, action: str) -> int:
    from pathlib import Path

    from richmenu import deploy

    if action == "preview":
        for path in deploy.preview(Path("var")):
            print(f"wrote {path}")
        return 0
    if not settings.line_enabled:
        print("LINE_CHANNEL_ACCESS_TOKEN is not set: nothing to deploy to (try `richmenu preview`)", file=sys.stderr)
        return 2

    async def run() -> dict[str, object]:
        runtime = Runtime(settings)
        await runtime.gateway.start()
        try:
            return await deploy.deploy(runtime.gateway, runtime.sessions)
        finally:
            await runtime.gateway.close()

    print(asyncio.run(run()))
    return 0


def _cmd_staff_create(settings: Settings, name: str, role: str, line_user_id: str | None) -> int:
    import getpass

    from sqlalchemy import select

    from db.migrate import ensure_migrated
    from db.models import User
    from staff import service

    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("the passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\n")
    runtime = Runtime(settings)
    ensure_migrated(runtime.engine)
    try:
        with runtime.work("command line") as work:
            user_id = None
            if line_user_id:
                user_id = work.session.scalar(select(User.id).where(User.line_user_id == line_user_id))
                if user_id is None:
                    print(f"no friend of the bot has the LINE user ID {line_user_id}", file=sys.stderr)
                    return 2
            service.create(work, name=name, password=password, role=role, user_id=user_id)
    except service.StaffError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"staff account '{name}' ({role}) created")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="main.py", description="港区 区政会議 LINE bot")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the bot, the console and the simulator")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    sub.add_parser("worker", help="run only the background work (inbox, deliveries, scheduler)")
    for name, text in (("backup", "copy the SQLite database to FILE while the app runs"),
                       ("restore", "replace the SQLite database with FILE (stop the app first)")):
        sub.add_parser(name, help=text).add_argument("file")
    menu = sub.add_parser("richmenu", help="the rich menus: deploy them to LINE, or preview their images")
    menu.add_argument("action", choices=["deploy", "preview"])
    staff = sub.add_parser("staff", help="staff accounts for the console")
    staff_sub = staff.add_subparsers(dest="staff_action", required=True)
    staff_create = staff_sub.add_parser("create", help="create a staff account (password prompted, or from stdin)")
    staff_create.add_argument("--name", required=True)
    staff_create.add_argument("--role", required=True, choices=["admin", "editor", "viewer"])
    staff_create.add_argument("--line-user-id", help="their own LINE user ID, for test sends of broadcasts")
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("demo", help="load demo data (idempotent)")
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.command == "migrate":
        _cmd_migrate(settings)
    elif args.command == "demo":
        return _cmd_demo(settings)
    elif args.command == "serve":
        _cmd_serve(settings, args.host, args.port)
    elif args.command == "worker":
        _cmd_worker(settings)
    elif args.command in ("backup", "restore"):
        from pathlib import Path

        from db import backup

        try:
            done = getattr(backup, args.command)(settings.database_url, Path(args.file))
        except (ValueError, FileNotFoundError) as exc:
            print(exc, file=sys.stderr)
            return 2
        print(f"{args.command}: {done}")
    elif args.command == "richmenu":
        return _cmd_richmenu(settings, args.action)
    elif args.command == "staff":
        return _cmd_staff_create(settings, args.name, args.role, args.line_user_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
