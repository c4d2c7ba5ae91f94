"""Spreadsheets staff download, written once as a Table and rendered to CSV or .xlsx (the two downloads of one
thing hold the same cells):

- CSV: UTF-8 with a BOM (so Excel reads Japanese), CRLF, dates and times as ``2026-12-02 07:22`` in JST (they sort
  as text); a text that Excel would take for a formula (``=``, ``+``, ``-``, ``@``) starts with ``'``.
- .xlsx (openpyxl): Japanese headers in bold, the header row frozen with a filter on it, widths that fit the
  content (wide characters count double), long texts wrapped, dates and times as real Excel datetimes in JST,
  texts always stored as text (never as a formula), printed landscape, one page wide, the header on every page.
- The download's name: RFC 5987 ``filename*`` for the Japanese name, with an ASCII ``filename`` for old clients.

The domains build their tables (surveys.results, opinions.service, members.importing).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from bot import clock

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TIME = "%Y-%m-%d %H:%M"
EXCEL_TIME = "yyyy-mm-dd hh:mm"
EXCEL_DATE = "yyyy-mm-dd"
MIN_WIDTH, MAX_WIDTH, WRAP_WIDTH = 6, 50, 60
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NOT_IN_FILE_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


@dataclass(frozen=True)
class Column:
    header: str
    width: float | None = None  # in Excel's character units; None: fitted to the header and the cells
    wrap: bool = False  # long text (free answers, opinions): wrapped in a capped width
    number_format: str | None = None  # e.g. "0.0" for a percentage


@dataclass
class Table:
    """One sheet: its name, columns and rows, and lines above the header (what the table is about: a title, a
    period), each a list of cells."""

    name: str
    columns: list[Column]
    rows: list[list[Any]]
    preamble: list[list[Any]] = field(default_factory=list)

    @property
    def header_row(self) -> int:
        """The header's row number (1-based): after the preamble and a blank line, if there is a preamble."""
        return len(self.preamble) + 2 if self.preamble else 1


# ---------------------------------------------------------------------------------------------- cells


def csv_time(moment: dt.datetime | None) -> str:
    """2026-12-02 07:22 (JST): how a time is written in a CSV (sorts as text, Excel reads it as a date)."""
    return moment.astimezone(clock.JST).strftime(CSV_TIME) if moment else ""


def excel_time(moment: dt.datetime) -> dt.datetime:
    """The moment as Excel keeps it: wall-clock time in JST, without a zone (Excel has none)."""
    return moment.astimezone(clock.JST).replace(tzinfo=None)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return csv_time(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value  # Excel would run it as a formula (a resident's text is not to be trusted with that)
    return value


def display_width(text: str) -> int:
    """How many narrow characters wide the text's longest line is (a wide character, 漢字 or ｶﾅ in full width,
    counts two)."""
    return max((sum(2 if unicodedata.east_asian_width(c) in "WFA" else 1 for c in line)
                for line in text.splitlines() or [""]), default=0)


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return csv_time(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# ---------------------------------------------------------------------------------------------- CSV


def csv_bytes(table: Table) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if table.preamble:
        writer.writerows([[_csv_cell(v) for v in row] for row in table.preamble])
        writer.writerow([])
    writer.writerow([c.header for c in table.columns])
    writer.writerows([[_csv_cell(v) for v in row] for row in table.rows])
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


# ---------------------------------------------------------------------------------------------- .xlsx


# openpyxl is imported when a workbook is written, not when the app starts (the web process rarely writes one).


def _sheet_name(name: str, taken: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", name).strip()[:31] or "Sheet"
    out, n = base, 2
    while out in taken:
        out = f"{base[:28]}({n})"
        n += 1
    taken.add(out)
    return out


def _put(ws: Any, row: int, column: int, value: Any, number_format: str | None = None) -> Any:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, dt.datetime):
        cell = ws.cell(row, column, excel_time(value) if value.tzinfo else value)
        cell.number_format = EXCEL_TIME
    elif isinstance(value, dt.date):
        cell = ws.cell(row, column, value)
        cell.number_format = EXCEL_DATE
    elif isinstance(value, str):
        cell = ws.cell(row, column)
        cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.data_type = "s"  # text as text: never a formula, whatever it starts with
    else:
        cell = ws.cell(row, column, value)
        if number_format and isinstance(value, (int, float)) and not isinstance(value, bool):
            cell.number_format = number_format
    return cell


def _add_sheet(wb: Any, table: Table, taken: set[str]) -> None:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    header_font, header_border = Font(bold=True), Border(bottom=Side(style="medium", color="000000"))
    header_fill = PatternFill("solid", fgColor="E8ECEF")  # light grey: a light tint in black and white too
    top_aligned, wrapped = Alignment(vertical="top"), Alignment(vertical="top", wrap_text=True)
    ws = wb.create_sheet(_sheet_name(table.name, taken))
    for r, line in enumerate(table.preamble, start=1):
        for c, value in enumerate(line, start=1):
            cell = _put(ws, r, c, value)
            cell.alignment = top_aligned
            if c == 1 or r == 1:
                cell.font = Font(bold=True, size=14 if r == 1 and c == 2 else 11)
    top = table.header_row
    for c, column in enumerate(table.columns, start=1):
        cell = _put(ws, top, c, column.header)
        cell.font, cell.fill, cell.border = header_font, header_fill, header_border
        cell.alignment = wrapped
    for r, line in enumerate(table.rows, start=top + 1):
        for c, value in enumerate(line, start=1):
            column = table.columns[c - 1] if c <= len(table.columns) else Column("")
            cell = _put(ws, r, c, value, column.number_format)
            cell.alignment = wrapped if column.wrap else top_aligned
    for c, column in enumerate(table.columns, start=1):
        ws.column_dimensions[get_column_letter(c)].width = _width(table, c - 1, column)
    last = get_column_letter(max(len(table.columns), 1))
    ws.freeze_panes = f"A{top + 1}"
    if table.rows:
        ws.auto_filter.ref = f"A{top}:{last}{top + len(table.rows)}"
    ws.print_title_rows = f"{top}:{top}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _width(table: Table, index: int, column: Column) -> float:
    if column.width is not None:
        return column.width
    cells = [_shown(row[index]) for row in table.rows if index < len(row)]
    # the preamble's long lines (a title) run over into the empty cells beside them: they do not widen a column
    widest = max([display_width(column.header), *map(display_width, cells)])
    return float(max(MIN_WIDTH, min(widest + 2, WRAP_WIDTH if column.wrap else MAX_WIDTH)))


def xlsx_bytes(tables: Sequence[Table], title: str = "") -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    taken: set[str] = set()
    for table in tables:
        _add_sheet(wb, table, taken)
    wb.properties.creator = "港区 区政会議 LINE"
    wb.properties.title = title or tables[0].name
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------- file names


def file_name(*parts: str, ext: str) -> str:
    """区政会議に関するアンケート_2026-12-01_集計.xlsx: the parts joined, without characters a file name cannot
    hold."""
    joined = "_".join(p for p in (_NOT_IN_FILE_NAMES.sub(" ", part).strip() for part in parts) if p)
    joined = re.sub(r"\s+", " ", joined)[:120].strip(" .") or "download"
    return f"{joined}.{ext}"


def disposition(name: str, fallback: str) -> str:
    """Content-Disposition for a download: the (Japanese) name as RFC 5987 filename*, an ASCII fallback for
    clients that read only filename."""
    ascii_name = re.sub(r'[^A-Za-z0-9._-]+', "-", fallback).strip("-") or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


# ---------------------------------------------------------------------------------------------- the members' list
