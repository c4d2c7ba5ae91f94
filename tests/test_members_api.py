"""Members and 部会 through the automation API: a 部会 must exist (a typo is a 422 that lists the real ones, and
makes nothing), the 部会 list is managed (create, rename, merge, retire, restore), members are changed and retired
(unlinked, out of new audiences and response rates, kept in past results and attendance)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from db.base import transaction
from db.models import (
    Attendance,
    AuditEntry,
    Broadcast,
    Event,
    LinkCode,
    Member,
    Subcommittee,
    Survey,
    SurveyResponse,
)
from tests.fakeline.server import FakeLine
from tests.helpers import AUTH, Bot, api, link_member, texts

SUBS = ["まちづくり部会", "子育て・健康部会", "安全・安心部会"]


def make_subcommittees(bot: Bot) -> dict[str, int]:
    return {name: api(bot.client, "POST", "/subcommittees", json={"name": name})["id"] for name in SUBS}


def call(bot: Bot, method: str, path: str, **kw: Any) -> Any:
    return bot.client.request(method, "/api/v1" + path, headers=AUTH, **kw)


def test_a_member_s_subcommittee_must_exist_and_a_typo_makes_nothing(bot: Bot, sessions: Any) -> None:
    make_subcommittees(bot)
    response = call(bot, "POST", "/members", json={"name": "八幡屋 三恵", "subcommittee": "子育て健康部会"})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "subcommittee"]
    assert "「子育て健康部会」という部会はありません" in error["msg"]
    assert "「子育て・健康部会」のことですか" in error["msg"]  # the near miss is named
    assert all(f"「{name}」" in error["msg"] for name in SUBS)  # and the valid names are listed
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Member)) == 0
        assert sorted(session.scalars(select(Subcommittee.name))) == sorted(SUBS)  # no fourth 部会

    created = api(bot.client, "POST", "/members", json={
        "name": "八幡屋　三恵", "subcommittee": "子育て・健康部会", "term_end": "2027-03-31",
        "phone": "０６－６５７６－９６２５", "email": "yahataya@example.jp", "contact_method": "paper"})
    assert created["name"] == "八幡屋 三恵"  # a full-width space made plain
    assert created["subcommittee"] == "子育て・健康部会" and created["term_end"] == "2027-03-31"
    assert created["phone"] == "06-6576-9625" and created["contact_method"] == "paper" and created["active"]
    assert api(bot.client, "GET", f"/members/{created['id']}") == created

    bad = call(bot, "POST", "/members", json={"name": "港 太郎", "email": "not-an-address", "contact_method": "fax",
                                              "phone": "でんわ"})
    assert bad.status_code == 422
    assert {tuple(e["loc"]) for e in bad.json()["detail"]} == {("body", "email"), ("body", "contact_method"),
                                                              ("body", "phone")}


def test_subcommittees_are_created_once_and_near_duplicates_refused(bot: Bot) -> None:
    make_subcommittees(bot)
    for name in ("まちづくり部会", "子育て健康部会", "子育て・健康", "まちづくり　部会"):
        response = call(bot, "POST", "/subcommittees", json={"name": name})
        assert response.status_code == 422, name
        assert response.json()["detail"][0]["loc"] == ["body", "name"]
    listed = api(bot.client, "GET", "/subcommittees")
    assert [s["name"] for s in listed] == SUBS and all(s["active"] and s["members"] == 0 for s in listed)


def test_rename_keeps_members_and_updates_broadcasts_not_sent_yet(bot: Bot, sessions: Any) -> None:
    ids = make_subcommittees(bot)
    member = api(bot.client, "POST", "/members", json={"name": "弁天 四郎", "subcommittee": "子育て・健康部会"})
    with transaction(sessions) as session:  # a draft (the API's broadcasts are sent at once)
        draft = Broadcast(title="部会へ", items=[], messages=[], created_by="test", status="draft",
                          audience={"kind": "subcommittees", "subcommittees": ["子育て・健康部会"]})
        session.add(draft)
        session.flush()
        draft_id = draft.id
    renamed = api(bot.client, "PATCH", f"/subcommittees/{ids['子育て・健康部会']}", json={"name": "こども・健康部会"})
    assert renamed["name"] == "こども・健康部会" and renamed["members"] == 1
    assert api(bot.client, "GET", f"/members/{member['id']}")["subcommittee"] == "こども・健康部会"
    with sessions() as session:
        assert session.get(Broadcast, draft_id).audience["subcommittees"] == ["こども・健康部会"]
        assert session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "subcommittee.rename")).one() \
            == "子育て・健康部会 → こども・健康部会"
    clash = call(bot, "PATCH", f"/subcommittees/{ids['まちづくり部会']}", json={"name": "安全安心部会"})
    assert clash.status_code == 422 and "「安全・安心部会」と同じ部会に見えます" in clash.json()["detail"][0]["msg"]


def test_merging_a_typo_moves_its_members_meetings_surveys_and_broadcasts(bot: Bot, sessions: Any) -> None:
    """The issue's case: 「子育て健康部会」, made by a typo before the list existed, is merged into
    「子育て・健康部会」."""
    ids = make_subcommittees(bot)
    version = api(bot.client, "GET", "/survey-templates")[0]["version_id"]
    with transaction(sessions) as session:  # what the free-text field used to make
        typo = Subcommittee(name="子育て健康部会")
        session.add(typo)
        session.flush()
        session.add_all([Member(name="八幡屋 三恵", subcommittee_id=typo.id),
                         Member(name="退任 さん", subcommittee_id=typo.id, active=False,
                                retired_at=dt.datetime.now(dt.UTC))])
        start = dt.datetime.now(dt.UTC) + dt.timedelta(days=20)
        session.add(Event(title="子育て健康部会", kind="subcommittee", starts_at=start,
                          ends_at=start + dt.timedelta(hours=2), visibility="subcommittee", subcommittee_id=typo.id))
        session.add(Survey(template_version_id=version, title="部会アンケート", opens_at=start, closes_at=start,
                           audience_subcommittee_ids=[ids["子育て・健康部会"], typo.id]))
        audience = {"kind": "subcommittees", "subcommittees": ["子育て健康部会", "まちづくり部会"]}
        session.add(Broadcast(title="予約", items=[], messages=[], created_by="test", status="scheduled",
                              audience=audience))
        typo_id = typo.id
    assert [s["name"] for s in api(bot.client, "GET", "/subcommittees")][-1] == "子育て健康部会"

    merged = api(bot.client, "POST", f"/subcommittees/{typo_id}/merge", json={"into": "子育て・健康部会"})
    assert merged["into"]["name"] == "子育て・健康部会" and merged["into"]["members"] == 1
    assert (merged["members"], merged["events"], merged["surveys"], merged["broadcasts"]) == (2, 1, 1, 1)
    assert "子育て健康部会" not in [s["name"] for s in api(bot.client, "GET", "/subcommittees")]
    with sessions() as session:
        target = ids["子育て・健康部会"]
        assert session.get(Subcommittee, typo_id) is None
        assert {m.subcommittee_id for m in session.scalars(select(Member))} == {target}  # the retired one too
        assert session.scalars(select(Event.subcommittee_id)).one() == target
        assert session.scalars(select(Survey.audience_subcommittee_ids)).one() == [target]
        audience = session.scalars(select(Broadcast.audience)).one()
        assert audience["subcommittees"] == ["まちづくり部会", "子育て・健康部会"]
        detail = session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "subcommittee.merge")).one()
        assert detail.startswith("子育て健康部会 → 子育て・健康部会（委員2人")
    assert call(bot, "POST", f"/subcommittees/{target}/merge", json={"into": "子育て・健康部会"}).status_code == 422
    assert call(bot, "POST", f"/subcommittees/{target}/merge", json={"into": "ない部会"}).status_code == 422
    assert call(bot, "POST", "/subcommittees/999/merge", json={"into": "まちづくり部会"}).status_code == 404


def test_a_retired_subcommittee_is_offered_nowhere_new_and_can_be_restored(bot: Bot, sessions: Any) -> None:
    ids = make_subcommittees(bot)
    member = api(bot.client, "POST", "/members", json={"name": "市岡 五月", "subcommittee": "安全・安心部会"})
    refused = call(bot, "POST", f"/subcommittees/{ids['安全・安心部会']}/retire")
    assert refused.status_code == 409 and "まだ委員が1人います" in refused.json()["detail"]
    api(bot.client, "PATCH", f"/members/{member['id']}", json={"subcommittee": "まちづくり部会"})
    retired = api(bot.client, "POST", f"/subcommittees/{ids['安全・安心部会']}/retire")
    assert retired["active"] is False and retired["retired_at"]

    again = call(bot, "POST", "/members", json={"name": "新しい 委員", "subcommittee": "安全・安心部会"})
    assert again.status_code == 422 and "廃止された部会です" in again.json()["detail"][0]["msg"]
    closes = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).isoformat()
    survey = call(bot, "POST", "/surveys", json={"template_id": "council-questionnaire", "closes_at": closes,
                                                 "subcommittees": ["安全・安心部会"]})
    assert survey.status_code == 422
    broadcast = call(bot, "POST", "/broadcasts", json={
        "title": "x", "messages": [{"type": "text", "text": "x"}], "dry_run": True,
        "audience": {"kind": "subcommittees", "subcommittees": ["安全・安心部会"]}})
    assert broadcast.status_code == 422

    assert api(bot.client, "POST", f"/subcommittees/{ids['安全・安心部会']}/restore")["active"] is True
    assert api(bot.client, "POST", "/members", json={"name": "新しい 委員", "subcommittee": "安全・安心部会"})


def test_a_member_is_changed_field_by_field_and_checked_whole(bot: Bot, sessions: Any) -> None:
    make_subcommittees(bot)
    member = api(bot.client, "POST", "/members", json={"name": "築港 太郎", "subcommittee": "まちづくり部会"})
    changed = api(bot.client, "PATCH", f"/members/{member['id']}", json={
        "name": "築港 太朗", "subcommittee": "安全・安心部会", "term_end": "2028-03-31", "phone": "090-1234-5678",
        "email": "chikko@example.jp", "contact_method": "phone"})
    assert (changed["name"], changed["subcommittee"], changed["term_end"], changed["contact_method"]) == (
        "築港 太朗", "安全・安心部会", "2028-03-31", "phone")
    only_term = api(bot.client, "PATCH", f"/members/{member['id']}", json={"term_end": "2029-03-31"})
    assert only_term["subcommittee"] == "安全・安心部会" and only_term["phone"] == "090-1234-5678"
    typo = call(bot, "PATCH", f"/members/{member['id']}", json={"subcommittee": "安全安心部会"})
    assert typo.status_code == 422 and typo.json()["detail"][0]["loc"] == ["body", "subcommittee"]
    assert call(bot, "PATCH", f"/members/{member['id']}", json={"name": ""}).status_code == 422
    assert api(bot.client, "GET", f"/members/{member['id']}")["subcommittee"] == "安全・安心部会"
    with sessions() as session:
        details = list(session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "member.change")
                                       .order_by(AuditEntry.id)))
    assert details == ["築港 太朗（氏名・部会・任期・電話・メール・連絡方法）", "築港 太朗（任期）"]
    assert call(bot, "PATCH", "/members/99999", json={"term_end": "2029-03-31"}).status_code == 404


def test_a_retired_member_is_unlinked_out_of_new_audiences_and_kept_in_past_results(
        bot: Bot, line: FakeLine, sessions: Any) -> None:
    phone, member_id = link_member(bot, line, "港 はるこ", "まちづくり部会")
    _other, other_id = link_member(bot, line, "築港 太郎", "まちづくり部会")
    closes = (dt.datetime.now(dt.UTC) + dt.timedelta(days=7)).isoformat()
    past = api(bot.client, "POST", "/surveys", json={"template_id": "council-questionnaire", "closes_at": closes,
                                                     "anonymous": False})
    api(bot.client, "POST", f"/surveys/{past['id']}/open")
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    with transaction(sessions) as session:  # she answered the survey and said she would attend the meeting
        session.add(SurveyResponse(survey_id=past["id"], member_id=member_id, status="submitted",
                                   submitted_at=dt.datetime.now(dt.UTC)))
        meeting = Event(title="全体会議", kind="plenary", starts_at=start, ends_at=start + dt.timedelta(hours=2),
                        visibility="members")
        session.add(meeting)
        session.flush()
        session.add(Attendance(event_id=meeting.id, member_id=member_id, response="attend"))
        meeting_id = meeting.id

    retired = api(bot.client, "POST", f"/members/{member_id}/retire")
    assert retired["active"] is False and retired["linked"] is False and retired["retired_at"]
    assert api(bot.client, "POST", f"/members/{member_id}/retire")["active"] is False  # again: nothing changes
    bot.wait_idle()
    unlinks = [r for r in line.requests if r.method == "DELETE" and r.path == f"/v2/bot/user/{phone.user_id}/richmenu"]
    assert len(unlinks) == 1, "the rich menu is switched back to the residents' one"
    assert "委員の方は" in texts(phone.say("アンケート"))  # no longer a member in the chat

    assert [m["id"] for m in api(bot.client, "GET", "/members")] == [other_id]
    assert member_id in [m["id"] for m in api(bot.client, "GET", "/members", params={"include_retired": True})]
    assert call(bot, "PATCH", f"/members/{member_id}", json={"name": "x"}).status_code == 409
    assert call(bot, "POST", f"/members/{member_id}/link-code").status_code == 404
    with sessions() as session:
        assert session.scalars(select(LinkCode).where(LinkCode.member_id == member_id,
                                                      LinkCode.used_at.is_(None))).all() == []

    # the past survey still counts her (she was asked, and answered); a new one does not ask her
    past_now = api(bot.client, "GET", f"/surveys/{past['id']}")
    assert (past_now["answered"], past_now["audience"]) == (1, 2)
    rate = api(bot.client, "GET", f"/surveys/{past['id']}/results")["response_rate"]
    assert rate["by_subcommittee"] == [{"name": "まちづくり部会", "answered": 1, "audience": 2, "percent": 50.0}]
    new = api(bot.client, "POST", "/surveys", json={"template_id": "council-questionnaire", "closes_at": closes})
    assert api(bot.client, "POST", f"/surveys/{new['id']}/open")["invitations"] == 1
    assert api(bot.client, "GET", f"/surveys/{new['id']}")["audience"] == 1
    dry = api(bot.client, "POST", "/broadcasts", json={"title": "x", "messages": [{"type": "text", "text": "x"}],
                                                        "dry_run": True, "audience": {"kind": "members"}})
    assert dry["recipients"] == 1
    attendance = api(bot.client, "GET", f"/events/{meeting_id}/attendance")
    assert [m["name"] for m in attendance["attending"]] == ["港 はるこ"]  # her answer stays on the meeting
    assert [m["name"] for m in attendance["no_answer"]] == ["築港 太郎"]


def test_codes_issued_by_the_api_link_and_name_the_members_in_the_audit(bot: Bot, line: FakeLine,
                                                                          sessions: Any) -> None:
    make_subcommittees(bot)
    _phone, member_id = link_member(bot, line, "天保山 次郎", "まちづくり部会")
    with sessions() as session:
        detail = session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "member.codes")).one()
    assert detail == "1人分のコードを発行: 天保山 次郎"
    assert api(bot.client, "GET", f"/members/{member_id}")["linked"]
