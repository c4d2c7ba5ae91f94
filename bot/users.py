"""LINE users as the bot knows them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bot import clock
from bot.texts import language_of
from db.models import User

_BY_LINE_ID = select(User).where(User.line_user_id == bindparam("line_user_id"))  # built once: every event asks


def find(session: Session, line_user_id: str) -> User | None:
    return session.scalars(_BY_LINE_ID, {"line_user_id": line_user_id}).one_or_none()


def get_or_create(session: Session, line_user_id: str, profile: dict[str, Any] | None = None) -> tuple[User, bool]:
    """The user with this LINE ID, created on first sight (they wrote to us, so they can be reached), with their
    LINE profile when it is known (written in the same INSERT, not updated afterwards)."""
    user = find(session, line_user_id)
    if user is not None:
        return user, False
    user = User(line_user_id=line_user_id, is_reachable=True, followed_at=clock.now())
    apply_profile(user, profile)
    session.add(user)
    session.flush()
    user.first_seen = True
    return user, True


def apply_profile(user: User, profile: dict[str, Any] | None) -> None:
    """Copy the LINE profile's name, picture and language onto the user ({} : LINE has none; None: unknown)."""
    if profile is None:
        return
    user.display_name = (profile.get("displayName") or user.display_name or "")[:200] or None
    user.picture_url = profile.get("pictureUrl") or user.picture_url
    if profile.get("language"):
        user.language = language_of(profile["language"])
    user.profile_updated_at = clock.now()


def profile_is_stale(user: User | None) -> bool:
    return user is None or user.profile_updated_at is None
