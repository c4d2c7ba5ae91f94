"""The two menus as data: buttons on a 3 x 2 grid of a 2500 x 1686 image, and what each tap does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.texts import t

WIDTH, HEIGHT = 2500, 1686
COLUMNS, ROWS = 3, 2
WARD_SITE = "https://www.city.osaka.lg.jp/minato/"


@dataclass(frozen=True)
class Button:
    label: str
    sub: str  # a second, smaller line under the label
    action: dict[str, Any]
    column: int
    row: int
    span: int = 1  # columns it covers
    color: str = "#06c755"

    def bounds(self) -> dict[str, int]:
        cell_w, cell_h = WIDTH // COLUMNS, HEIGHT // ROWS
        x, y = self.column * cell_w, self.row * cell_h
        width = WIDTH - x if self.column + self.span == COLUMNS else cell_w * self.span
        height = HEIGHT - y if self.row == ROWS - 1 else cell_h
        return {"x": x, "y": y, "width": width, "height": height}


def _say(text: str) -> dict[str, Any]:
    return {"type": "message", "label": text[:20], "text": text}


MENUS: dict[str, list[Button]] = {
    "resident": [
        Button(t("qr.events"), "区のイベントをさがす", _say(t("qr.events")), 0, 0),
        Button(t("qr.settings"), "お知らせの受け取り", _say(t("qr.settings")), 1, 0, color="#1e88e5"),
        Button(t("qr.opinion"), "区へのご意見", _say(t("qr.opinion")), 2, 0, color="#f4511e"),
        Button(t("menu.info"), "港区のホームページ", {"type": "uri", "label": t("menu.info"), "uri": WARD_SITE},
               0, 1, 2, color="#5e35b1"),
        Button(t("qr.help"), "使い方 / English", _say(t("qr.help")), 2, 1, color="#546e7a"),
    ],
    "member": [
        Button(t("qr.survey"), "区政会議のアンケート", _say(t("qr.survey")), 0, 0, color="#f4511e"),
        Button(t("meeting.menu"), "会議の日程と事前資料", _say(t("meeting.menu")), 1, 0, color="#1e88e5"),
        Button(t("opinion.pre_meeting.menu"), "会議への意見", _say(t("opinion.pre_meeting.menu")), 2, 0,
               color="#5e35b1"),
        Button(t("qr.events"), "区のイベントをさがす", _say(t("qr.events")), 0, 1, 2),
        Button(t("qr.help"), "使い方", _say(t("qr.help")), 2, 1, color="#546e7a"),
    ],
}
CHAT_BAR = {"resident": "メニュー", "member": "委員メニュー"}


def request_body(kind: str, name: str) -> dict[str, Any]:
    """The rich menu object LINE expects (messaging-api.yml RichMenuRequest)."""
    return {
        "size": {"width": WIDTH, "height": HEIGHT},
        "selected": True,
        "name": name,
        "chatBarText": CHAT_BAR[kind],
        "areas": [{"bounds": b.bounds(), "action": b.action} for b in MENUS[kind]],
    }
