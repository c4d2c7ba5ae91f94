"""The events domain's vocabulary (kinds, statuses, visibility, with their Japanese labels) and its input model."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationInfo, field_validator

from bot.inputs import Moment, OptionalText, Text, field_error, partial
from db.models import Event


class Kind(StrEnum):
    FESTIVAL = "festival"
    EVENT = "event"
    LECTURE = "lecture"
    PLENARY = "plenary"
    SUBCOMMITTEE = "subcommittee"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


class Status(StrEnum):
    SCHEDULED = "scheduled"
    CHANGED = "changed"
    CANCELLED = "cancelled"
    RAIN_CANCELLED = "rain_cancelled"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


class Visibility(StrEnum):
    PUBLIC = "public"
    MEMBERS = "members"
    SUBCOMMITTEE = "subcommittee"

    @property
    def label(self) -> str:
        return VISIBILITY_LABELS[self]


KIND_LABELS = {Kind.FESTIVAL: "まつり", Kind.EVENT: "イベント", Kind.LECTURE: "講座", Kind.PLENARY: "全体会議",
               Kind.SUBCOMMITTEE: "部会"}
STATUS_LABELS = {Status.SCHEDULED: "予定どおり", Status.CHANGED: "変更あり", Status.CANCELLED: "中止",
                 Status.RAIN_CANCELLED: "雨天中止"}
VISIBILITY_LABELS = {Visibility.PUBLIC: "区民みんな", Visibility.MEMBERS: "委員のみ",
                     Visibility.SUBCOMMITTEE: "部会の委員のみ"}
MEETINGS = (Kind.PLENARY, Kind.SUBCOMMITTEE)
CANCELLED = (Status.CANCELLED, Status.RAIN_CANCELLED)
MAX_REMINDER_HOURS = 24 * 90

Word = Annotated[Text, Field(min_length=1, max_length=50)]


class Document(BaseModel):
    """事前資料: a meeting's document, linked."""

    title: Text = Field(min_length=1, max_length=100, title="資料名")
    url: HttpUrl = Field(title="資料のURL")

    @field_validator("url")
    @classmethod
    def _https(cls, url: HttpUrl) -> HttpUrl:
        if url.scheme != "https":
            raise field_error("url_scheme", "must be an https:// URL", "https:// で始まるURLにしてください")
        return url


class EventInput(BaseModel):
    """Every field of an event, as staff set it (console, API) and the demo data does."""

    model_config = ConfigDict(extra="forbid")

    title: Text = Field(min_length=1, max_length=100, title="イベント名")
    title_en: OptionalText = Field(None, max_length=100, title="英語の名前")
    kind: Kind = Field(title="種類")
    starts_at: Moment = Field(title="開始")
    ends_at: Moment = Field(title="終了")
    all_day: bool = Field(False, title="終日")
    venue: OptionalText = Field(None, max_length=200, title="会場")
    address: OptionalText = Field(None, max_length=300, title="住所")
    latitude: float | None = Field(None, ge=-90, le=90, title="緯度")
    longitude: float | None = Field(None, ge=-180, le=180, title="経度")
    description: OptionalText = Field(None, max_length=5000, title="説明")
    description_en: OptionalText = Field(None, max_length=5000, title="英語の説明")
    url: HttpUrl | None = Field(None, title="詳しいページのURL")
    image_url: HttpUrl | None = Field(None, title="画像のURL", description="an https:// image (LINE shows only https)")
    visibility: Visibility = Field(Visibility.PUBLIC, title="公開範囲")
    subcommittee: OptionalText = Field(None, max_length=100, title="部会",
                                       description="部会 name, for visibility 'subcommittee'",
                                       validate_default=True)
    tags: list[Word] = Field(default_factory=list, max_length=20, title="分類",
                             description="categories: こども, まつり...")
    keywords: list[Word] = Field(default_factory=list, max_length=20, title="ほかの呼び方",
                                 description="readings, other names")
    status: Status = Field(Status.SCHEDULED, title="状態")
    documents: list[Document] = Field(default_factory=list, max_length=20, title="事前資料")
    reminder_hours: list[Annotated[int, Field(ge=1, le=MAX_REMINDER_HOURS)]] | None = Field(
        None, max_length=5, title="リマインドの時間", description="hours before the start; null: the kind's defaults")

    @field_validator("url", "image_url", mode="before")
    @classmethod
    def _blank_url(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("ends_at")
    @classmethod
    def _after_start(cls, ends_at: Any, info: ValidationInfo) -> Any:
        starts_at = info.data.get("starts_at")
        if starts_at is not None and ends_at <= starts_at:
            raise field_error("event_order", "ends_at must be after starts_at", "開始より後にしてください")
        return ends_at

    @field_validator("longitude")
    @classmethod
    def _both_coordinates(cls, longitude: float | None, info: ValidationInfo) -> float | None:
        if "latitude" in info.data and (info.data["latitude"] is None) != (longitude is None):
            raise field_error("coordinates", "give latitude and longitude together",
                              "緯度と経度は両方入れてください")
        return longitude

    @field_validator("image_url")
    @classmethod
    def _image_https(cls, url: HttpUrl | None) -> HttpUrl | None:
        if url is not None and url.scheme != "https":
            raise field_error("url_scheme", "LINE shows images from https:// URLs only",
                              "https:// で始まるURLにしてください")
        return url

    @field_validator("subcommittee")
    @classmethod
    def _subcommittee_when_needed(cls, name: str | None, info: ValidationInfo) -> str | None:
        visibility = info.data.get("visibility")
        if visibility == Visibility.SUBCOMMITTEE and not name:
            raise field_error("subcommittee_missing", "name the 部会 for visibility 'subcommittee'",
                              "部会を選んでください")
        return name if visibility == Visibility.SUBCOMMITTEE else None

    @field_validator("tags", "keywords")
    @classmethod
    def _distinct(cls, words: list[str]) -> list[str]:
        return list(dict.fromkeys(words))

    def columns(self) -> dict[str, Any]:
        """The Event columns these fields set (the 部会 is resolved by the command)."""
        data = self.model_dump(mode="json", exclude={"subcommittee", "starts_at", "ends_at"})
        return {**data, "starts_at": self.starts_at, "ends_at": self.ends_at}

    @classmethod
    def current(cls, event: Event, subcommittee: str | None) -> dict[str, Any]:
        """The fields of the event as it is now: a change is laid over them, and the whole is validated again."""
        return {**{key: getattr(event, key) for key in cls.model_fields if key != "subcommittee"},
                "subcommittee": subcommittee}


EventChange = partial(EventInput, "EventChange", "Only the fields given change; the result must be a valid event.")
