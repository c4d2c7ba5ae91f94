"""Demo data for `make run`: idempotent, a second run adds nothing twice. It goes through the domains' commands,
as the console and the API do, so the demo cannot hold data they would refuse."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import clock
from bot.work import Work
from db.models import Event, Member, StaffAccount, Survey, User
from events import service as events
from events.schema import MEETINGS, EventInput
from members import service as members
from members.service import MemberInput
from simulator import sim_user_id
from staff import service as staff
from surveys import service as surveys
from surveys.service import SurveyInput

DEMO_RESIDENTS = [
    # (simulator key, display name, language)
    ("resident-yamada", "山田 花子", "ja"),
    ("resident-emma", "Emma", "en"),
]
DEMO_MEMBER_USER = ("member-minato", "港 はるこ（委員）", "ja")
DEMO_MEMBERS = [
    # (name, 部会, linked to the simulator's member user)
    ("港 はるこ", "まちづくり部会", True),
    ("築港 太郎", "まちづくり部会", False),
    ("天保山 次郎", "まちづくり部会", False),
    ("八幡屋 三恵", "子育て・健康部会", False),
    ("弁天 四郎", "子育て・健康部会", False),
    ("市岡 五月", "安全・安心部会", False),
]
# The console's demo account (development only: `main.py demo` is not run in production).
DEMO_STAFF = ("demo", "minato-demo-2026", "admin")
DEMO_SURVEY_TITLE = "区政会議に関するアンケート（デモ）"
WARD_SITE = "https://www.city.osaka.lg.jp/minato/"
# (title, kind, days from today, start hour, hours long (or days for multi-day), venue, address, lat, lon, tags,
#  keywords, visibility, 部会)
DEMO_EVENTS: list[tuple[Any, ...]] = [
    ("みなとピクニック", "festival", 3, 11, 4, "八幡屋公園", "大阪市港区田中3丁目", 34.6650, 135.4495,
     ["こども", "まつり"], ["みなとぴくにっく", "ピクニック"], "public", None),
    ("ふれあい音楽会", "event", 5, 14, 2, "大阪ベイタワー２階広場", "大阪市港区弁天1丁目2", 34.6694, 135.4622,
     ["音楽"], ["ふれあいおんがくかい", "音楽会", "コンサート"], "public", None),
    ("わんぱくまつり", "festival", 9, 10, 5, "八幡屋公園芝生広場", "大阪市港区田中3丁目", 34.6647, 135.4499,
     ["こども", "まつり"], ["わんぱくまつり", "わんぱく祭り"], "public", None),
    ("ものづくりフェスタ", "event", 12, 10, 6, "港区・大正区の工場", "大阪市港区", None, None,
     ["ものづくり", "こども"], ["ものづくりふぇすた"], "public", None),
    ("港区民まつり", "festival", 16, 10, 6, "八幡屋公園一帯", "大阪市港区田中3丁目", 34.6647, 135.4499,
     ["まつり"], ["みなとくみんまつり", "くみんまつり", "区民祭り", "区民まつり"], "public", None),
    ("オープンファクトリー", "event", 20, 10, "2d", "港区内の工場", "大阪市港区", None, None,
     ["ものづくり"], ["おーぷんふぁくとりー", "工場見学"], "public", None),
    ("まちづくり部会", "subcommittee", 8, 19, 1.5, "港区役所 5階 会議室", "大阪市港区市岡1丁目15-25", 34.6636, 135.4596,
     ["会議"], ["ぶかい"], "subcommittee", "まちづくり部会"),
    ("区政会議 全体会議", "plenary", 10, 19, 2, "港区役所 5階 会議室", "大阪市港区市岡1丁目15-25", 34.6636, 135.4596,
     ["会議"], ["ぜんたいかいぎ", "区政会議"], "members", None),
]

# English titles of the public events, for English readers (meetings stay Japanese, as council business does)
EVENT_TITLES_EN = {"みなとピクニック": "Minato Picnic", "ふれあい音楽会": "Fureai Concert",
                   "わんぱくまつり": "Wanpaku Kids' Festival", "ものづくりフェスタ": "Monozukuri Craft Festa",
                   "港区民まつり": "Minato Ward Festival", "オープンファクトリー": "Open Factory"}

# Answers to residents' usual questions, for the demo (a ward office writes its own in the console)
_PARK = {"rain": "小雨なら開催します。荒天のときは中止し、当日の朝7時までに このLINEと区のホームページで"
                 "お知らせします。",
         "parking": "駐車場はありません。電車・バス・自転車でお越しください（駐輪場は公園の北側）。",
         "access": "大阪メトロ中央線「朝潮橋」駅から歩いて約5分です。",
         "facilities": "公園のトイレと仮設トイレがあります。模擬店（屋台）が出ます。"}
DEMO_ANSWERS: dict[str, dict[str, Any]] = {
    "わんぱくまつり": {"answers": {**_PARK, "belongings": "帽子、飲み物、タオル。汚れてもよい服でお越しください。"},
                  "free": True,
                  "faq": [{"q": "ペットを連れて行ってもいいですか",
                           "a": "リードをつければ公園には入れますが、遊びのコーナーには入れません。"},
                          {"q": "ベビーカーで行けますか", "a": "はい。会場は平らな芝生広場です。"}]},
    "港区民まつり": {"answers": _PARK, "free": True,
                "faq": [{"q": "ボランティアはできますか", "a": "まつりの1か月前まで、区役所で募集しています。"}]},
    "みなとピクニック": {"answers": {"rain": "雨のときは中止します。当日の朝8時までにこのLINEでお知らせします。"},
                  "free": True},
    "ふれあい音楽会": {"answers": {"access": "大阪メトロ中央線「弁天町」駅からすぐです。"}, "free": True},
    "ものづくりフェスタ": {"free": False, "answers": {"fee": "一部の体験は材料費がかかります（100円〜）。"}},
}


def _user(session: Session, key: str, name: str, language: str) -> tuple[User, bool]:
    line_id = sim_user_id(key)
    user = session.scalars(select(User).where(User.line_user_id == line_id)).first()
    if user is not None:
        return user, False
    user = User(line_user_id=line_id, display_name=name, language=language, is_reachable=True,
                followed_at=clock.now(), profile_updated_at=clock.now())
    session.add(user)
    session.flush()
    return user, True


def load(work: Work) -> dict[str, int]:
    """Create what is missing; return how many rows of each kind were added."""
    session = work.session
    added = {"users": 0, "members": 0, "surveys": 0, "events": 0, "staff accounts": 0}
    if session.scalars(select(StaffAccount.id)).first() is None:
        name, password, role = DEMO_STAFF
        staff.create(work, name=name, password=password, role=role, user_id=None)
        added["staff accounts"] = 1
    for key, name, language in DEMO_RESIDENTS:
        added["users"] += _user(session, key, name, language)[1]
    member_user, created = _user(session, *DEMO_MEMBER_USER)
    added["users"] += created

    for subcommittee in dict.fromkeys(sub for _name, sub, _linked in DEMO_MEMBERS):
        if members.find_subcommittee(session, subcommittee) is None:
            members.create_subcommittee(work, subcommittee)
    for name, subcommittee, linked in DEMO_MEMBERS:
        if session.scalars(select(Member).where(Member.name == name)).first() is None:
            member = members.create(work, MemberInput(name=name, subcommittee=subcommittee,
                                                      term_end=dt.date(clock.today_jst().year + 1, 3, 31)))
            if linked:
                member.user_id, member.linked_at = member_user.id, clock.now()
            added["members"] += 1

    closes = dt.datetime.combine(clock.today_jst() + dt.timedelta(days=14), dt.time(17), clock.JST)
    existing = session.scalars(select(Survey).where(Survey.title == DEMO_SURVEY_TITLE)).first()
    if existing is not None and existing.closes_at <= clock.now():  # an old demo: open it again
        existing.closes_at, existing.status, existing.closed_at = closes.astimezone(dt.UTC), "open", None
    if existing is None:
        survey = surveys.create(work, SurveyInput(template_id="council-questionnaire", title=DEMO_SURVEY_TITLE,
                                                  closes_at=closes.astimezone(dt.UTC), anonymous=True,
                                                  target_year="H31"))
        surveys.open_survey(work, survey)
        added["surveys"] += 1
    added["events"] = _events(work)
    session.flush()
    return added


def _events(work: Work) -> int:
    """The seed's events, placed in the coming weeks so a fresh demo always has something upcoming."""
    session = work.session
    added = 0
    today = clock.today_jst()
    for (title, kind, days, hour, length, venue, address, lat, lon, tags, keywords, visibility,
         subcommittee) in DEMO_EVENTS:
        day = today + dt.timedelta(days=days)
        starts = dt.datetime.combine(day, dt.time(hour), clock.JST)
        ends = (dt.datetime.combine(day + dt.timedelta(days=1), dt.time(17), clock.JST) if length == "2d"
                else starts + dt.timedelta(hours=float(length)))
        existing = session.scalars(select(Event).where(Event.title == title)).first()
        if existing is not None:
            if existing.ends_at < clock.now():  # an old demo: bring it forward so the demo has upcoming events
                existing.starts_at, existing.ends_at = starts.astimezone(dt.UTC), ends.astimezone(dt.UTC)
                events.schedule_reminders(session, event=existing)
            if not existing.answers and title in DEMO_ANSWERS:  # a demo made before events had answers
                for key, value in DEMO_ANSWERS[title].items():
                    setattr(existing, key, value)
            continue
        documents = ([{"title": "資料１ 中間振り返り", "url": WARD_SITE}, {"title": "特にご意見をいただきたい項目",
                                                                          "url": WARD_SITE}]
                     if kind in MEETINGS else [])
        events.create(work, EventInput(
            title=title, kind=kind, starts_at=starts.astimezone(dt.UTC), ends_at=ends.astimezone(dt.UTC),
            venue=venue, address=address, latitude=lat, longitude=lon, tags=tags, keywords=keywords,
            visibility=visibility, url=WARD_SITE, documents=documents, subcommittee=subcommittee,
            description=f"{title}を開催します。くわしくは港区のホームページをご覧ください。",
            title_en=EVENT_TITLES_EN.get(title),
            description_en=(f"{EVENT_TITLES_EN[title]}. See the Minato ward website for details."
                            if title in EVENT_TITLES_EN else None),
            **DEMO_ANSWERS.get(title, {}),
        ))
        added += 1
    return added
