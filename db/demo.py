"""Demo data for `make run`: idempotent, a second run adds nothing twice."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import clock
from db.models import User

DEMO_RESIDENTS = [
    # (simulator key, display name, language)
    ("resident-yamada", "山田 花子", "ja"),
    ("resident-emma", "Emma", "en"),
]


def load(session: Session) -> dict[str, int]:
    """Create what is missing; return how many rows of each kind were added."""
    from bot.simulator import sim_user_id

    added = {"users": 0}
    for key, name, language in DEMO_RESIDENTS:
        line_id = sim_user_id(key)
        if session.scalars(select(User).where(User.line_user_id == line_id)).first() is None:
            session.add(User(line_user_id=line_id, display_name=name, language=language, is_reachable=True,
                             followed_at=clock.now(), profile_updated_at=clock.now()))
            added["users"] += 1
    return added
