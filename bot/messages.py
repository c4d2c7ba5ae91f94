"""Builders for LINE message objects (plain dicts in the Messaging API's JSON shape)."""

from __future__ import annotations

from typing import Any

from bot import postback

Message = dict[str, Any]
TEXT_LIMIT = 5000  # UTF-16 code units
MAX_MESSAGES_PER_REQUEST = 5
MAX_QUICK_REPLIES = 13
LABEL_LIMIT = 20  # characters of an action label


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def with_quick_replies(message: Message, quick_replies: list[dict[str, Any]]) -> Message:
    """The message with these buttons under it (LINE shows only the last message's)."""
    return {**message, "quickReply": {"items": quick_replies[:MAX_QUICK_REPLIES]}} if quick_replies else message


def text(body: str, quick_replies: list[dict[str, Any]] | None = None) -> Message:
    message: Message = {"type": "text", "text": body}
    if quick_replies:
        message["quickReply"] = {"items": quick_replies[:MAX_QUICK_REPLIES]}
    return message


def _label(label: str) -> str:
    """Within LINE's 20 characters for an action label; an English label is cut at a word ("Wanpaku Kids'", not
    "Wanpaku Kids' Festiv"), a Japanese one where it must (a cut that ends in a space drops it)."""
    if len(label) <= LABEL_LIMIT:
        return label
    cut = label[:LABEL_LIMIT]
    if label.isascii() and label[LABEL_LIMIT] != " " and " " in cut.strip():
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip()


def message_action(label: str, text_to_send: str | None = None) -> dict[str, Any]:
    return {"type": "message", "label": _label(label), "text": text_to_send or label}


def postback_action(label: str, action: str, display_text: str | None = None, **params: str | int) -> dict[str, Any]:
    act: dict[str, Any] = {"type": "postback", "label": _label(label), "data": postback.encode(action, **params)}
    if display_text:
        act["displayText"] = display_text
    return act


def uri_action(label: str, uri: str) -> dict[str, Any]:
    return {"type": "uri", "label": _label(label), "uri": uri}


def quick_reply(action: dict[str, Any]) -> dict[str, Any]:
    return {"type": "action", "action": action}


def split_text(body: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split a long text into parts within LINE's limit, at line breaks where possible; nothing is dropped."""
    if utf16_len(body) <= limit:
        return [body]
    parts: list[str] = []
    current = ""
    for line in body.splitlines(keepends=True):
        while utf16_len(line) > limit:  # one line longer than a whole message: cut it by characters
            head, line = _cut(line, limit - utf16_len(current))
            current += head
            parts.append(current)
            current = ""
        if utf16_len(current) + utf16_len(line) > limit:
            parts.append(current)
            current = ""
        current += line
    if current:
        parts.append(current)
    return parts


def _cut(line: str, room: int) -> tuple[str, str]:
    size = 0
    for i, ch in enumerate(line):
        size += utf16_len(ch)
        if size > room:
            return line[:i], line[i:]
    return line, ""


def normalise(messages: list[Message]) -> list[Message]:
    """Long texts become several messages; a quick reply stays only on the very last message (where LINE shows it),
    a quoteToken on the first."""
    out: list[Message] = []
    for message in messages:
        if message.get("type") == "text" and utf16_len(message["text"]) > TEXT_LIMIT:
            pieces = split_text(message["text"])
            for i, piece in enumerate(pieces):
                out.append({"type": "text", "text": piece})
                if i == 0 and "quoteToken" in message:  # the quote stays with the start of the text
                    out[-1]["quoteToken"] = message["quoteToken"]
            if "quickReply" in message:
                out[-1]["quickReply"] = message["quickReply"]
        else:
            out.append(message)
    return out


def chunk(messages: list[Message]) -> list[list[Message]]:
    """Group messages into requests of at most five, in order."""
    return [messages[i : i + MAX_MESSAGES_PER_REQUEST] for i in range(0, len(messages), MAX_MESSAGES_PER_REQUEST)]
