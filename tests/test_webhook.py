"""POST /callback: signatures, bad bodies, storing, exactly-once processing, order, failures and restarts."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import clock
from bot import webhook_events as ev
from bot.inbox import Claim
from db.base import transaction
from db.models import Delivery, InboxEvent, User
from handlers.router import Context, Router
from tests.helpers import SECRET, Bot, new_user_id, put_first, wait_for


def count(sessions: Any, model: Any, *where: Any) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_missing_or_wrong_signature_is_refused_and_nothing_stored(bot: Bot, sessions: Any) -> None:
    raw, headers = ev.signed(SECRET, ev.text_message(new_user_id(), "こんにちは"))
    assert bot.client.post("/callback", content=raw, headers={"content-type": "application/json"}).status_code == 400
    wrong = {**headers, "x-line-signature": ev.signed("another-secret", ev.text_message(new_user_id(), "x"))[1][
        "x-line-signature"]}
    assert bot.client.post("/callback", content=raw, headers=wrong).status_code == 400
    tampered = raw.replace("こんにちは".encode(), "さようなら".encode())
    assert bot.client.post("/callback", content=tampered, headers=headers).status_code == 400
    assert count(sessions, InboxEvent) == 0


def test_oversized_body_gets_413(bot: Bot, sessions: Any) -> None:
    event = ev.text_message(new_user_id(), "あ" * 400_000)  # about 1.2 MB of UTF-8
    raw, headers = ev.signed(SECRET, event)
    assert len(raw) > 1024 * 1024
    assert bot.client.post("/callback", content=raw, headers=headers).status_code == 413
    assert count(sessions, InboxEvent) == 0


def test_malformed_json_gets_400(bot: Bot) -> None:
    from bot.signature import sign

    for raw in (b"{not json", b"[]", b'{"events": {}}', b'{"events": [1]}', b'{"events": [{"type": "message"}]}',
                "{\"events\": [\"\xff\"]}".encode("latin-1")):
        response = bot.client.post("/callback", content=raw, headers={"x-line-signature": sign(SECRET, raw)})
        assert response.status_code == 400, raw
        assert response.json()["message"]


def test_connection_check_with_no_events_gets_200(bot: Bot, line: Any) -> None:
    response = bot.post()
    assert response.status_code == 200
    assert line.requests == []


def test_follow_is_stored_processed_and_greeted_by_reply(bot: Bot, line: Any, sessions: Any) -> None:
    user_id = new_user_id()
    line.profiles[user_id] = {"displayName": "港 太郎", "language": "ja"}
    bot.send(ev.follow(user_id))
    with sessions() as session:
        user = session.scalars(select(User).where(User.line_user_id == user_id)).one()
        assert user.display_name == "港 太郎" and user.is_reachable and user.language == "ja"
        stored = session.scalars(select(InboxEvent)).one()
        assert stored.status == "done" and stored.payload["type"] == "follow"
        delivery = session.scalars(select(Delivery)).one()
        assert delivery.status == "sent" and delivery.sent_via == "reply" and delivery.line_request_id
    replies = line.sent("reply")
    assert len(replies) == 1
    message = replies[0].body["messages"][0]
    assert message["text"].startswith("港 太郎さん、友だち追加ありがとうございます")
    labels = [item["action"]["label"] for item in message["quickReply"]["items"]]
    assert labels == ["イベント", "ご意見", "通知設定", "ヘルプ"]  # a resident: no アンケート (it is for members)


def test_english_profile_gets_english_greeting(bot: Bot, line: Any) -> None:
    user_id = new_user_id()
    line.profiles[user_id] = {"displayName": "Emma", "language": "en"}
    bot.send(ev.follow(user_id))
    assert line.sent("reply")[0].body["messages"][0]["text"].startswith("Emma, thank you for adding us")


def test_same_event_twice_or_redelivered_is_processed_once(bot: Bot, line: Any, sessions: Any) -> None:
    event = ev.text_message(new_user_id(), "ヘルプ")
    bot.send(event)
    redelivered = {**event, "deliveryContext": {"isRedelivery": True}}
    bot.send(redelivered)
    bot.send(event)
    assert count(sessions, InboxEvent) == 1
    assert len(line.sent("reply")) == 1


def test_concurrent_copies_of_one_event_are_processed_once(bot: Bot, line: Any, sessions: Any) -> None:
    event = ev.text_message(new_user_id(), "ヘルプ")
    raw, headers = ev.signed(SECRET, event)
    results: list[int] = []
    barrier = threading.Barrier(6)

    def post() -> None:
        barrier.wait()
        results.append(bot.client.post("/callback", content=raw, headers=headers).status_code)

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 6
    bot.wait_idle()
    assert count(sessions, InboxEvent) == 1
    assert len(line.sent("reply")) == 1


def test_events_of_one_user_are_processed_in_timestamp_order(bot: Bot, line: Any, sessions: Any) -> None:
    user_id = new_user_id()
    base = 1_800_000_000_000
    later = ev.sticker_message(user_id, timestamp=base + 2000)
    earlier = ev.text_message(user_id, "ヘルプ", timestamp=base + 1000)
    bot.send(later, earlier)  # LINE may put them in any order
    with sessions() as session:
        processed = session.scalars(select(InboxEvent).order_by(InboxEvent.processed_at)).all()
        assert [e.line_timestamp for e in processed] == [base + 1000, base + 2000]


def test_a_batch_is_handled_in_lanes_on_postgresql_and_each_users_events_stay_in_order(bot: Bot, line: Any,
                                                                                       sessions: Any) -> None:
    """On PostgreSQL a batch is dealt out to several threads (one waited for the database most of the time); a
    batch holds one event per user at most, so every user's events are still handled one at a time, in order, and
    once each. On SQLite (one writer) there is one lane."""
    seen: list[tuple[str, int]] = []  # (user, LINE timestamp), in the order handled
    running, most = [0], [0]  # events being handled at this moment, and the most at once
    busy: set[str] = set()  # users with an event being handled now
    overlapped: list[str] = []  # users with two events handled at once (never)
    lock = threading.Lock()
    router = Router("lanes")

    @router.message(lambda ctx: ctx.text.startswith("順番"))
    def record(ctx: Context) -> None:
        who = ctx.user.line_user_id
        with lock:
            seen.append((who, ctx.event["timestamp"]))
            if who in busy:
                overlapped.append(who)
            busy.add(who)
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02)  # long enough for the other lanes to be seen at work
        with lock:
            running[0] -= 1
            busy.discard(who)
        ctx.reply({"type": "text", "text": ctx.text})

    put_first(bot.client, router)
    processor = bot.client.app.state.runtime.processor
    users = [new_user_id() for _ in range(16)]
    base = 1_800_000_000_000
    events = [ev.text_message(user, f"順番{n}", timestamp=base + n * 1000 + i) for n in range(3)
              for i, user in enumerate(users)]
    bot.send(*reversed(events))  # LINE may put them in any order
    assert len(seen) == len(events)
    for user in users:
        assert [stamp for who, stamp in seen if who == user] == sorted(e["timestamp"] for e in events
                                                                           if e["source"]["userId"] == user)
    if sessions.kw["bind"].dialect.name == "postgresql":
        assert processor.lanes == 4 and 1 < most[0] <= 4
    else:
        assert processor.lanes == 1 and most[0] == 1
    assert overlapped == []
    answered = Counter(r.body["replyToken"] for r in line.sent("reply"))
    assert sorted(answered) == sorted(e["replyToken"] for e in events) and set(answered.values()) == {1}
    with sessions() as session:  # each user's replies were written (and so leave) in the order of their events
        rows = session.execute(select(Delivery.order_key, Delivery.messages).order_by(Delivery.id)).all()
    for user in users:
        assert [m[0]["text"] for key, m in rows if key == f"u:{user}"] == ["順番0", "順番1", "順番2"]


def test_the_events_of_one_group_stay_in_one_lane_and_their_replies_in_order(bot: Bot, line: Any,
                                                                              sessions: Any) -> None:
    """Several people writing in one group share one order of replies: their events go to one lane, handled and
    answered in the order they were written, while other users' events are handled beside them."""
    group = "C" + "d" * 32
    router = Router("group order")

    @router.message(lambda ctx: ctx.text.startswith("グループ順"))
    def record(ctx: Context) -> None:
        time.sleep(0.02)  # long enough for the lanes to overlap
        ctx.reply({"type": "text", "text": ctx.text})

    put_first(bot.client, router)
    base = 1_800_000_000_000
    in_group = []
    for n in range(6):
        event = ev.text_message(new_user_id(), f"グループ順{n}", timestamp=base + n)
        in_group.append({**event, "source": {"type": "group", "groupId": group, "userId": event["source"]["userId"]}})
    others = [ev.text_message(new_user_id(), f"グループ順{n}", timestamp=base + n) for n in range(6)]
    bot.send(*reversed(in_group), *others)
    with sessions() as session:
        rows = session.execute(select(Delivery.messages).where(Delivery.order_key == f"c:{group}")
                               .order_by(Delivery.id)).scalars().all()
    assert [m[0]["text"] for m in rows] == [f"グループ順{n}" for n in range(6)]
    assert len(line.sent("reply")) == 12


def test_a_batch_is_over_only_when_every_lane_is_even_when_one_failed(bot: Bot) -> None:
    """A lane that fails is reported once the others have finished: the next batch is not claimed while a lane
    still handles this one."""
    processor = bot.client.app.state.runtime.processor
    finished: list[list[str]] = []

    def handle_all(share: list[Claim], _profiles: Any, _answered: Any) -> None:
        if [c.key for c in share] == ["Ua"]:
            raise RuntimeError("lane a failed")
        time.sleep(0.2)
        finished.append([c.key for c in share])

    claims = [Claim(n, key, ev.text_message(key, "ヘルプ"), False, 1, clock.now())
              for n, key in enumerate(["Ua", "Ub"])]

    async def run() -> list[list[str]]:
        with pytest.raises(RuntimeError, match="lane a failed"):
            await processor._handle_in_lanes(claims, {}, lambda _replies, _waiting: None)
        return list(finished)  # what had finished when the failure was told

    processor.lanes = 2
    processor._handle_all = handle_all  # type: ignore[method-assign]
    assert asyncio.run(run()) == [["Ub"]]


def test_several_users_in_one_body_are_all_handled(bot: Bot, line: Any) -> None:
    users = [new_user_id() for _ in range(5)]
    bot.send(*(ev.text_message(u, "ヘルプ") for u in users))
    assert len(line.sent("reply")) == 5


def test_standby_and_unknown_events_are_stored_and_not_answered(bot: Bot, line: Any, sessions: Any) -> None:
    standby = ev.text_message(new_user_id(), "ヘルプ", mode="standby")
    unknown = {**ev.unfollow(new_user_id()), "type": "videoPlayComplete", "videoPlayComplete": {"trackingId": "t"},
               "replyToken": "abc"}
    bot.send(standby, unknown)
    with sessions() as session:
        statuses = {e.event_type: e.status for e in session.scalars(select(InboxEvent))}
    assert statuses == {"message": "ignored", "videoPlayComplete": "ignored"}
    assert line.requests == []


def _failing_router(fail_times: int) -> tuple[Router, list[int]]:
    calls: list[int] = []
    router = Router("flaky")

    @router.message(lambda ctx: ctx.text == "こわれる")
    def flaky(ctx: Context) -> None:
        calls.append(1)
        ctx.reply({"type": "text", "text": "うけとりました"})
        if len(calls) <= fail_times:
            raise RuntimeError("database went away")

    return router, calls


def test_a_failure_during_processing_is_retried_and_its_answer_sent_once(bot: Bot, line: Any, sessions: Any) -> None:
    router, calls = _failing_router(fail_times=2)
    put_first(bot.client, router)
    user_id = new_user_id()
    bot.send(ev.text_message(user_id, "こわれる"))
    wait_for(lambda: count(sessions, InboxEvent, InboxEvent.status == "done") == 1)
    bot.wait_idle()
    assert len(calls) == 3
    texts = [m["text"] for r in line.sent() for m in r.body["messages"]]
    assert texts == ["うけとりました"]  # the failed attempts' answers were rolled back with them


def test_an_event_that_keeps_failing_is_kept_as_failed_and_does_not_block_the_user(bot: Bot, line: Any,
                                                                                  sessions: Any) -> None:
    router, calls = _failing_router(fail_times=100)
    put_first(bot.client, router)
    user_id = new_user_id()
    bot.post(ev.text_message(user_id, "こわれる", timestamp=1_800_000_000_000),
             ev.text_message(user_id, "ヘルプ", timestamp=1_800_000_001_000))
    wait_for(lambda: count(sessions, InboxEvent, InboxEvent.status == "failed") == 1)
    bot.wait_idle()
    with sessions() as session:
        failed = session.scalars(select(InboxEvent).where(InboxEvent.status == "failed")).one()
        assert failed.attempts == 5 and "database went away" in (failed.last_error or "")
    assert len(calls) == 5
    assert "このアカウントでできること" in line.sent()[0].body["messages"][0]["text"]


def test_unprocessed_events_are_processed_after_a_restart(app_factory: Any, sessions: Any, line: Any) -> None:
    stopped = app_factory(start_background_workers=False)
    user_id = new_user_id()
    response = Bot(stopped, sessions).post(ev.text_message(user_id, "ヘルプ"), ev.sticker_message(user_id))
    assert response.status_code == 200
    assert count(sessions, InboxEvent, InboxEvent.status == "pending") == 2
    stopped.__exit__(None, None, None)  # the process stops with the work undone

    restarted = Bot(app_factory(), sessions)
    restarted.wait_idle()
    assert count(sessions, InboxEvent, InboxEvent.status == "done") == 2
    assert len(line.sent()) == 2


def test_an_event_left_processing_by_a_dead_worker_is_taken_up_again(app_factory: Any, sessions: Any,
                                                                     line: Any) -> None:
    import datetime as dt

    stopped = app_factory(start_background_workers=False)
    Bot(stopped, sessions).post(ev.text_message(new_user_id(), "ヘルプ"))
    stopped.__exit__(None, None, None)
    with transaction(sessions) as session:
        row = session.scalars(select(InboxEvent)).one()
        row.status, row.attempts = "processing", 1
        row.lease_until = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)  # the worker that claimed it died
    Bot(app_factory(), sessions).wait_idle()
    assert count(sessions, InboxEvent, InboxEvent.status == "done") == 1
    assert len(line.sent()) == 1


def test_unfollowed_users_never_get_pushes_and_come_back_with_unblock(bot: Bot, line: Any, sessions: Any) -> None:
    user_id = new_user_id()
    bot.send(ev.follow(user_id))
    bot.send(ev.unfollow(user_id))
    runtime = bot.client.app.state.runtime
    with transaction(sessions) as session:
        user = session.scalars(select(User).where(User.line_user_id == user_id)).one()
        assert not user.is_reachable
        assert runtime.gateway.outbox.push(session, user=user, messages=[{"type": "text", "text": "x"}]) == []
        # a push queued just before the unfollow is skipped when its turn comes
        user.is_reachable = True
        runtime.gateway.outbox.push(session, user=user, messages=[{"type": "text", "text": "old"}])
        user.is_reachable = False
    runtime.gateway.wake()
    bot.wait_idle()
    assert line.sent("push") == []
    assert count(sessions, Delivery, Delivery.status == "skipped") == 1

    bot.send(ev.follow(user_id, unblocked=True))
    with sessions() as session:
        assert session.scalars(select(User).where(User.line_user_id == user_id)).one().is_reachable
    assert "おかえりなさい" in line.sent("reply")[-1].body["messages"][0]["text"]


def test_webhook_body_fields_beyond_ours_are_kept_verbatim(bot: Bot, sessions: Any) -> None:
    event = ev.text_message(new_user_id(), "ヘルプ")
    event["message"]["emojis"] = [{"index": 0, "length": 6, "productId": "p", "emojiId": "001"}]
    bot.send(event)
    with sessions() as session:
        assert json.dumps(session.scalars(select(InboxEvent)).one().payload, sort_keys=True) == json.dumps(
            event, sort_keys=True)


def test_only_post_is_allowed_and_answers_carry_the_security_headers(bot: Bot) -> None:
    response = bot.client.get("/callback")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    ok = bot.post()
    assert ok.status_code == 200 and ok.json() == {}
    for answer in (response, ok):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["content-type"] == "application/json"


def test_a_client_gone_before_its_body_arrived_stores_nothing(bot: Bot, sessions: Any) -> None:
    import asyncio

    raw, headers = ev.signed(SECRET, ev.text_message(new_user_id(), "ヘルプ"))
    sent: list[dict[str, Any]] = []
    messages = iter([{"type": "http.request", "body": raw[:10], "more_body": True}, {"type": "http.disconnect"}])

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/callback", "root_path": "", "query_string": b"",
             "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}
    asyncio.run(bot.client.app(scope, receive, send))
    assert sent == []
    assert count(sessions, InboxEvent) == 0


def test_one_write_for_many_requests_tells_each_how_many_of_its_events_were_new(sessions: Any) -> None:
    """Requests stored in one statement: a copy of an event in two requests of a batch counts for the first."""
    from bot.inbox import InboxWriter

    user = new_user_id()
    a, b, c = (ev.text_message(user, text) for text in ("一", "二", "三"))
    writer = InboxWriter(sessions)
    assert writer._write_batch([([a, b], None), ([b, c], None), ([a], None)]) == [2, 1, 0]  # type: ignore[list-item]
    assert writer._write_batch([([c], None), ([ev.text_message(user, "四")], None)]) == [0, 1]  # type: ignore[list-item]
    assert count(sessions, InboxEvent) == 4


def test_traffic_lets_handling_wait_for_requests_in_flight_but_never_for_long() -> None:
    import time

    from bot.inbox import Traffic

    traffic = Traffic()
    started = time.monotonic()
    traffic.give_way(5.0)  # nothing in flight: no wait at all
    assert time.monotonic() - started < 1.0
    traffic.enter()
    traffic.enter()
    started = time.monotonic()
    traffic.give_way(0.05)  # still in flight after the longest wait: handling goes on
    assert time.monotonic() - started >= 0.05
    traffic.leave()
    waiter = threading.Thread(target=traffic.give_way, args=(30.0,))
    waiter.start()
    traffic.leave()  # the last request answered: the waiting handler goes on at once
    waiter.join(5.0)
    assert not waiter.is_alive()


class RecordingTraffic:
    """Stands in for the webhook's traffic: records how long handling offers to wait; `in_flight` requests."""

    def __init__(self, in_flight: int = 1) -> None:
        self.in_flight = in_flight
        self.asked: list[float] = []

    def give_way(self, longest: float) -> None:
        self.asked.append(longest)


def test_handling_gives_way_to_the_webhook_in_proportion_to_its_own_work(bot: Bot, line: Any) -> None:
    """Before each transaction of events the processor waits for webhook requests in flight, at most
    inbox_yield_factor (2) times as long as its previous event took, while the events are fresh."""
    processor = bot.client.app.state.runtime.processor
    processor.lanes = 1  # (on PostgreSQL a batch is dealt out to lanes, each starting without a wait)
    processor.traffic = traffic = RecordingTraffic()
    asked = traffic.asked
    processor.settings.inbox_yield_budget_ms = 60_000  # every event counts as fresh here (a slow machine too)
    bot.send(*(ev.text_message(new_user_id(), "ヘルプ") for _ in range(3)))  # three users: one batch
    assert 1 <= len(asked) <= 3  # once per transaction; a transaction takes several events while it has time
    assert asked[0] == 0  # a batch starts with no wait
    assert all(0 < wait <= 0.25 for wait in asked[1:])


def test_handling_stops_giving_way_once_a_resident_has_waited_long_enough(bot: Bot, line: Any) -> None:
    """At a busy, steady pace a webhook request is nearly always in flight: an event that has waited its budget is
    handled at once, so answers keep pace instead of falling further and further behind. A flood (many requests
    in flight at once) still comes first: LINE's 2-second limit is at stake then."""
    processor = bot.client.app.state.runtime.processor
    processor.traffic = traffic = RecordingTraffic(in_flight=1)
    processor.settings.inbox_yield_budget_ms = 0  # every event is already late
    bot.send(*(ev.text_message(new_user_id(), "ヘルプ") for _ in range(3)))
    assert traffic.asked == []
    processor.traffic = flood = RecordingTraffic(in_flight=100)
    bot.send(*(ev.text_message(new_user_id(), "ヘルプ") for _ in range(3)))
    assert flood.asked and flood.asked[0] == 0
    assert len(line.sent("reply")) == 6


def test_a_failing_event_among_others_in_one_transaction_costs_the_others_nothing(bot: Bot, line: Any,
                                                                                  sessions: Any) -> None:
    """Several users' events share a transaction; when one fails it is rolled back, the others are handled again
    and answered once each, and the failing one is retried on its own."""
    router, calls = _failing_router(fail_times=1)
    put_first(bot.client, router)
    processor = bot.client.app.state.runtime.processor
    processor.settings.inbox_yield_budget_ms = 0  # no pause between them
    processor.lanes = 1  # all three in one lane, so that they share a transaction on PostgreSQL too
    users = [new_user_id() for _ in range(3)]
    bot.send(ev.text_message(users[0], "ヘルプ"), ev.text_message(users[1], "こわれる"),
             ev.text_message(users[2], "ヘルプ"))
    wait_for(lambda: count(sessions, InboxEvent, InboxEvent.status == "done") == 3)
    bot.wait_idle()
    assert len(calls) == 2  # the failure, then its retry
    answered = Counter(r.body["replyToken"] for r in line.sent("reply"))
    assert len(answered) == 3 and set(answered.values()) == {1}
