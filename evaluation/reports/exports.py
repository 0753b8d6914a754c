"""The reports' tables as CSV text and Excel workbooks, through the one spreadsheet writer."""

from __future__ import annotations

from collections.abc import Sequence

from bookings.files.spreadsheets import Sheet, sheets_to_csv, sheets_to_xlsx
from evaluation.reports.tables import Table


def _sheet(table: Table) -> Sheet:
    # The words on the page head each column, never the field names behind them.
    return table.title, table.header_words(), table.all_rows()


def table_csv(table: Table) -> str:
    """One table as CSV text: a header row, then the rows (``\\n`` line ends)."""
    return sheets_to_csv([_sheet(table)])


def tables_csv(tables: Sequence[Table]) -> str:
    """Several tables in one CSV: each after a line with its title, a blank line between."""
    return sheets_to_csv([_sheet(table) for table in tables])


def tables_xlsx(tables: Sequence[Table], *, heading: str) -> bytes:
    """An Excel workbook with a sheet per table under the report's heading."""
    return sheets_to_xlsx([_sheet(table) for table in tables], heading=heading)
