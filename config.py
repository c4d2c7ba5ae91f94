"""Application settings, read from the environment or a .env file (pydantic-settings)."""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that are fine on a developer's machine and refused in production.
DEV_CHANNEL_SECRET = "development-channel-secret"
DEV_ADMIN_TOKEN = "development-admin-token"
_INSECURE = {"", "changeme", "change-me", "secret", DEV_CHANNEL_SECRET, DEV_ADMIN_TOKEN}


class SettingsError(RuntimeError):
    """Raised when the configuration is unsafe or incomplete; the message says what to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    app_env: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///var/minato.db"
    line_channel_secret: str = ""
    line_channel_access_token: str = ""
    line_api_base_url: str = "https://api.line.me"
    admin_api_token: str = ""
    public_base_url: str = "http://127.0.0.1:8000"
    ward_name: str = "港区"
    # Where residents are sent when the bot cannot help: the ward's website, and the office's phone and hours.
    ward_site_url: str = "https://www.city.osaka.lg.jp/minato/"
    office_name: str = "港区役所"
    office_phone: str = ""
    office_hours: str = "平日 9:00〜17:30"
    # The bot's add-friend URL (https://line.me/R/ti/p/@xxxx): the link-code sheet prints it and its QR code.
    line_add_friend_url: str = ""
    # The map under the event form's place fields: an https:// tile URL with {z}/{x}/{y} (the console's CSP allows
    # https images only); empty: no map (the place search and the number fields stay).
    map_tile_url: str = Field("https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                              pattern=r"^$|^https://[^\s\"'<>]*\{z\}[^\s\"'<>]*\{x\}[^\s\"'<>]*\{y\}[^\s\"'<>]*$")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    timezone: str = "Asia/Tokyo"

    # Tuning knobs; the defaults suit one ward.
    webhook_max_body_bytes: int = 1024 * 1024
    line_request_timeout_seconds: float = 10.0
    delivery_max_attempts: int = 14  # with the back-off below: retries for about 25 minutes of LINE trouble
    # A process that dies mid-send holds its claimed deliveries this long; then another process takes them over.
    delivery_lease_seconds: float = Field(60.0, gt=0)
    inbox_lease_seconds: float = Field(120.0, gt=0)  # the same for webhook events being handled
    event_max_attempts: int = 5
    retry_base_seconds: float = 0.2  # 0.2, 0.4, 0.8 ... s, with jitter, up to retry_max_seconds
    retry_max_seconds: float = 600.0
    worker_poll_seconds: float = 0.2
    # While webhook requests are in flight in the same process, handling the next event waits for them, up to this
    # many times as long as its previous event took (0: never waits). The 200 LINE waits for comes first; under a
    # flood handling still gets about 1 / (1 + factor) of the time, and all of it again once the flood is over.
    inbox_yield_factor: float = Field(2.0, ge=0, le=20)
    # ... but only while the event to handle has waited less than this (or in a flood of webhook requests); 0 (the
    # default): only in a flood. At a busy but steady pace, giving way cost residents more than it saved the 200.
    inbox_yield_budget_ms: float = Field(0.0, ge=0, le=10_000)
    # On PostgreSQL, a batch of webhook events is handled in this many threads at once, each with its own connection
    # (a batch holds at most one event per user, so their order holds): one thread spent most of its time waiting
    # for the database's answers. 6 and 8 did worse than 4 (issue #13); the lanes take threads of the default pool
    # (min(32, CPUs + 4)), which the claims and the gateway's outcome writes use too. SQLite has one writer, so
    # there it is always 1.
    inbox_lanes: int = Field(4, ge=1, le=8)
    multicast_requests_per_second: float = 200.0
    push_requests_per_second: float = 2000.0
    sender_concurrency: int = 16
    quiet_hours_start: int = Field(21, ge=0, le=23)
    quiet_hours_end: int = Field(8, ge=0, le=23)
    start_background_workers: bool = True
    # all: webhook and workers in one process (`main.py serve`'s default); web: only take requests; worker: only
    # the background work (inbox, deliveries, scheduler), as `main.py worker` runs it.
    process_role: Literal["all", "web", "worker"] = "all"
    scheduler_tick_seconds: float = 30.0
    # After each 全体会議 or 部会 ends, its members get the short pulse survey this many minutes later (0: at the end;
    # in the quiet hours it waits for the morning).
    pulse_delay_minutes: int = Field(60, ge=0, le=7 * 24 * 60)
    # At most this many reminders per survey and per pulse; after the last, staff have the call list.
    survey_max_reminders: int = Field(2, ge=0, le=5)
    # After start-up, freeze what exists out of the garbage collector's sight (see main.py); the tests, which start
    # many apps in one process, turn it off.
    gc_freeze: bool = True

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.app_env != "production":
            return self
        problems = []
        if self.line_channel_secret in _INSECURE:
            problems.append("LINE_CHANNEL_SECRET is missing or a default value")
        if self.line_channel_access_token in _INSECURE:
            problems.append("LINE_CHANNEL_ACCESS_TOKEN is missing or a default value")
        if self.admin_api_token in _INSECURE or len(self.admin_api_token) < 24:
            problems.append("ADMIN_API_TOKEN is missing, a default value, or shorter than 24 characters")
        if problems:
            raise SettingsError("Refusing to start in production: " + "; ".join(problems) + ".")
        return self

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @cached_property
    def channel_secret(self) -> str:
        """The secret used to verify (and, in the simulator, sign) webhook bodies."""
        return self.line_channel_secret or DEV_CHANNEL_SECRET

    @cached_property
    def admin_token(self) -> str:
        return self.admin_api_token or DEV_ADMIN_TOKEN

    @property
    def line_enabled(self) -> bool:
        """True when messages really go to LINE; otherwise they stay in the outbox (development)."""
        return bool(self.line_channel_access_token)
