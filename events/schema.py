"""The events domain's vocabulary (kinds, statuses, visibility, with their Japanese labels) and its input model."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationInfo, field_validator

from bot.inputs import Moment, OptionalText, Text, field_error, partial
from bot.texts import t
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
    POSTPONED = "postponed"

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
                 Status.RAIN_CANCELLED: "雨天中止", Status.POSTPONED: "延期"}
VISIBILITY_LABELS = {Visibility.PUBLIC: "区民みんな", Visibility.MEMBERS: "委員のみ",
                     Visibility.SUBCOMMITTEE: "部会の委員のみ"}
MEETINGS = (Kind.PLENARY, Kind.SUBCOMMITTEE)
CANCELLED = (Status.CANCELLED, Status.RAIN_CANCELLED, Status.POSTPONED)  # not taking place on its date


class DayStatus(StrEnum):
    """What staff say on the day in one tap (開催 / 中止 / 延期 / 内容変更), with a short message: it sets the
    event's status and tells who should hear (events.service.set_day_status)."""

    HELD = "held"
    CANCELLED = "cancelled"
    POSTPONED = "postponed"
    CHANGED = "changed"

    @property
    def label(self) -> str:
        return DAY_LABELS[self]

    def status(self, rain: bool = False) -> Status:
        if self == DayStatus.CANCELLED:
            return Status.RAIN_CANCELLED if rain else Status.CANCELLED
        return {DayStatus.HELD: Status.SCHEDULED, DayStatus.POSTPONED: Status.POSTPONED,
                DayStatus.CHANGED: Status.CHANGED}[self]


DAY_LABELS = {DayStatus.HELD: "開催", DayStatus.CANCELLED: "中止", DayStatus.POSTPONED: "延期",
              DayStatus.CHANGED: "内容変更"}


class Topic(StrEnum):
    """The questions residents usually ask about an event; each event may carry an answer to each
    (events.search reads them in a question; events.messages answers them)."""

    RAIN = "rain"
    PARKING = "parking"
    ACCESS = "access"
    FEE = "fee"
    BELONGINGS = "belongings"
    FACILITIES = "facilities"
    CONTACT = "contact"

    @property
    def label(self) -> str:
        return TOPIC_LABELS[self]


STATUS_TOPIC = "status"  # asked like a topic (やってる？ 中止？), answered from the status and the day's message
TOPIC_LABELS = {topic: t(f"topic.{topic}") for topic in Topic}  # the bot's words for them, in the console too
TOPIC_HINTS = {Topic.RAIN: "雨の日の開催・中止の決め方と、どこでお知らせするか",
               Topic.PARKING: "駐車場・駐輪場の有無",
               Topic.ACCESS: "最寄り駅・バス停からの行き方",
               Topic.FEE: "参加費・入場料",
               Topic.BELONGINGS: "持ってくるもの",
               Topic.FACILITIES: "トイレ、屋台、飲食の可否",
               Topic.CONTACT: "電話番号と受付時間"}
MAX_REMINDER_HOURS = 24 * 90

Word = Annotated[Text, Field(min_length=1, max_length=50)]


class Answers(BaseModel):
    """The event's answers to the usual questions (Topic), each optional."""

    model_config = ConfigDict(extra="forbid")

    rain: OptionalText = Field(None, max_length=1000, title="雨天時",
                               description="how the 開催/中止 decision is made, where it is announced")
    parking: OptionalText = Field(None, max_length=1000, title="駐車場")
    access: OptionalText = Field(None, max_length=1000, title="アクセス", description="nearest station, bus")
    fee: OptionalText = Field(None, max_length=1000, title="料金")
    belongings: OptionalText = Field(None, max_length=1000, title="持ち物")
    facilities: OptionalText = Field(None, max_length=1000, title="トイレ・飲食")
    contact: OptionalText = Field(None, max_length=1000, title="問い合わせ先", description="phone and hours")


class QA(BaseModel):
    """A question residents ask about this event, with the office's answer."""

    model_config = ConfigDict(extra="forbid")

    q: Text = Field(min_length=1, max_length=200, title="質問")
    a: Text = Field(min_length=1, max_length=1000, title="答え")


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
    status_message: OptionalText = Field(None, max_length=500, title="当日のお知らせ",
                                         description="the day's word from staff, shown on cards and answers")
    status_urgent: bool = Field(True, title="当日のお知らせを夜間・早朝もすぐ送る",
                                description="a day-status notice is not held by the quiet hours")
    answers: Answers = Field(default_factory=Answers, title="よくある質問への答え")
    free: bool | None = Field(None, title="無料", description="true: 無料, false: 有料, null: not said")
    faq: list[QA] = Field(default_factory=list, max_length=20, title="ほかの質問と答え")
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
        data["answers"] = {key: value for key, value in data["answers"].items() if value}
        return {**data, "starts_at": self.starts_at, "ends_at": self.ends_at}

    @classmethod
    def current(cls, event: Event, subcommittee: str | None) -> dict[str, Any]:
        """The fields of the event as it is now: a change is laid over them, and the whole is validated again."""
        return {**{key: getattr(event, key) for key in cls.model_fields if key != "subcommittee"},
                "subcommittee": subcommittee}


EventChange = partial(EventInput, "EventChange", "Only the fields given change; the result must be a valid event.")


class DayStatusInput(BaseModel):
    """開催 / 中止 / 延期 / 内容変更 on the day, with a short message (events.service.set_day_status)."""

    model_config = ConfigDict(extra="forbid")

    status: DayStatus = Field(title="当日の状況", description="held | cancelled | postponed | changed")
    message: OptionalText = Field(None, max_length=500, title="ひとこと",
                                  description="e.g. 雨のため、本日は中止します。 (on cards; sent to who hears)")
    rain: bool = Field(False, title="雨のため", description="with cancelled: 雨天中止")

