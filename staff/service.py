"""Staff accounts (argon2 passwords, roles, lock-out), their browser sessions, and the audit log."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot import clock
from bot.inputs import Refused
from bot.work import Work
from db.models import AuditEntry, StaffAccount, StaffSession, User

ROLES = {"viewer": "閲覧", "editor": "編集・送信", "admin": "管理者"}
RANK = {"viewer": 0, "editor": 1, "admin": 2}
MAX_FAILURES = 5
LOCK_FOR = dt.timedelta(minutes=15)
SESSION_TTL = dt.timedelta(hours=12)
MIN_PASSWORD = 10

_hasher = PasswordHasher()
# Verified when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class StaffError(Refused):
    """A staff account that cannot be made or changed as asked (the message says why, in Japanese)."""


def can(role: str, needed: str) -> bool:
    return RANK.get(role, -1) >= RANK[needed]


def create(work: Work, *, name: str, password: str, role: str, user_id: int | None = None) -> StaffAccount:
    session = work.session
    name = name.strip()
    if not name or len(name) > 100:
        raise StaffError("名前を100文字以内で入れてください", "name")
    if role not in ROLES:
        raise StaffError(f"役割は {', '.join(ROLES)} のどれかです", "role")
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"パスワードは{MIN_PASSWORD}文字以上にしてください", "password")
    if session.scalar(select(StaffAccount.id).where(StaffAccount.name == name)) is not None:
        raise StaffError(f"「{name}」はすでに登録されています", "name")
    account = StaffAccount(name=name, password_hash=_hasher.hash(password), role=role, user_id=user_id)
    session.add(account)
    session.flush()
    work.audit("staff.create", f"staff:{account.id}", f"{account.name} ({role})")
    return account


def change(work: Work, account: StaffAccount, *, action: str, acting_id: int | None, role: str | None = None,
           line_user_id: str | None = None) -> None:
    """Unlock, change the role, link the staff member's own LINE account (for test sends), or deactivate (which
    ends their browser sessions; nobody deactivates themselves)."""
    session = work.session
    if action == "unlock":
        account.locked_until, account.failed_logins = None, 0
    elif action == "role" and role in ROLES:
        account.role = role
    elif action == "line":
        line_user_id = (line_user_id or "").strip()
        user = session.scalars(select(User).where(User.line_user_id == line_user_id)).one_or_none()
        if line_user_id and user is None:
            raise StaffError("そのLINEユーザーIDの友だちはいません（先にボットを友だち追加してください）",
                             "line_user_id")
        account.user_id = user.id if user else None
    elif action == "deactivate" and account.id != acting_id:
        account.active = False
        session.execute(delete(StaffSession).where(StaffSession.staff_id == account.id))
    else:
        raise StaffError("この操作はできません", "action")
    work.audit(f"staff.{action}", f"staff:{account.id}", account.name)


def set_password(account: StaffAccount, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"パスワードは{MIN_PASSWORD}文字以上にしてください")
    account.password_hash = _hasher.hash(password)


@dataclass
class LoginResult:
    account: StaffAccount | None
    error: str | None = None


def authenticate(work: Work, *, name: str, password: str) -> LoginResult:
    """Check a name and password; five wrong passwords lock the account for 15 minutes."""
    session = work.session
    now = clock.now()
    account = session.scalars(select(StaffAccount).where(StaffAccount.name == name.strip())).one_or_none()
    if account is None or not account.active:
        _verify(_DUMMY_HASH, password)
        return LoginResult(None, "名前またはパスワードが違います")
    if account.locked_until is not None and account.locked_until > now:
        return LoginResult(None, "ログインの失敗が続いたため、しばらくログインできません。"
                                 "15分ほど待つか、管理者に連絡してください")
    if not _verify(account.password_hash, password):
        account.failed_logins += 1
        if account.failed_logins >= MAX_FAILURES:
            account.locked_until, account.failed_logins = now + LOCK_FOR, 0
            work.audit("login.locked", f"staff:{account.id}")
        return LoginResult(None, "名前またはパスワードが違います")
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    account.failed_logins, account.locked_until, account.last_login_at = 0, None, now
    return LoginResult(account)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, account: StaffAccount) -> tuple[str, StaffSession]:
    """A new browser session; returns the cookie value (only its hash is stored) and the row."""
    token = secrets.token_urlsafe(32)
    row = StaffSession(token_hash=_digest(token), staff_id=account.id, csrf_token=secrets.token_urlsafe(32),
                       expires_at=clock.now() + SESSION_TTL)
    session.add(row)
    session.execute(delete(StaffSession).where(StaffSession.expires_at < clock.now()))
    session.flush()
    return token, row


def find_session(session: Session, token: str | None) -> tuple[StaffSession, StaffAccount] | None:
    if not token:
        return None
    row = session.execute(select(StaffSession, StaffAccount).join(StaffAccount).where(
        StaffSession.token_hash == _digest(token))).one_or_none()
    if row is None:
        return None
    staff_session, account = row
    if staff_session.expires_at <= clock.now() or not account.active:
        return None
    return staff_session, account


def close_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(StaffSession).where(StaffSession.token_hash == _digest(token)))


def audit_log(session: Session, *, limit: int = 200) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)))
