"""Historical registers: years of spreadsheets of who came to what, brought into the system.

One service, :func:`registers_import`, used by ``manage.py import_registers`` and by the admin's
import (django-import-export's upload, preview and confirm). A file is a header row and one row
per place, with the columns in :data:`COLUMNS` (names case-insensitive, any order, extra
columns ignored). A file with any bad row imports nothing; every bad row is reported with its
line number (the row number a spreadsheet shows: the header is line 1).

What is created, and why so:

* Courses (kind "course"), venues, agencies and sessions that do not exist yet. A session is
  a course and a start time; its one part lasts a half or a full day by the course's length.
  A new session's register is created closed: the register it came from was closed long ago.
* People are **not** created as accounts. A place keeps the attendee's name and email, as every
  booking does; when the person already has an account it is linked, and when they sign up or
  sign in later the bookings app links these places to them (``bookings_claim_for_user``), so
  their training record appears. An inactive account per person would block them from ever
  signing up with their own email address.
* Each agency's places on a session form one Order whose reference starts ``HIST-``, paid
  ``free`` at £0: the money (if any) changed hands outside the system, so nothing here is
  owed, invoiced or refunded, and income reports are not inflated. Absences in historical
  registers are never charged (see ``bookings.attendance``).
* A place is identified by session and attendee email: a place already in the database is
  left exactly as it is, so importing the same file twice changes nothing the second time.
* Every imported booking gets its own audit entry (written in bulk), and the import itself one
  summary entry, so any place can be traced back to the file and line it came from.

Everything is written with ``bulk_create`` in batches after the whole file has been checked,
with every lookup fetched up front: 100,000 rows take seconds, not an afternoon.

A CSV file is read in one encoding for the whole file, the same for the command and the admin:
UTF-8 (with or without a byte-order mark), else Windows-1252 (what Excel on Windows saves as
"CSV"). A file that is neither (UTF-8 with a stray Windows-1252 byte, a byte Windows-1252 does
not define) is refused naming the line and the byte, as is a NUL byte: nothing is guessed.

The package, in the order an import runs: ``reading`` (files, encodings, rows), ``checking``
(each row's checks), ``planning`` (what exists, what to create), ``writing`` (the bulk writes
in one transaction); ``results`` holds the columns and the shapes they all share.
"""

from bookings.attendance.importing.checking import registers_check
from bookings.attendance.importing.reading import (
    RegisterTable,
    register_file_read,
    register_table_read,
    register_text_decode,
)
from bookings.attendance.importing.results import (
    BATCH_SIZE,
    COLUMNS,
    IMPORT_ACTION,
    PREVIEW_ROWS,
    STATUSES,
    ImportResult,
    Progress,
    RegisterFileError,
    RegisterRow,
    RowProblem,
)
from bookings.attendance.importing.writing import registers_import

__all__ = [
    "BATCH_SIZE",
    "COLUMNS",
    "IMPORT_ACTION",
    "PREVIEW_ROWS",
    "STATUSES",
    "ImportResult",
    "Progress",
    "RegisterFileError",
    "RegisterRow",
    "RegisterTable",
    "RowProblem",
    "register_file_read",
    "register_table_read",
    "register_text_decode",
    "registers_check",
    "registers_import",
]
