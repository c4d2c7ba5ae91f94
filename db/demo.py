"""Demo data for `make run`: idempotent, a second run adds nothing twice."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import clock
from bot.gateway import Outbox
from db.models import Member, Survey, User

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
DEMO_SURVEY_TITLE = "区政会議に関するアンケート（デモ）"


def _user(session: Session, key: str, name: str, language: str) -> tuple[User, bool]:
    from bot.simulator import sim_user_id

    line_id = sim_user_id(key)
    user = session.scalars(select(User).where(User.line_user_id == line_id)).first()
    if user is not None:
        return user, False
    user = User(line_user_id=line_id, display_name=name, language=language, is_reachable=True,
                followed_at=clock.now(), profile_updated_at=clock.now())
    session.add(user)
    session.flush()
    return user, True


def load(session: Session, outbox: Outbox | None = None) -> dict[str, int]:
    """Create what is missing; return how many rows of each kind were added."""
    from members import service as members
    from surveys import service as surveys

    added = {"users": 0, "members": 0, "surveys": 0}
    for key, name, language in DEMO_RESIDENTS:
        added["users"] += _user(session, key, name, language)[1]
    member_user, created = _user(session, *DEMO_MEMBER_USER)
    added["users"] += created

    for name, subcommittee, linked in DEMO_MEMBERS:
        if session.scalars(select(Member).where(Member.name == name)).first() is None:
            member = members.create(session, name=name, subcommittee=subcommittee,
                                    term_end=dt.date(clock.today_jst().year + 1, 3, 31))
            if linked:
                member.user_id, member.linked_at = member_user.id, clock.now()
            added["members"] += 1

    if session.scalars(select(Survey).where(Survey.title == DEMO_SURVEY_TITLE)).first() is None:
        closes = dt.datetime.combine(clock.today_jst() + dt.timedelta(days=14), dt.time(17), clock.JST)
        survey = surveys.create(session, template_key="council-questionnaire", title=DEMO_SURVEY_TITLE,
                                opens_at=clock.now(), closes_at=closes.astimezone(dt.UTC),
                                anonymous=True, target_year="H31")
        surveys.open_survey(session, survey=survey, outbox=outbox or Outbox(line_enabled=False))
        added["surveys"] += 1
    session.flush()
    return added
