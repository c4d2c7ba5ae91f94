"""Importing members from a sheet: how an office starts (and later updates its list).

`read` takes the bytes of an .xlsx (openpyxl, read-only) or a .csv (UTF-8 with or without a BOM, Shift_JIS /
cp932 as Excel in Japanese saves it, or UTF-16 "Unicode text") with Japanese column headers (氏名, 部会, 任期, 電話,
メール, 連絡方法, and an optional ID; variants and full-width spaces are tolerated; a title row above the headers is
skipped). `plan` says what would change, row by row, and saves nothing: new members, members changed (matched by
the ID column, else by 氏名 and 部会), rows that change nothing, and errors with their row number (an unknown 部会,
a date that cannot be read...). `apply` plans again inside the caller's unit of work and, if nothing has changed
since the preview and there is no error, makes every change in that one transaction with one audit line naming
the members.

Blank cells change nothing; members missing from the sheet stay as they are (retiring is done in the list).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import json
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import clock
from bot.inputs import InputError, Refused, validate
from bot.sheets import Column, Table, file_name, xlsx_bytes
from bot.work import Work
from db.models import Member, Subcommittee
from members import service
from members.service import CONTACT_LABELS, ContactMethod, MemberInput

MAX_BYTES = 2 * 1024 * 1024
MAX_UNZIPPED = 40 * 1024 * 1024  # an .xlsx is a zip: refuse one that would unpack to more
MAX_ROWS = 1000
HEADER_SEARCH_ROWS = 10
FIELDS = ("id", "name", "subcommittee", "term_end", "phone", "email", "contact_method")
HEADERS = {  # the field of each column heading (folded by _heading)
    "id": ("id", "委員id", "委員番号", "管理番号"),
    "name": ("氏名", "名前", "お名前", "委員名", "委員氏名", "氏名漢字", "name"),
    "subcommittee": ("部会", "所属部会", "部会名", "所属"),
    "term_end": ("任期", "任期満了日", "任期満了", "任期の終わり", "任期終了", "任期終了日", "任期末", "任期まで"),
    "phone": ("電話", "電話番号", "tel", "携帯", "携帯電話", "携帯番号", "連絡先電話番号", "phone"),
    "email": ("メール", "メールアドレス", "email", "e-mail", "mail", "eメール", "電子メール"),
    "contact_method": ("連絡方法", "希望連絡方法", "連絡手段", "連絡の方法", "希望する連絡方法", "ご希望の連絡方法"),
}
_HEADING_FIELD = {alias: key for key, aliases in HEADERS.items() for alias in aliases}
CONTACT_WORDS = {
    ContactMethod.LINE: ("line", "ライン", "らいん"),
    ContactMethod.PHONE: ("電話", "でんわ", "tel", "phone", "携帯"),
    ContactMethod.PAPER: ("紙", "かみ", "郵送", "郵便", "手紙", "書面", "文書", "手渡し", "paper"),
}
_CONTACT = {word: method for method, words in CONTACT_WORDS.items() for word in words}
ERAS = {"令和": 2018, "r": 2018, "平成": 1988, "h": 1988}


class SheetError(Refused):
    """A file that cannot be read as a members' sheet; the message says why, in staff's words."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "file")


# --------------------------------------------------------------------------- reading


@dataclass
class SheetData:
    """What the file says: the columns found and each non-blank row as text (dates as 2027-03-31)."""

    filename: str
    columns: dict[str, str]  # field -> the heading as written
    ignored: list[str]  # headings of columns not used
    rows: list[tuple[int, dict[str, str]]]  # (row number in the file, field -> cell text; "" is blank)

    def to_json(self) -> str:
        """For the preview's form: what 「この内容で取り込む」 sends back to be planned again."""
        return json.dumps({"filename": self.filename, "columns": self.columns, "ignored": self.ignored,
                           "rows": [[n, cells] for n, cells in self.rows]}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> SheetData:
        """The preview's data back; anything malformed is refused (it came through a browser)."""
        try:
            raw = json.loads(text)
            rows = [(int(n), {str(k): str(v)[:1000] for k, v in dict(cells).items() if k in FIELDS})
                    for n, cells in raw["rows"]][:MAX_ROWS]
            columns = {str(k): str(v)[:100] for k, v in dict(raw["columns"]).items() if k in FIELDS}
            return cls(str(raw.get("filename", ""))[:200], columns, [str(h)[:100] for h in raw.get("ignored", [])],
                       rows)
        except (ValueError, TypeError, KeyError) as exc:
            raise SheetError("取り込む内容が読めません。もう一度ファイルを選んでください") from exc


def _heading(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).lower()
    folded = re.sub(r"\(.*?\)|\[.*?\]|【.*?】|〔.*?〕|<.*?>", "", folded)  # 任期（終了日）, 電話番号(自宅)
    return re.sub(r"[\s*※:：・_]+|必須|任意", "", folded)


def field_of(heading: str) -> str | None:
    """The field a column heading means, or None (氏名, 氏　名, お名前, 任期満了日, 電話番号（携帯）, E-mail...)."""
    folded = _heading(heading)
    if folded in _HEADING_FIELD:
        return _HEADING_FIELD[folded]
    for stem, key in (("任期", "term_end"), ("電話", "phone"), ("メール", "email"), ("連絡方法", "contact_method")):
        if folded.startswith(stem):
            return key
    return None


def read(filename: str, data: bytes) -> SheetData:
    """The members' sheet in an .xlsx or .csv file (told apart by their content, not by the name)."""
    if not data.strip():
        raise SheetError("ファイルが空です")
    if len(data) > MAX_BYTES:
        raise SheetError(f"ファイルが大きすぎます（{MAX_BYTES // 1024 // 1024}MBまで）")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise SheetError("古いExcelの形式（.xls）は読めません。Excelで「.xlsx」か「CSV」の形式で保存し直してください")
    table = _xlsx_rows(data) if data.startswith(b"PK\x03\x04") else _csv_rows(data)
    return _sheet(filename, table)


def _xlsx_rows(data: bytes) -> list[list[Any]]:
    import openpyxl  # only when an Excel file is imported
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED:
                raise SheetError("Excelファイルの中身が大きすぎます")
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except SheetError:
        raise
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise SheetError("Excelファイル（.xlsx）として読めません。ファイルを確かめてください") from exc
    try:
        sheet = book.active if book.active is not None else book.worksheets[0]
        rows: list[list[Any]] = []
        for row in sheet.iter_rows(values_only=True):
            rows.append(list(row))
            if len(rows) > MAX_ROWS + HEADER_SEARCH_ROWS:
                raise SheetError(f"行が多すぎます（{MAX_ROWS}行まで）")
        return rows
    finally:
        book.close()


def _decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932")  # Shift_JIS, as Excel in Japanese saves CSV
    except UnicodeDecodeError:
        raise SheetError("文字コードが読めません。UTF-8 か Shift_JIS の CSV にしてください") from None


def _csv_rows(data: bytes) -> list[list[Any]]:
    text = _decode(data)
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    rows = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            rows.append(list(row))
            if len(rows) > MAX_ROWS + HEADER_SEARCH_ROWS:
                raise SheetError(f"行が多すぎます（{MAX_ROWS}行まで）")
    except csv.Error as exc:
        raise SheetError("CSVとして読めません。ファイルを確かめてください") from exc
    return rows


def _cell(value: Any, key: str) -> str:
    """A cell as text: dates as 2027-03-31; a phone number Excel stored as a number gets its leading 0 back."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if key == "phone":
            return str(value) if str(value).startswith("0") else "0" + str(value)
        if key == "term_end" and 20_000 < value < 80_000:  # an Excel date serial shown as a number
            return (dt.date(1899, 12, 30) + dt.timedelta(days=value)).isoformat()
    return str(value).replace("\x00", "").strip()


def _sheet(filename: str, table: list[list[Any]]) -> SheetData:
    headings = [[field_of(str(v)) if v is not None else None for v in row] for row in table[:HEADER_SEARCH_ROWS]]
    index = next((i for i, fields in enumerate(headings) if "name" in fields), None)
    if index is None:
        raise SheetError("見出しの行が見つかりません。1行目に「氏名」「部会」「任期」などの見出しを入れてください")
    fields, row = headings[index], table[index]
    columns: dict[str, str] = {}
    where: dict[str, int] = {}
    ignored: list[str] = []
    for position, (key, heading) in enumerate(zip(fields, row, strict=True)):
        text = str(heading).strip() if heading is not None else ""
        if key is None or key in columns:
            if text:
                ignored.append(text)
            continue
        columns[key], where[key] = text, position
    rows = []
    for number, cells in enumerate(table[index + 1:], start=index + 2):
        values = {key: _cell(cells[pos] if pos < len(cells) else None, key) for key, pos in where.items()}
        if any(values.values()):
            rows.append((number, values))
    if not rows:
        raise SheetError("見出しの下に委員の行がありません")
    if len(rows) > MAX_ROWS:
        raise SheetError(f"行が多すぎます（{MAX_ROWS}行まで）")
    return SheetData(filename, columns, ignored, rows)


# --------------------------------------------------------------------------- values


def parse_date(text: str) -> dt.date:
    """2027-03-31, 2027/3/31, 2027.3.31, 2027年3月31日, 令和9年3月31日, R9.3.31, an Excel serial (46477)."""
    folded = unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "").replace("元年", "1年")
    if re.fullmatch(r"\d{5}", folded):
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(folded))
    match = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[t\s]?\d{1,2}:\d{2}(?::\d{2})?)?", folded)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = re.fullmatch(r"(令和|平成|r|h)\.?(\d{1,2})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", folded)
        if not match:
            raise ValueError(text)
        year, month, day = ERAS[match.group(1)] + int(match.group(2)), int(match.group(3)), int(match.group(4))
    return dt.date(year, month, day)


def parse_contact(text: str) -> ContactMethod:
    folded = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).lower())
    for method in ContactMethod:
        if folded == method.value or folded == CONTACT_LABELS[method].lower():
            return method
    if folded in _CONTACT:
        return _CONTACT[folded]
    raise ValueError(text)


def _shown(key: str, value: Any) -> str:
    if value is None or value == "":
        return "（なし）"
    if key == "term_end":
        return clock.format_date(value)
    if key == "contact_method":
        return CONTACT_LABELS[ContactMethod(value)]
    return str(value)


# --------------------------------------------------------------------------- planning


@dataclass
class PlannedRow:
    number: int  # the row in the file
    action: str  # new | change | same | error
    name: str
    subcommittee: str | None
    member_id: int | None = None
    changes: list[str] = field(default_factory=list)  # 任期: 2026年3月31日 → 2027年3月31日
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # the MemberInput fields to set

    @property
    def label(self) -> str:
        return {"new": "新規", "change": "変更", "same": "変更なし", "error": "エラー"}[self.action]


@dataclass
class Plan:
    sheet: SheetData
    rows: list[PlannedRow]

    def of(self, action: str) -> list[PlannedRow]:
        return [r for r in self.rows if r.action == action]

    @property
    def ok(self) -> bool:
        """Nothing wrong, and something to do."""
        return not self.of("error") and bool(self.of("new") or self.of("change"))

    @property
    def digest(self) -> str:
        """What the preview showed, in short: applying refuses when planning again gives something else."""
        shape = [[r.number, r.action, r.member_id, {k: str(v) for k, v in sorted(r.values.items())}]
                 for r in self.rows]
        return hashlib.sha256(json.dumps(shape, ensure_ascii=False).encode()).hexdigest()[:32]


def _person(name: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name))


def plan(session: Session, sheet: SheetData) -> Plan:
    """What importing the sheet would do, row by row; nothing is saved."""
    subs = list(session.scalars(select(Subcommittee).order_by(Subcommittee.id)))
    active_names = [s.name for s in subs if s.active]
    members = list(session.scalars(select(Member).order_by(Member.id)))
    by_id = {m.id: m for m in members}
    sub_names = {s.id: s.name for s in subs}
    seen: dict[Any, int] = {}
    rows = []
    for number, cells in sheet.rows:
        row = _plan_row(session, number, cells, subs, active_names, members, by_id, sub_names)
        key = row.member_id if row.member_id is not None else (_person(row.name), row.subcommittee)
        if row.name and key in seen:
            row.errors.append(f"{seen[key]}行目と同じ委員です（1人1行にしてください）")
        seen.setdefault(key, number)
        if row.errors:
            row.action, row.values = "error", {}
        rows.append(row)
    return Plan(sheet, rows)


def _plan_row(session: Session, number: int, cells: dict[str, str], subs: list[Subcommittee],
              active_names: list[str], members: list[Member], by_id: dict[int, Member],
              sub_names: dict[int, str]) -> PlannedRow:
    name = service.clean_name(cells.get("name", ""))
    row = PlannedRow(number, "new", name, None)
    if not name:
        row.errors.append("氏名がありません")
    given: dict[str, Any] = {}
    sub_text = service.clean_name(cells.get("subcommittee", ""))
    sub: Subcommittee | None = None
    if sub_text:
        sub = next((s for s in subs if s.name == sub_text), None) or next(
            (s for s in subs if s.active and service.fold(s.name) == service.fold(sub_text)), None)
        if sub is None:
            known = "、".join(active_names) or "まだありません"
            row.errors.append(f"部会「{sub_text}」はありません（ある部会: {known}）")
        elif not sub.active:
            row.errors.append(f"部会「{sub.name}」は廃止されています")
        else:
            if sub.name != sub_text:
                row.notes.append(f"「{sub_text}」は「{sub.name}」として取り込みます")
            given["subcommittee"] = sub.name
    row.subcommittee = sub.name if sub is not None else (sub_text or None)
    if cells.get("term_end"):
        try:
            given["term_end"] = parse_date(cells["term_end"])
        except ValueError:
            row.errors.append(f"任期「{cells['term_end']}」の日付が読めません（例: 2027年3月31日）")
    for key in ("phone", "email"):
        if cells.get(key):
            given[key] = cells[key]
    if cells.get("contact_method"):
        try:
            given["contact_method"] = parse_contact(cells["contact_method"]).value
        except ValueError:
            row.errors.append(f"連絡方法「{cells['contact_method']}」は「LINE」「電話」「紙」のどれかにしてください")

    member: Member | None = None
    if cells.get("id"):
        ident = unicodedata.normalize("NFKC", cells["id"]).strip()
        member = by_id.get(int(ident)) if ident.isdigit() else None
        if member is None:
            row.errors.append(f"ID「{cells['id']}」の委員はいません")
        elif not member.active:
            row.errors.append(f"ID {member.id} の{member.name}さんは退任しています")
            member = None
    elif name and not (sub_text and sub is None):
        same = [m for m in members if m.active and _person(m.name) == _person(name)
                and m.subcommittee_id == (sub.id if sub else None)]
        if len(same) > 1:
            row.errors.append("同じ氏名・部会の委員が複数います。ID の列で指定してください")
        member = same[0] if len(same) == 1 else None
        if member is None and not same:
            elsewhere = [sub_names.get(m.subcommittee_id or 0, "部会なし") for m in members
                         if m.active and _person(m.name) == _person(name)]
            if elsewhere:
                row.notes.append(f"同じ氏名の委員が「{'、'.join(elsewhere)}」にいます。部会を変えるときは ID の列で"
                                 "指定してください（このままでは別の委員として登録します）")
    if row.errors:
        return row
    if member is None:
        row.values = {"name": name, **given}
        try:
            validate(MemberInput, row.values)
        except InputError as exc:
            row.errors.append(exc.japanese())
        return row

    row.member_id = member.id
    before = service.current(session, member)
    if cells.get("id") and name:
        given["name"] = name
    try:
        after = validate(MemberInput, {**before, **given}).model_dump(mode="json")
    except InputError as exc:
        row.errors.append(exc.japanese())
        return row
    for key, label in service.FIELD_LABELS.items():
        old = before[key].isoformat() if isinstance(before[key], dt.date) else before[key]
        if key in given and after[key] != old:
            row.values[key] = given[key]
            new_value = dt.date.fromisoformat(after[key]) if key == "term_end" else after[key]
            row.changes.append(f"{label}: {_shown(key, before[key])} → {_shown(key, new_value)}")
    row.action = "change" if row.values else "same"
    row.name = member.name if "name" not in row.values else name
    return row


# --------------------------------------------------------------------------- applying


class PlanChanged(Refused):
    """The members changed between the preview and 「この内容で取り込む」: the new plan is to be shown again."""

    def __init__(self, new_plan: Plan) -> None:
        super().__init__("プレビューのあとで委員の情報が変わりました。内容を確かめて、もう一度「この内容で取り込む」を"
                         "押してください")
        self.plan = new_plan


def apply(work: Work, sheet: SheetData, *, expected: str) -> Plan:
    """Make the changes the preview showed, in the caller's one transaction, with one audit line naming the
    members. Refused (nothing changes) when the sheet has errors or planning again differs from the preview."""
    session = work.session
    result = plan(session, sheet)
    if result.digest != expected:
        raise PlanChanged(result)
    if not result.ok:
        raise Refused("エラーのある行を直してから、もう一度ファイルを選んでください" if result.of("error")
                      else "取り込む変更がありません")
    for row in result.of("new"):
        row.member_id = service.add_member(session, validate(MemberInput, row.values)).id
    for row in result.of("change"):
        member = session.get(Member, row.member_id)
        assert member is not None
        service.change_member(session, member, row.values)
    new, changed = result.of("new"), result.of("change")
    parts = []
    if new:
        parts.append(f"新規{len(new)}人（{'、'.join(r.name for r in new)}）")
    if changed:
        parts.append(f"変更{len(changed)}人（{'、'.join(r.name for r in changed)}）")
    work.audit("member.import", sheet.filename[:100] or None, f"名簿の取り込み: {'・'.join(parts)}")
    return result


def export_csv(session: Session) -> bytes:
    """The active members as a sheet `read` takes back (with the ID column, so a 部会 can be changed by it);
    UTF-8 with a BOM, so Excel opens it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["ID", "氏名", "部会", "任期", "電話", "メール", "連絡方法"])
    for member, sub in session.execute(service.with_subcommittees().order_by(Member.id)):
        writer.writerow([member.id, member.name, sub or "", member.term_end.isoformat() if member.term_end else "",
                         member.phone or "", member.email or "",
                         CONTACT_LABELS[ContactMethod(member.contact_method)] if member.contact_method else ""])
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


# --------------------------------------------------------------------------- the list as a workbook


def members_table(session: Session) -> Table:
    """Serving (active) members by 部会 (those without one last), then in the order they were registered: name,
    部会, term, whether and when their LINE account is linked. No link code is in it (only hashes are stored)."""
    columns = [Column("番号", 7), Column("名前"), Column("部会"), Column("任期", 12), Column("電話", 14),
               Column("メール"), Column("連絡方法", 10), Column("LINE連携"), Column("連携日時", 18),
               Column("登録日時", 18)]
    rows = session.execute(
        select(Member, Subcommittee.name).outerjoin(Subcommittee, Subcommittee.id == Member.subcommittee_id)
        .where(Member.active.is_(True)).order_by(Subcommittee.name.is_(None), Subcommittee.name, Member.id))
    return Table("委員", columns, [
        [member.id, member.name, subcommittee or "", member.term_end, member.phone or "", member.email or "",
         CONTACT_LABELS.get(member.contact_method or "", ""), "連携済み" if member.user_id else "未連携",
         member.linked_at if member.user_id else None, member.created_at] for member, subcommittee in rows])


def members_xlsx(session: Session) -> bytes:
    """The members' list as a workbook (the console's 名簿をダウンロード（Excel）)."""
    return xlsx_bytes([members_table(session)], "委員名簿")


def members_export_name(ext: str = "xlsx") -> tuple[str, str]:
    """(委員名簿_2026-12-02.xlsx, members-2026-12-02.xlsx): the day of the export (JST)."""
    day = clock.today_jst().isoformat()
    return file_name("委員名簿", day, ext=ext), f"members-{day}.{ext}"
