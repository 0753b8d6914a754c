"""Spreadsheet exports (CSV and Excel) that a spreadsheet cannot be tricked into running.

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as
a formula by Excel, LibreOffice and Google Sheets ("CSV injection"): an attendee who calls
themself ``=HYPERLINK(...)`` would otherwise run code on the administrator's machine. Every
text cell of every export goes through :func:`safe_cell`, which puts an apostrophe in front,
the convention spreadsheets themselves use for "this is text". Numbers, dates and booleans are
left alone, so a negative amount stays a number (and so does the text of a plain number, such as
"-65.00", which is all the admin's exports hand over).

The Django admin's django-import-export downloads use the same writer: :class:`SafeCSV` and
:class:`SafeXLSX` are its export formats, named once in ``settings.EXPORT_FORMATS`` so that every
admin (training's too, which may not import bookings) exports through them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from django.http import HttpResponse
from django.utils import timezone
from import_export.formats import base_formats
from tablib import Dataset

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet.worksheet import Worksheet

DANGEROUS_FIRST_CHARACTERS = ("=", "+", "-", "@", "\t", "\r")

# A cell that is nothing but a number cannot hold a formula, whatever its sign.
PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value: Any) -> Any:
    """The value made safe for a spreadsheet cell (text only; other types pass through)."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float | Decimal | dt.date | dt.datetime | dt.time):
        return value
    text = str(value)
    if text.startswith(DANGEROUS_FIRST_CHARACTERS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _plain(value: Any) -> Any:
    """Timezone-aware datetimes in local time without tzinfo: Excel cannot store offsets."""
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        return timezone.localtime(value).replace(tzinfo=None)
    return value


def rows_to_csv(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A UTF-8 CSV with a byte-order mark, so Excel reads accented names correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(header) for header in headers])
    for row in rows:
        cells = []
        for value in row:
            value = _plain(safe_cell(value))
            if isinstance(value, dt.datetime):
                value = value.strftime("%Y-%m-%d %H:%M")
            cells.append(value)
        writer.writerow(cells)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def rows_to_xlsx(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str) -> bytes:
    """An Excel workbook with one sheet; every text cell is stored as text, never a formula."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    workbook = Workbook(write_only=False)
    # A new read-write workbook always has one (worksheet) sheet.
    sheet = cast("Worksheet", workbook.active)
    sheet.title = _sheet_title(title)
    sheet.append([safe_cell(header) for header in headers])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        values = [_plain(safe_cell(value)) for value in row]
        # Control characters make openpyxl refuse the whole workbook; they carry no meaning here.
        sheet.append(
            [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values]
        )
    for row_cells in sheet.iter_rows(min_row=2):
        for cell in row_cells:
            if isinstance(cell.value, str):
                # openpyxl would store "=…" as a formula; safe_cell already prefixed it, and the
                # explicit type keeps anything else that looks like a formula plain text.
                cell.data_type = "s"
            elif isinstance(cell.value, dt.datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
    for column in sheet.columns:
        width = max((len(str(cell.value or "")) for cell in column), default=8)
        first = cast("Cell", column[0])  # nothing here merges cells
        sheet.column_dimensions[first.column_letter].width = min(max(width + 2, 8), 60)
    sheet.freeze_panes = "A2"
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def _sheet_title(title: str) -> str:
    # Excel refuses these characters in sheet names and more than 31 characters.
    cleaned = "".join(" " if char in "[]:*?/\\" else char for char in title).strip()
    return (cleaned or "Export")[:31]


def spreadsheet_response(
    *,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    file_format: str,
    filename: str,
    title: str,
) -> HttpResponse:
    """A download of ``rows`` as ``csv`` or ``xlsx``; ``filename`` has no extension."""
    if file_format == "xlsx":
        content = rows_to_xlsx(headers, rows, title=title)
        content_type = XLSX_CONTENT_TYPE
    elif file_format == "csv":
        content = rows_to_csv(headers, rows)
        content_type = CSV_CONTENT_TYPE
    else:
        raise ValueError(f"Unknown export format {file_format!r}")
    response = HttpResponse(content, content_type=content_type)
    safe_name = "".join(char if char.isalnum() or char in "-_." else "-" for char in filename)
    response["Content-Disposition"] = f'attachment; filename="{safe_name}.{file_format}"'
    return response


# --- several tables in one file (the board's reports) ----------------------------------------

# One table of a multi-table export: its title, its header row and its rows.
Sheet = tuple[str, Sequence[str], Iterable[Sequence[Any]]]


def _csv_value(value: Any) -> Any:
    value = _plain(safe_cell(value))
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value


def _csv_table(headers: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([safe_cell(header) for header in headers])
    writer.writerows([_csv_value(value) for value in row] for row in rows)
    return buffer.getvalue()


def sheets_to_csv(sheets: Sequence[Sheet]) -> str:
    """Several tables as one CSV text (``\\n`` line ends, no byte-order mark): each after a line
    with its title, a blank line between them; a single table is written without its title."""
    if len(sheets) == 1:
        _title, headers, rows = sheets[0]
        return _csv_table(headers, rows)
    return "\n".join(
        _csv_table([title], []) + _csv_table(headers, rows) for title, headers, rows in sheets
    )


def sheets_to_xlsx(sheets: Sequence[Sheet], *, heading: str = "") -> bytes:
    """An Excel workbook with a sheet per table, each under ``heading`` when one is given;
    every text cell is stored as text, never a formula."""
    # openpyxl is imported only when a workbook is written: it is slow to import.
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    workbook = Workbook()
    workbook.remove(workbook.worksheets[0])
    used: set[str] = set()
    top = 1 if heading else 0
    for title, headers, rows in sheets:
        name, number = _sheet_title(title), 2
        while name in used:
            name = f"{_sheet_title(title)[:28]} {number}"
            number += 1
        used.add(name)
        sheet = workbook.create_sheet(name)
        if heading:
            sheet.append([safe_cell(heading)])
        sheet.append([safe_cell(header) for header in headers])
        for row_cells in sheet.iter_rows(max_row=top + 1):
            for cell in row_cells:
                cell.font = Font(bold=True)
        for row in rows:
            values = [_plain(safe_cell(value)) for value in row]
            # Control characters make openpyxl refuse the whole workbook.
            sheet.append(
                [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values]
            )
        for row_cells in sheet.iter_rows():
            for cell in row_cells:
                if isinstance(cell.value, str):
                    # Text stays text: openpyxl would otherwise store "=…" as a formula.
                    cell.data_type = "s"
                elif isinstance(cell.value, dt.datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
        for column in sheet.columns:
            width = max((len(str(cell.value or "")) for cell in column[top:]), default=8)
            sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 8), 50)
        sheet.freeze_panes = "B3" if heading else "A2"
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


# --- the admin's import-export downloads ------------------------------------------------------


class SafeCSV(base_formats.CSV):
    """django-import-export's CSV, written by :func:`rows_to_csv` (import is unchanged)."""

    def export_data(self, dataset: Dataset, **kwargs: Any) -> str:
        # A text format: the admin encodes the string itself; the byte-order mark stays.
        return rows_to_csv(dataset.headers or [], dataset).decode("utf-8")


class SafeXLSX(base_formats.XLSX):
    """django-import-export's XLSX, written by :func:`rows_to_xlsx` (import is unchanged)."""

    def export_data(self, dataset: Dataset, **kwargs: Any) -> bytes:
        # The admin hands every value over as text; a plain number goes back in as a number,
        # so totals can still be added up in Excel.
        rows = ([_number_or_text(value) for value in row] for row in dataset)
        return rows_to_xlsx(dataset.headers or [], rows, title=dataset.title or "Export")


def _number_or_text(value: Any) -> Any:
    if isinstance(value, str) and PLAIN_NUMBER.fullmatch(value):
        return Decimal(value)
    return value


ADMIN_EXPORT_FORMATS = [SafeCSV, SafeXLSX]
