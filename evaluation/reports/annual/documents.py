"""The annual pack as files: a PDF (through the one PDF writer) and an editable Word document."""

from __future__ import annotations

import io

from django.conf import settings
from django.template.loader import render_to_string
from docx import Document
from docx.document import Document as WordDocument
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm, Pt

from bookings.files.pdf import html_to_pdf
from evaluation.reports.annual.figures import AnnualPack
from evaluation.reports.tables import Table

PDF_CONTENT_TYPE = "application/pdf"
DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
WIDE_TABLE_COLUMNS = 8  # wider tables get a landscape page


def pack_pdf(pack: AnnualPack) -> bytes:
    html = render_to_string(
        "evaluation/reports/annual/pack_pdf.html",
        {"pack": pack, "UNIT_NAME": settings.UNIT_NAME},
    )
    return html_to_pdf(html)


def _add_table(document: WordDocument, table: Table) -> None:
    document.add_paragraph(table.title, style="Heading 3")
    headers = table.header_cells()
    rows = table.display_rows() or []
    footer = table.display_footer()
    grid = document.add_table(rows=1, cols=len(headers))
    grid.style = "Table Grid"
    for cell, header in zip(grid.rows[0].cells, headers, strict=True):
        cell.text = header.words
        for run in cell.paragraphs[0].runs:
            run.bold = True
    if not rows:
        grid.add_row().cells[0].text = "None in this year."
    for row in [*rows, *footer]:
        cells = grid.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = value.text
            if value.numeric:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for row in grid.rows[len(rows) + 1 :] if footer else []:
        for cell in row.cells:
            for run in cell.paragraphs[0].runs:
                run.bold = True
    size = Pt(7) if len(headers) > WIDE_TABLE_COLUMNS else Pt(9)
    for row in grid.rows:
        for cell in row.cells:
            for run in cell.paragraphs[0].runs:
                run.font.size = size


def pack_docx(pack: AnnualPack) -> bytes:
    """The same sections as the PDF, with Word's own headings, lists and tables, so the board
    can edit the words before the section goes into the annual report."""
    document = Document()
    normal = document.styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(10)
    document.core_properties.title = pack.title
    document.core_properties.author = settings.UNIT_NAME
    document.add_heading(pack.title, level=1)
    document.add_paragraph(
        f"{settings.UNIT_NAME} · Financial year {pack.year_label} (1 April to 31 March), "
        f"compared with {pack.previous_label}"
    )
    for section in pack.sections:
        wide = any(len(table.headers) > WIDE_TABLE_COLUMNS for table in section.tables)
        if wide:
            page = document.add_section()
            page.orientation = WD_ORIENT.LANDSCAPE
            page.page_width, page.page_height = Mm(297), Mm(210)
        document.add_heading(section.title, level=2)
        for paragraph in section.paragraphs:
            document.add_paragraph(paragraph)
        for heading, items in section.lists:
            document.add_paragraph(heading, style="Heading 3")
            for item in items:
                document.add_paragraph(item, style="List Bullet")
        for table in section.tables:
            _add_table(document, table)
        if wide:
            page = document.add_section()
            page.orientation = WD_ORIENT.PORTRAIT
            page.page_width, page.page_height = Mm(210), Mm(297)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
