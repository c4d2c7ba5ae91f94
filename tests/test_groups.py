"""Groups and rooms, with bodies shaped like LINE's own webhook fixtures: whoever writes there is not a friend of
the bot for that, the bot speaks only when added or mentioned, and never says member-only things there."""

from __future__ import annotations

import secrets
import time
from typing import Any

from sqlalchemy import func, select

from bot import webhook_events as ev
from db.models import Delivery, User
from tests.fakeline.server import FakeLine
from tests.helpers import AUTH, Bot, link_member, new_user_id, texts

GROUP = "C" + "a" * 32
ROOM = "R" + "b" * 32


def _in_chat(event: dict[str, Any], *, group: str | None = GROUP, room: str | None = None) -> dict[str, Any]:
    source: dict[str, Any] = {"type": "group", "groupId": group} if group else {"type": "room", "roomId": room}
    if event["source"].get("userId"):
        source["userId"] = event["source"]["userId"]
    return {**event, "source": source}


def _mention(event: dict[str, Any], *, self_too: bool) -> dict[str, Any]:
    """「@港区ボット 今週のイベントは？」 with the bot (isSelf) and, maybe, someone else mentioned."""
    text = "@港区ボット 今週のイベントは？"
    mentionees: list[dict[str, Any]] = [{"index": 0, "length": 6, "type": "user", "userId": "U" + "c" * 32,
                                         "isSelf": False}]
    if self_too:
        mentionees.append({"index": 0, "length": 6, "type": "user", "isSelf": True})
    event["message"] = {**event["message"], "text": text, "mention": {"mentionees": mentionees}}
    return event


def _join() -> dict[str, Any]:
    return {"type": "join", "mode": "active", "timestamp": int(time.time() * 1000),
            "source": {"type": "group", "groupId": GROUP}, "webhookEventId": ev.new_event_id(),
            "deliveryContext": {"isRedelivery": False}, "replyToken": secrets.token_hex(16)}


def _users(sessions: Any) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(User)) or 0)


def test_people_writing_in_a_group_are_not_stored_or_answered(bot: Bot, line: FakeLine, sessions: Any) -> None:
    for _ in range(3):
        bot.send(_in_chat(ev.text_message(new_user_id(), "今週のイベントは？")))
        bot.send(_in_chat(ev.sticker_message(new_user_id())))
    bot.send(_in_chat(ev.text_message(new_user_id(), "ヘルプ"), group=None, room=ROOM))
    assert _users(sessions) == 0
    assert line.requests == []  # no answer, and no profile asked for


def test_the_bot_says_hello_when_added_and_answers_a_mention_by_name(bot: Bot, line: FakeLine,
                                                                    sessions: Any) -> None:
    bot.send(_join())
    [hello] = line.sent("reply")
    assert "1対1のトーク" in texts(hello.body["messages"])
    speaker = new_user_id()
    bot.send(_mention(_in_chat(ev.text_message(speaker, "")), self_too=False))  # someone else was mentioned
    assert len(line.sent("reply")) == 1
    bot.send(_mention(_in_chat(ev.text_message(speaker, "")), self_too=True))
    answer = line.sent("reply")[-1]
    assert f"メンバー{speaker[-4:]}さん" in texts(answer.body["messages"]) and "友だち追加" in texts(
        answer.body["messages"])
    profiles = [r.path for r in line.requests if r.method == "GET"]
    assert profiles == [f"/v2/bot/group/{GROUP}/member/{speaker}"]  # the group's endpoint, not the friends' one
    assert _users(sessions) == 0  # still not a user of the bot
    with sessions() as session:
        assert {tuple(d.recipients) for d in session.scalars(select(Delivery))} == {(GROUP,)}


def test_group_members_get_no_broadcast_and_a_friend_in_a_group_hears_nothing_member_only(
        bot: Bot, line: FakeLine, sessions: Any) -> None:
    phone, _member_id = link_member(bot, line, "港 七子", "まちづくり部会")
    friend = new_user_id()
    bot.send(ev.follow(friend))
    before = len(line.sent())
    for _ in range(5):
        bot.send(_in_chat(ev.text_message(new_user_id(), "こんにちは")))
    bot.send(_in_chat(ev.text_message(phone.user_id, "アンケート")))  # a linked member, writing in the group
    assert len(line.sent()) == before  # no survey question, no answer at all in the group
    counted = bot.client.post("/api/v1/broadcasts", headers=AUTH, json={
        "title": "お知らせ", "messages": [{"type": "text", "text": "a"}], "audience": {"kind": "residents"},
        "dry_run": True}).json()
    assert counted["recipients"] == 1  # the friend; none of the five who only wrote in the group
    members = bot.client.post("/api/v1/broadcasts", headers=AUTH, json={
        "title": "お知らせ", "messages": [{"type": "text", "text": "a"}], "audience": {"kind": "members"},
        "dry_run": True}).json()
    assert members["recipients"] == 1
