"""The one gateway to LINE: reply or push, batches, long texts, retry keys, back-off, 409, 429 and other 4xx."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from bot import gateway as gateway_module
from bot import webhook_events as ev
from bot.gateway import MONTHLY_LIMIT_FLAG
from db.base import transaction
from db.models import Delivery, SystemFlag, User
from handlers.router import Context, Router
from tests.helpers import Bot, new_user_id, put_first, wait_for


def follower(bot: Bot, line: Any) -> tuple[str, int]:
    user_id = new_user_id()
    bot.send(ev.follow(user_id))
    line.reset()
    with bot.sessions() as session:
        return user_id, session.scalars(select(User.id).where(User.line_user_id == user_id)).one()


def push(bot: Bot, user_pk: int, *messages: dict[str, Any]) -> None:
    runtime = bot.client.app.state.runtime
    with transaction(bot.sessions) as session:
        runtime.gateway.outbox.push(session, user=session.get(User, user_pk), messages=list(messages))
    runtime.gateway.wake()


def deliveries(bot: Bot) -> list[Delivery]:
    with bot.sessions() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def answer_router(*messages: dict[str, Any]) -> Router:
    router = Router("test")

    @router.message(lambda ctx: ctx.text == "たくさん")
    def many(ctx: Context) -> None:
        ctx.reply(*messages)

    return router


def test_a_long_text_is_split_never_truncated(bot: Bot, line: Any) -> None:
    body = "\n".join(f"{i:05d} 区政会議のおしらせ。" + "あ" * 80 for i in range(150))  # about 14,000 characters
    put_first(bot.client, answer_router({"type": "text", "text": body}))
    bot.send(ev.text_message(new_user_id(), "たくさん"))
    texts = [m["text"] for r in line.sent() for m in r.body["messages"]]
    assert len(texts) == 3 and all(len(t) <= 5000 for t in texts)
    assert "".join(texts) == body


def test_more_than_five_messages_go_as_one_reply_then_pushes_in_order(bot: Bot, line: Any) -> None:
    messages = [{"type": "text", "text": f"{i}"} for i in range(12)]
    put_first(bot.client, answer_router(*messages))
    bot.send(ev.text_message(new_user_id(), "たくさん"))
    sent = line.sent()
    assert [r.path.rsplit("/", 1)[-1] for r in sent] == ["reply", "push", "push"]
    assert [m["text"] for r in sent for m in r.body["messages"]] == [str(i) for i in range(12)]


def test_push_retries_5xx_with_the_same_retry_key(bot: Bot, line: Any) -> None:
    _user_id, pk = follower(bot, line)
    line.fail("/message/push", status=500, times=2)
    push(bot, pk, {"type": "text", "text": "お知らせ"})
    bot.wait_idle()
    attempts = [r for r in line.requests if r.path.endswith("/push")]
    assert [r.status for r in attempts] == [500, 500, 200]
    (row,) = deliveries(bot)[-1:]
    assert {r.retry_key for r in attempts} == {row.retry_key}
    assert row.status == "sent" and row.attempts == 3 and row.line_request_id


def test_a_hanging_request_times_out_and_is_retried(bot: Bot, line: Any, app_factory: Any) -> None:
    user_id, pk = follower(bot, line)
    line.fail("/message/push", status=504, hang=3.0)  # longer than the 2 s time-out of the test settings
    push(bot, pk, {"type": "text", "text": "お知らせ"})
    bot.wait_idle()
    row = deliveries(bot)[-1]
    assert row.status == "sent" and row.attempts == 2
    assert len(line.messages_to(user_id)) == 1


def test_an_accepted_request_whose_answer_was_lost_counts_as_delivered_once(bot: Bot, line: Any) -> None:
    user_id, pk = follower(bot, line)
    line.fail("/message/push", status=500, accept_first=True)  # LINE took it, then the answer failed
    push(bot, pk, {"type": "text", "text": "一度だけ"})
    bot.wait_idle()
    statuses = [r.status for r in line.requests if r.path.endswith("/push")]
    assert statuses == [200, 409]  # the fake records the accepted request, then the repeat with the same key
    row = deliveries(bot)[-1]
    assert row.status == "sent" and row.http_status == 409 and row.line_request_id
    assert len(line.messages_to(user_id)) == 1


def test_rate_limited_429_backs_off_and_retries(bot: Bot, line: Any) -> None:
    _user_id, pk = follower(bot, line)
    line.fail("/message/push", status=429, body={"message": "Too Many Requests"})
    push(bot, pk, {"type": "text", "text": "お知らせ"})
    bot.wait_idle()
    assert [r.status for r in line.requests if r.path.endswith("/push")] == [429, 200]
    assert deliveries(bot)[-1].status == "sent"


def test_monthly_limit_stops_pushes_and_is_recorded_but_replies_go_on(bot: Bot, line: Any) -> None:
    user_id, pk = follower(bot, line)
    line.monthly_limit = True
    push(bot, pk, {"type": "text", "text": "一通目"})

    def flag_set() -> bool:
        with bot.sessions() as session:
            return session.get(SystemFlag, MONTHLY_LIMIT_FLAG) is not None

    wait_for(flag_set, what="monthly limit flag")
    push(bot, pk, {"type": "text", "text": "二通目"})
    bot.send(ev.text_message(user_id, "ヘルプ"))  # replies are free and still answered
    bot.wait_idle()
    pushes = [r for r in line.requests if r.path.endswith("/push")]
    assert len(pushes) == 1 and pushes[0].status == 429  # one attempt, then no more pushes at all
    assert len(line.sent("reply")) == 1
    with bot.sessions() as session:
        flag = session.get(SystemFlag, MONTHLY_LIMIT_FLAG)
        assert flag is not None and "monthly limit" in flag.value["error"]
        held = session.scalars(select(Delivery).where(Delivery.kind == "push")).all()
        assert [d.status for d in held] == ["held", "held"]  # kept, not lost: sent when the month turns


def test_held_pushes_wait_for_the_month_to_turn_and_then_go(bot: Bot, line: Any) -> None:
    """A push held by the monthly limit is not tried again while the limit holds (whatever the timing of the claim
    that may read the limit's flag just before it is written), and goes once the month has turned."""
    _user_id, pk = follower(bot, line)
    line.monthly_limit = True
    push(bot, pk, {"type": "text", "text": "一通目"})
    def pushed() -> list[str]:
        return [d.status for d in deliveries(bot) if d.kind == "push"]

    wait_for(lambda: pushed() == ["held"], what="the push held")
    push(bot, pk, {"type": "text", "text": "二通目"})
    runtime = bot.client.app.state.runtime
    for _ in range(5):  # claims again and again: nothing held is taken
        runtime.gateway.wake()
        bot.wait_idle()
    assert len([r for r in line.requests if r.path.endswith("/push")]) == 1
    # a claim that read no flag (it was written just after): the statement itself still holds the pushes back
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gateway_module, "monthly_limit_until", lambda _session: None)
        assert [row for row in runtime.gateway._claim(50) if row.kind == "push"] == []
    line.monthly_limit = False
    with bot.sessions() as session:
        until = dt.datetime.fromisoformat(session.get(SystemFlag, MONTHLY_LIMIT_FLAG).value["until"])
    with time_machine.travel(until + dt.timedelta(minutes=1), tick=True):
        runtime.gateway.wake()
        wait_for(lambda: pushed() == ["sent", "sent"], what="the held pushes sent")
    assert [r.body["messages"][0]["text"] for r in line.requests if r.path.endswith("/push") and r.status == 200] \
        == ["一通目", "二通目"]


def test_other_4xx_fails_with_lines_error_text_and_is_not_retried(bot: Bot, line: Any) -> None:
    _user_id, pk = follower(bot, line)
    line.fail("/message/push", status=400, body={"message": "The property, 'to', in the request body is invalid",
                                                  "details": [{"property": "to", "message": "invalid"}]})
    push(bot, pk, {"type": "text", "text": "x"})
    bot.wait_idle()
    row = deliveries(bot)[-1]
    assert row.status == "failed" and row.attempts == 1
    assert "'to', in the request body is invalid" in (row.last_error or "") and "to: invalid" in row.last_error
    assert len([r for r in line.requests if r.path.endswith("/push")]) == 1


def test_a_used_or_invalid_reply_token_falls_back_to_push(bot: Bot, line: Any) -> None:
    user_id = new_user_id()
    event = ev.text_message(user_id, "ヘルプ")
    line.used_reply_tokens.add(event["replyToken"])
    bot.send(event)
    assert line.sent("reply") == []
    assert len(line.messages_to(user_id)) == 1
    assert deliveries(bot)[-1].sent_via == "push"


def test_a_stale_reply_token_is_not_tried(bot: Bot, line: Any) -> None:
    user_id = new_user_id()
    old = ev.text_message(user_id, "ヘルプ", timestamp=int((dt.datetime.now(dt.UTC).timestamp() - 600) * 1000))
    bot.send(old)
    assert [r.path for r in line.requests if "/message/" in r.path] == ["/v2/bot/message/push"]


def test_multicast_goes_in_batches_of_500_each_recipient_once(bot: Bot, line: Any) -> None:
    runtime = bot.client.app.state.runtime
    ids = [new_user_id() for _ in range(1234)]
    with transaction(bot.sessions) as session:
        rows = runtime.gateway.outbox.multicast(session, line_user_ids=ids + ids[:10],
                                                messages=[{"type": "text", "text": "お知らせ"}])
        assert len(rows) == 3
    runtime.gateway.wake()
    bot.wait_idle()
    batches = line.sent("multicast")
    assert sorted(len(r.body["to"]) for r in batches) == [234, 500, 500]
    reached = [u for r in batches for u in r.body["to"]]
    assert sorted(reached) == sorted(ids)
    assert len({r.retry_key for r in batches}) == 3


def test_every_delivery_is_a_row_with_its_outcome(bot: Bot, line: Any) -> None:
    bot.send(ev.text_message(new_user_id(), "ヘルプ"))
    (row,) = deliveries(bot)
    assert row.kind == "reply" and row.status == "sent" and row.attempts == 1 and row.line_request_id
    assert row.messages[0]["text"].startswith("このアカウントでできること")


def test_broadcast_goes_to_lines_broadcast_endpoint_with_a_retry_key(bot: Bot, line: Any) -> None:
    runtime = bot.client.app.state.runtime
    line.fail("/message/broadcast", status=500)
    with transaction(bot.sessions) as session:
        runtime.gateway.outbox.broadcast(session, messages=[{"type": "text", "text": "防災のお知らせ"}])
    runtime.gateway.wake()
    bot.wait_idle()
    attempts = [r for r in line.requests if r.path.endswith("/broadcast")]
    assert [r.status for r in attempts] == [500, 200] and len({r.retry_key for r in attempts}) == 1
    assert attempts[-1].body["messages"] == [{"type": "text", "text": "防災のお知らせ"}]
