"""The one encoder/decoder for postback data. The data comes back from the user's phone: never trust it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

VERSION = "1"
MAX_LENGTH = 300  # LINE's limit on postback data
_ACTION = re.compile(r"^[a-z][a-z0-9_.]{0,40}$")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,15}$")


class InvalidPostback(ValueError):
    pass


@dataclass(frozen=True)
class Postback:
    action: str
    params: dict[str, str] = field(default_factory=dict)

    def int(self, key: str) -> int:
        """A parameter as a non-negative integer, or InvalidPostback."""
        value = self.params.get(key, "")
        if not value.isdigit() or len(value) > 12:
            raise InvalidPostback(f"parameter {key!r} is not a number")
        return int(value)


def encode(action: str, **params: str | int) -> str:
    if not _ACTION.match(action):
        raise ValueError(f"bad postback action {action!r}")
    for key in params:
        if not _KEY.match(key) or key in ("v", "a"):
            raise ValueError(f"bad postback parameter name {key!r}")
    data = urlencode({"v": VERSION, "a": action, **{k: str(v) for k, v in params.items()}})
    if len(data) > MAX_LENGTH:
        raise ValueError(f"postback data is {len(data)} characters, LINE allows {MAX_LENGTH}")
    return data


def decode(data: object) -> Postback:
    """Parse postback data; anything not made by encode() raises InvalidPostback."""
    if not isinstance(data, str) or not data or len(data) > MAX_LENGTH:
        raise InvalidPostback("missing or too long")
    try:
        pairs = parse_qsl(data, keep_blank_values=True, strict_parsing=True)
    except ValueError as exc:
        raise InvalidPostback("not in key=value form") from exc
    params = dict(pairs)
    if len(params) != len(pairs):
        raise InvalidPostback("repeated parameter")
    if params.pop("v", None) != VERSION:
        raise InvalidPostback("unknown version")
    action = params.pop("a", "")
    if not _ACTION.match(action):
        raise InvalidPostback("bad action")
    if not all(_KEY.match(k) for k in params):
        raise InvalidPostback("bad parameter name")
    return Postback(action, params)
