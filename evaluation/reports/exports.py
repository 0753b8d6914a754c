"""The reports' tables as CSV text and Excel workbooks, and as downloads."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from evaluation.reports.tables import Table


def _cell(value: Any) -> Any:
    from bookings.exports import safe_cell

    if value is None:
        return ""
    return safe_cell(value)


def table_csv(table: Table) -> str:
    """One table as CSV text: a header row, then the rows (``\\n`` line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([_cell(header) for header in table.headers])
    writer.writerows([_cell(value) for value in row] for row in table.all_rows())
    return buffer.getvalue()


def tables_csv(tables: Sequence[Table]) -> str:
    """Several tables in one CSV: each after a line with its title, a blank line between."""
    if len(tables) == 1:
        return table_csv(tables[0])
    parts = []
    for table in tables:
        title = io.StringIO()
        csv.writer(title, lineterminator="\n").writerow([_cell(table.title)])
        parts.append(title.getvalue() + table_csv(table))
    return "\n".join(parts)


def tables_xlsx(tables: Sequence[Table], *, heading: str) -> bytes:
    """An Excel workbook with a sheet per table; every text cell is stored as text."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    for table in tables:
        sheet = workbook.create_sheet(_sheet_title(table.title, used))
        sheet.append([_cell(heading)])
        sheet.append([_cell(header) for header in table.headers])
        for cell in sheet[1] + sheet[2]:
            cell.font = Font(bold=True)
        for row in table.all_rows():
            sheet.append([_cell(value) for value in row])
        for row_cells in sheet.iter_rows():
            for cell in row_cells:
                if isinstance(cell.value, str):
                    # Text stays text: openpyxl would otherwise store "=…" as a formula.
                    cell.data_type = "s"
        for column in sheet.columns:
            width = max((len(str(cell.value or "")) for cell in column[1:]), default=8)
            sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 8), 50)
        sheet.freeze_panes = "B3"
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def _sheet_title(title: str, used: set[str]) -> str:
    # Excel refuses []:*?/\ in sheet names, and more than 31 characters.
    cleaned = "".join(" " if char in "[]:*?/\\" else char for char in title).strip()[:31]
    candidate, number = cleaned or "Report", 2
    while candidate in used:
        candidate = f"{cleaned[:28]} {number}"
        number += 1
    used.add(candidate)
    return candidate
