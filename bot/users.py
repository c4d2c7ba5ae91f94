"""LINE users as the bot knows them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, inspect, select
from sqlalchemy.orm import Session, make_transient_to_detached

from bot import clock
from bot.texts import language_of
from db.models import User

_BY_LINE_ID = select(User).where(User.line_user_id == bindparam("line_user_id"))  # built once: every event asks
_COLUMNS = tuple(attr.key for attr in inspect(User).column_attrs if attr.key != "id")
_INSERT = insert(User).returning(User.id)


def find(session: Session, line_user_id: str) -> User | None:
    return session.scalars(_BY_LINE_ID, {"line_user_id": line_user_id}).one_or_none()


def get_or_create(session: Session, line_user_id: str, profile: dict[str, Any] | None = None) -> tuple[User, bool]:
    """The user with this LINE ID, created on first sight (they wrote to us, so they can be reached), with their
    LINE profile when it is known (written in the same INSERT, not updated afterwards)."""
    user = find(session, line_user_id)
    if user is not None:
        return user, False
    now = clock.now()
    user = User(line_user_id=line_user_id, display_name=None, language="ja", picture_url=None, is_reachable=True,
                followed_at=now, unfollowed_at=None, profile_updated_at=None, created_at=now)
    apply_profile(user, profile)
    # One Core INSERT, then the row is handed to the session as loaded: the ORM's flush of a single new object cost
    # several times the statement (issue #13: a burst of residents first seen). Every column is set above, so
    # nothing is read back.
    values = {name: getattr(user, name) for name in _COLUMNS}
    user.id = session.connection().execute(_INSERT, values).scalar_one()
    make_transient_to_detached(user)
    session.add(user)
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
