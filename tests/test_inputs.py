"""Property tests where input comes from outside: postback data, long texts, webhook bodies."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot import messages, postback
from bot.signature import sign
from db.models import InboxEvent
from tests.helpers import SECRET


@given(st.text(max_size=400))
def test_postback_decode_accepts_only_what_encode_makes(data: str) -> None:
    try:
        decoded = postback.decode(data)
    except postback.InvalidPostback:
        return
    assert postback.decode(postback.encode(decoded.action, **decoded.params)) == decoded


@given(st.from_regex(r"[a-z][a-z0-9_.]{0,20}", fullmatch=True),
       st.dictionaries(st.from_regex(r"[b-z][a-z0-9_]{0,8}", fullmatch=True), st.text(max_size=20), max_size=4))
def test_postback_round_trip(action: str, params: dict[str, str]) -> None:
    try:
        data = postback.encode(action, **params)
    except ValueError:
        return  # too long for LINE: refused when built, never sent
    assert len(data) <= 300
    assert postback.decode(data) == postback.Postback(action, params)


def test_postback_rejects_foreign_and_old_data() -> None:
    for data in ("", "hello", "v=0&a=x", "a=x", "v=1&a=Bad", "v=1&a=x&a=y", "v=1&a=x&K=1", "x" * 301, None, 12):
        try:
            postback.decode(data)
        except postback.InvalidPostback:
            continue
        raise AssertionError(f"accepted {data!r}")


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=12000))
@settings(max_examples=60)
def test_split_text_keeps_every_character_within_the_limit(body: str) -> None:
    parts = messages.split_text(body, limit=1000)
    assert "".join(parts) == body
    assert all(messages.utf16_len(p) <= 1000 for p in parts)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@given(body=st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(["events", "destination"]), json_values).map(lambda v: json.dumps(v).encode()),
    st.lists(st.dictionaries(st.sampled_from(["type", "webhookEventId", "timestamp", "source", "mode"]), json_values),
             max_size=3).map(lambda evs: json.dumps({"events": evs}).encode()),
), signed=st.booleans())
@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
def test_webhook_fuzz_never_500_and_never_stores_unsigned(client: Any, sessions: Any, body: bytes,
                                                         signed: bool) -> None:
    with sessions() as session:
        before = session.scalar(select(func.count()).select_from(InboxEvent))
    headers = {"x-line-signature": sign(SECRET, body) if signed else sign("wrong", body)}
    response = client.post("/callback", content=body, headers=headers)
    assert response.status_code in (200, 400), response.text
    if not signed:
        assert response.status_code == 400
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(InboxEvent)) == before


def test_webhook_refuses_an_event_id_too_long_to_store_exactly(client: Any) -> None:
    body = {"events": [{"type": "message", "webhookEventId": "E" * 65, "timestamp": 1}]}
    raw = json.dumps(body).encode()
    assert client.post("/callback", content=raw, headers={"x-line-signature": sign(SECRET, raw)}).status_code == 400


def test_webhook_stores_group_events_without_answering(client: Any, sessions: Any) -> None:
    body: dict[str, Any] = {"destination": "U" + "0" * 32, "events": [
        {"type": "message", "webhookEventId": "E" * 26, "timestamp": 1, "mode": "active",
         "source": {"type": "group", "groupId": "C" + "1" * 32}, "message": {"type": "text", "text": "x"}},
    ]}
    raw = json.dumps(body).encode()
    assert client.post("/callback", content=raw, headers={"x-line-signature": sign(SECRET, raw)}).status_code == 200
