"""The printable sheet of link codes: issuing codes is one action; showing or printing its sheet issues nothing.

Codes are stored hashed (members.service): their plaintext exists only when they are made. To show the sheet again
(a reload, a second print, the printer jammed) the plaintext is kept for the print session only, and sealed:

- each code is XORed with a pad HMAC-SHA256(k, "pad:<sheet id>:<member id>") (a pseudo-random function used
  once per code: a stream cipher built from the standard library's HMAC), where k is derived from the secret the
  console gives: the issuing browser's session cookie. The database never holds that cookie (only its hash), so
  the row alone (a backup, a look into the database) reveals no code, and the sheet's URL opens nothing in
  another browser or log-in;
- the row belongs to the staff session that made it (ON DELETE CASCADE: logging out deletes it) and is refused
  after SHEET_TTL (expired rows are deleted when the next sheet is made);
- opening the sheet checks each code against the stored hashes: a code that has been used, has expired or was
  replaced by a newer one since is marked so, never shown as if it still worked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot import clock
from bot.work import Work
from db.models import LinkCode, LinkCodeSheet, Member
from members import service

SHEET_TTL = dt.timedelta(hours=12)  # a console session lasts as long
STATUS_LABELS = {"valid": "使えます", "used": "使用済みです（登録が済んでいます）", "expired": "有効期限が切れています",
                 "replaced": "使えません（あとで新しいコードを発行しました）", "retired": "使えません（退任しました）"}


@dataclass
class SheetEntry:
    member_id: int
    name: str
    subcommittee: str | None
    code: str  # AB3D-EF7H
    expires_at: dt.datetime
    status: str  # valid | used | expired | replaced | retired

    @property
    def usable(self) -> bool:
        return self.status == "valid"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass
class Sheet:
    id: str
    created_at: dt.datetime
    expires_at: dt.datetime
    entries: list[SheetEntry]


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"minato link-code sheet", hashlib.sha256).digest()


def _check(key: bytes, sheet_id: str) -> str:
    return hmac.new(key, f"check:{sheet_id}".encode(), hashlib.sha256).hexdigest()


def _pad(key: bytes, sheet_id: str, member_id: int) -> bytes:
    return hmac.new(key, f"pad:{sheet_id}:{member_id}".encode(), hashlib.sha256).digest()[:service.CODE_LENGTH]


def _xor(data: bytes, pad: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, pad, strict=True))


def issue(work: Work, members: list[Member], *, staff_session_id: int, secret: str) -> str:
    """New codes for these members (service.issue_link_codes: older unused ones stop working; the audit line
    names them), kept sealed on a sheet; returns the sheet's id (for its URL)."""
    session, now = work.session, clock.now()
    session.execute(delete(LinkCodeSheet).where(LinkCodeSheet.expires_at <= now))
    issued = service.issue_link_codes(work, members)
    sheet_id, key = secrets.token_urlsafe(16), _key(secret)
    entries = [{"member_id": member.id,
                "sealed": _xor(code.replace("-", "").encode("ascii"), _pad(key, sheet_id, member.id)).hex(),
                "expires_at": expires_at.isoformat()}
               for member, code, expires_at in issued]
    session.add(LinkCodeSheet(id=sheet_id, staff_session_id=staff_session_id, key_check=_check(key, sheet_id),
                              entries=entries, expires_at=now + SHEET_TTL))
    session.flush()
    return sheet_id


def open_sheet(session: Session, sheet_id: str, *, staff_session_id: int, secret: str) -> Sheet | None:
    """The sheet, if it exists, has not expired and was made in this log-in; None otherwise. Reading it issues
    nothing and changes nothing."""
    row = session.get(LinkCodeSheet, sheet_id[:32])
    key = _key(secret)
    if (row is None or row.expires_at <= clock.now() or row.staff_session_id != staff_session_id
            or not hmac.compare_digest(row.key_check, _check(key, row.id))):
        return None
    ids = [int(e["member_id"]) for e in row.entries]
    people = {m.id: (m, name) for m, name in session.execute(service.with_subcommittees(
        select(Member).where(Member.id.in_(ids))))}
    codes = {c.code_hash: c for c in session.scalars(select(LinkCode).where(LinkCode.member_id.in_(ids)))}
    now, entries = clock.now(), []
    for entry in row.entries:
        member_id = int(entry["member_id"])
        if member_id not in people:
            continue  # the member was deleted
        member, subcommittee = people[member_id]
        code = _xor(bytes.fromhex(entry["sealed"]), _pad(key, row.id, member_id)).decode("ascii", "replace")
        stored = codes.get(service.code_hash(code))
        expires_at = dt.datetime.fromisoformat(entry["expires_at"])
        if not member.active:
            status = "retired"
        elif stored is None or stored.member_id != member_id:
            status = "replaced"
        elif stored.used_at is not None:
            status = "used"
        elif stored.expires_at <= now:
            status = "expired"
        else:
            status = "valid"
        entries.append(SheetEntry(member_id, member.name, subcommittee, service.format_code(code), expires_at,
                                  status))
    return Sheet(row.id, row.created_at, row.expires_at, entries)
