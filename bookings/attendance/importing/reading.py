"""Reading a register file: CSV (its encoding found honestly) or XLSX, into a header and rows."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from bookings.attendance.importing.results import RegisterFileError


@dataclass
class RegisterTable:
    headers: list[str]
    rows: Iterable[Sequence[Any]]


def register_table_read(content: bytes | str, *, name: str = "") -> RegisterTable:
    """The header and rows of a CSV or XLSX file (bytes, or already-decoded CSV text)."""
    if isinstance(content, bytes) and (
        content[:4] == b"PK\x03\x04" or name.lower().endswith(".xlsx")
    ):
        return _xlsx_table(content)
    if name.lower().endswith(".xls") or (
        isinstance(content, bytes) and content[:4] == (b"\xd0\xcf\x11\xe0")
    ):
        raise RegisterFileError(
            "This is an old Excel (.xls) file. Save it as .xlsx or .csv and import that."
        )
    text = register_text_decode(content) if isinstance(content, bytes) else content
    text = text.removeprefix("\ufeff")
    nul = text.find("\x00")
    if nul >= 0:
        raise RegisterFileError(
            f"Line {_line_of(text, nul)} holds a NUL character (byte 0x00), which no register "
            "needs: the file is damaged or not a CSV file. Open it, save it again as CSV and "
            "import that."
        )
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        headers = next(reader)
    except StopIteration:
        raise RegisterFileError("The file is empty: it needs a header row.") from None
    except csv.Error as error:
        raise RegisterFileError(f"This file cannot be read as CSV: {error}.") from None
    return RegisterTable(headers=headers, rows=_csv_rows(reader))


# A character Windows-1252 leaves undefined; a file holding one is not Windows-1252 either.
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")
SAVE_AS_UTF8 = 'Save the file again as "CSV UTF-8" and import that.'


def register_text_decode(content: bytes) -> str:
    """A CSV file's text, read in one encoding for the whole file.

    UTF-8 with or without a byte-order mark; else, if no byte of the file is part of a UTF-8
    character, Windows-1252 (what Excel on Windows saves as plain "CSV"). A UTF-8 file with one
    stray Windows-1252 byte is refused rather than read as Windows-1252 throughout, which would
    turn every accented name into two wrong letters (Zoë into ZoÃ«) without a word.
    """
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise RegisterFileError(f"This file is UTF-16 text, not a CSV file. {SAVE_AS_UTF8}")
    skip = len(codecs.BOM_UTF8) if content.startswith(codecs.BOM_UTF8) else 0
    try:
        return content[skip:].decode("utf-8")
    except UnicodeDecodeError as error:
        failed_at = skip + error.start
    if skip or _UTF8_CHARACTER.search(content):
        # Parts of the file are UTF-8: the byte that is not cannot be guessed.
        raise RegisterFileError(
            f"{_where(content, failed_at)} is not UTF-8, though the file is otherwise "
            f"UTF-8, so its accented letters cannot be read for certain. {SAVE_AS_UTF8}"
        )
    undefined = next((i for i, byte in enumerate(content) if byte in _CP1252_UNDEFINED), None)
    if undefined is not None:
        raise RegisterFileError(
            f"{_where(content, undefined)} is neither UTF-8 nor Windows-1252, so the file's "
            f"encoding is unknown. {SAVE_AS_UTF8}"
        )
    return content.decode("cp1252")


# One multi-byte UTF-8 character. Windows-1252 text almost never holds one by chance (it would
# take a capital letter with an accent followed by a symbol such as £ or ©).
_UTF8_CHARACTER = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)


def _where(content: bytes, offset: int) -> str:
    """Line N, byte 0xXX (character C of the line): where a byte that fails is."""
    start = content.rfind(b"\n", 0, offset) + 1
    line = content.count(b"\n", 0, offset) + 1
    return f"Line {line}, byte 0x{content[offset]:02X} (byte {offset - start + 1} of the line)"


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _csv_rows(reader: Any) -> Iterator[list[str]]:
    try:
        yield from reader
    except csv.Error as error:
        raise RegisterFileError(
            f"This file cannot be read as CSV after line {reader.line_num}: {error}."
        ) from None


def _xlsx_table(content: bytes) -> RegisterTable:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises several types for a damaged file
        raise RegisterFileError(
            f"This file cannot be read as an Excel workbook ({error})."
        ) from None
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    headers = next(rows, None)
    if headers is None:
        raise RegisterFileError("The workbook's first sheet is empty: it needs a header row.")
    return RegisterTable(headers=["" if cell is None else str(cell) for cell in headers], rows=rows)


def register_file_read(path: str) -> RegisterTable:
    with open(path, "rb") as handle:
        return register_table_read(handle.read(), name=path)
