"""A LINE user's phone in tests: say things, tap quick replies and buttons, read what the bot sent back.

Everything goes through signed webhooks and comes back through the fake LINE server (reply or push)."""

from __future__ import annotations

from typing import Any

from bot import webhook_events as ev
from tests.conftest import Bot
from tests.fakeline.server import FakeLine


class Phone:
    def __init__(self, bot: Bot, line: FakeLine, user_id: str) -> None:
        self.bot, self.line, self.user_id = bot, line, user_id
        self.tokens: set[str] = set()
        self.seen = 0

    def _send(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        if "replyToken" in event:
            self.tokens.add(event["replyToken"])
        self.bot.send(event)
        return self.new()

    def all(self) -> list[dict[str, Any]]:
        """Every message the bot has sent this user, in order."""
        out: list[dict[str, Any]] = []
        for r in self.line.sent():
            if r.path.endswith("/reply") and r.body["replyToken"] in self.tokens:
                out.extend(r.body["messages"])
            elif r.path.endswith("/push") and r.body["to"] == self.user_id:
                out.extend(r.body["messages"])
            elif r.path.endswith("/multicast") and self.user_id in r.body["to"]:
                out.extend(r.body["messages"])
        return out

    def new(self) -> list[dict[str, Any]]:
        messages = self.all()
        fresh, self.seen = messages[self.seen:], len(messages)
        return fresh

    def follow(self) -> list[dict[str, Any]]:
        return self._send(ev.follow(self.user_id))

    def say(self, text: str) -> list[dict[str, Any]]:
        return self._send(ev.text_message(self.user_id, text))

    def sticker(self) -> list[dict[str, Any]]:
        return self._send(ev.sticker_message(self.user_id))

    def postback(self, data: str) -> list[dict[str, Any]]:
        return self._send(ev.postback(self.user_id, data))

    def tap(self, label: str, in_messages: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Tap the button or quick reply with this label in the given (default: the latest) messages."""
        action = find_action(in_messages if in_messages is not None else self.all()[-5:], label)
        if action["type"] == "postback":
            return self.postback(action["data"])
        return self.say(action["text"])


def actions(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("postback", "message", "uri") and "label" in node:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(messages)
    return found


def find_action(messages: list[dict[str, Any]], label: str) -> dict[str, Any]:
    matches = [a for a in actions(messages) if a["label"] == label]
    assert matches, f"no button {label!r} in {[a['label'] for a in actions(messages)]}"
    return matches[-1]


def texts(messages: list[dict[str, Any]]) -> str:
    """All text in the messages, flex cards included, joined by new lines."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "text" and isinstance(node.get("text"), str):
                out.append(node["text"])
            for key, value in node.items():
                if key != "text":
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(messages)
    return "\n".join(out)
