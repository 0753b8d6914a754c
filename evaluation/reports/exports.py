"""The reports' tables as CSV text and Excel workbooks, through the one spreadsheet writer,
and the download responses that carry them."""

from __future__ import annotations

from collections.abc import Sequence

from django.http import HttpRequest, HttpResponse

from bookings.files.spreadsheets import (
    CSV_CONTENT_TYPE,
    XLSX_CONTENT_TYPE,
    Sheet,
    sheets_to_csv,
    sheets_to_xlsx,
)
from evaluation.reports.periods import Period
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


def export_format(request: HttpRequest) -> str | None:
    value = request.GET.get("format")
    return value if value in {"csv", "xlsx"} else None


def download(
    tables: Sequence[Table], *, name: str, period: Period, file_format: str, heading: str
) -> HttpResponse:
    if file_format == "xlsx":
        response = HttpResponse(
            tables_xlsx(tables, heading=heading), content_type=XLSX_CONTENT_TYPE
        )
    else:
        # A byte-order mark, so Excel reads the file as UTF-8.
        response = HttpResponse(
            ("\ufeff" + tables_csv(tables)).encode("utf-8"), content_type=CSV_CONTENT_TYPE
        )
    response["Content-Disposition"] = f'attachment; filename="{name}-{period.slug}.{file_format}"'
    return response
