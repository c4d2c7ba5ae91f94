"""Staff accounts (argon2 passwords, roles, lock-out), their browser sessions, their own LINE account (linked by
a one-time code sent to the bot, for test sends), and the audit log."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot import clock
from bot.inputs import Refused
from bot.work import Work
from db.models import AuditEntry, LinkAttempt, StaffAccount, StaffLineCode, StaffSession, User
from members import service as members

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


def change(work: Work, account: StaffAccount, *, action: str, acting_id: int | None, role: str | None = None
           ) -> None:
    """Unlock, change the role, or deactivate (which ends their browser sessions; nobody deactivates themselves).
    Staff link their own LINE themselves (issue_line_code, link_line); unlink_line unlinks it."""
    session = work.session
    if action == "unlock":
        account.locked_until, account.failed_logins = None, 0
    elif action == "role" and role in ROLES:
        account.role = role
    elif action == "deactivate" and account.id != acting_id:
        account.active = False  # their codes stop working too (link_line takes active accounts only)
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


# --------------------------------------------------------------------------- the staff member's own LINE account

# A staff member links their own LINE account (test sends of broadcasts go there) as members do: the console shows
# a one-time code, they send it to the bot. Its shape cannot be taken for a member's link code: "S" and 6 digits
# (S-482913), 7 characters, where a member's code is 8 letters and digits (members.service.looks_like_code). Only
# digits after the S: the easiest to type on a phone. A code works once, for 30 minutes, and a new one voids the
# one before. Guessing is what the members' lock-out stops: wrong codes of either kind count together (five in ten
# minutes lock that LINE user out for a while), so a million codes, one or two open at a time for minutes, are out
# of reach. Only the code's hash is stored (a hash of six digits hides nothing from someone who reads the database:
# what protects a code is its half hour and its single use); the code itself is sealed for the browser session that
# issued it (a key derived from its cookie, which the database does not hold), so that page shows it again after a
# reload, and only there.
LINE_CODE_TTL = dt.timedelta(minutes=30)
LINE_CODE_DIGITS = 6
LINE_CODE_KEEP = dt.timedelta(days=1)  # used, replaced and expired codes are kept this long (to answer precisely)
_LINE_CODE_SHAPE = re.compile(r"^(?:職員|しょくいん)?[:：\s]*S[-ー－‐−\s]*([0-9]{3})[-ー－‐−\s]*([0-9]{3})$")


def format_line_code(digits: str) -> str:
    return f"S-{digits}"


def looks_like_staff_code(text: str) -> str | None:
    """The six digits of a staff member's code in a typed message (S-482913; full-width, lower case, spaces and
    hyphens allowed), or None."""
    folded = unicodedata.normalize("NFKC", text).strip().upper()
    match = _LINE_CODE_SHAPE.match(folded)
    return match.group(1) + match.group(2) if match else None


def _line_code_hash(digits: str) -> str:
    return hashlib.sha256(f"staff-line:{digits}".encode("ascii")).hexdigest()


def _seal_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"minato staff line code", hashlib.sha256).digest()


def _pad(key: bytes, code_id: int) -> bytes:
    return hmac.new(key, f"pad:{code_id}".encode(), hashlib.sha256).digest()[:LINE_CODE_DIGITS]


def _xor(data: bytes, pad: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, pad, strict=True))


@dataclass
class LineCode:
    code: str  # S-482913
    expires_at: dt.datetime


def issue_line_code(work: Work, account: StaffAccount, *, staff_session_id: int, secret: str) -> LineCode:
    """A new one-time code for this staff member's own LINE account; their older unused codes stop working. The
    audit line says so (never the code)."""
    session, now = work.session, clock.now()
    session.execute(delete(StaffLineCode).where(StaffLineCode.created_at < now - LINE_CODE_KEEP))
    session.execute(update(StaffLineCode).where(
        StaffLineCode.staff_id == account.id, StaffLineCode.used_at.is_(None), StaffLineCode.replaced_at.is_(None))
        .values(replaced_at=now))
    while True:
        digits = "".join(secrets.choice("0123456789") for _ in range(LINE_CODE_DIGITS))
        taken = session.scalar(select(StaffLineCode.id).where(StaffLineCode.code_hash == _line_code_hash(digits)))
        if taken is None:
            break
    row = StaffLineCode(staff_id=account.id, code_hash=_line_code_hash(digits), staff_session_id=staff_session_id,
                        expires_at=now + LINE_CODE_TTL, created_at=now)
    session.add(row)
    session.flush()
    row.sealed = _xor(digits.encode("ascii"), _pad(_seal_key(secret), row.id)).hex()
    session.flush()
    work.audit("staff.line_code", f"staff:{account.id}",
               f"{account.name}（有効期限 {clock.format_jst(row.expires_at)}）")
    return LineCode(format_line_code(digits), row.expires_at)


def shown_line_code(session: Session, account: StaffAccount, *, staff_session_id: int, secret: str
                    ) -> LineCode | None:
    """The code this browser session issued, while it still works (not used, replaced or expired); reading it
    issues nothing. None in another browser or log-in."""
    row = session.scalars(select(StaffLineCode).where(
        StaffLineCode.staff_id == account.id, StaffLineCode.staff_session_id == staff_session_id,
        StaffLineCode.used_at.is_(None), StaffLineCode.replaced_at.is_(None),
        StaffLineCode.expires_at > clock.now()).order_by(StaffLineCode.id.desc()).limit(1)).first()
    if row is None or not row.sealed:
        return None
    digits = _xor(bytes.fromhex(row.sealed), _pad(_seal_key(secret), row.id)).decode("ascii", "replace")
    if not hmac.compare_digest(_line_code_hash(digits), row.code_hash):
        return None  # sealed for another cookie
    return LineCode(format_line_code(digits), row.expires_at)


@dataclass
class LineLinkResult:
    status: str  # linked | already | invalid | expired | used | replaced | locked
    account: StaffAccount | None = None


def link_line(work: Work, *, user: User, digits: str) -> LineLinkResult:
    """Link the LINE user who sent this code to the staff account it was issued for: their test sends go there. A
    wrong code counts towards the same lock-out as members' link codes."""
    session, now = work.session, clock.now()
    if members.is_locked(session, line_user_id=user.line_user_id):
        return LineLinkResult("locked")
    row = session.scalars(select(StaffLineCode).where(
        StaffLineCode.code_hash == _line_code_hash(digits)).with_for_update()).one_or_none()
    account = session.get(StaffAccount, row.staff_id) if row is not None else None
    if row is not None and account is not None and row.used_at is not None and account.user_id == user.id:
        return LineLinkResult("already", account)  # sent twice: it worked the first time
    status = ("invalid" if row is None or account is None or not account.active else
              "used" if row.used_at is not None else
              "replaced" if row.replaced_at is not None else
              "expired" if row.expires_at <= now else "linked")
    if status != "linked":
        session.add(LinkAttempt(line_user_id=user.line_user_id, at=now))
        return LineLinkResult(status, account if status != "invalid" else None)
    assert row is not None and account is not None
    row.used_at = now
    account.user_id, account.line_linked_at = user.id, now
    session.flush()
    work.audit("staff.line_link", f"staff:{account.id}", account.name)
    return LineLinkResult("linked", account)


def unlink_line(work: Work, account: StaffAccount) -> None:
    """The staff member's LINE no longer gets their test sends (a new code links it, or another one): they unlink
    their own, an admin anyone's (someone who left, or lost their phone). The audit line's actor says who."""
    if account.user_id is None:
        return
    account.user_id, account.line_linked_at = None, None
    session = work.session
    session.flush()
    work.audit("staff.line_unlink", f"staff:{account.id}", account.name)


def own_line(session: Session, account_id: int) -> User | None:
    """The LINE account a staff member linked (test sends go there), if any."""
    account = session.get(StaffAccount, account_id)
    return session.get(User, account.user_id) if account is not None and account.user_id else None
