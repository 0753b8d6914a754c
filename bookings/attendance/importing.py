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
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify

from bookings.attendance.exports import REGISTER_COLUMNS
from bookings.attendance.registers import HISTORICAL_ORDER_PREFIX
from bookings.errors import BookingError
from bookings.models import (
    ZERO,
    Attendance,
    AuditEntry,
    Booking,
    BookingStatus,
    Order,
    PaymentMethod,
    Register,
)
from training.models import (
    Agency,
    Area,
    Course,
    CourseKind,
    Sector,
    Session,
    SessionPart,
    SessionStatus,
    Venue,
)

COLUMNS = REGISTER_COLUMNS  # the columns a register file needs (see attendance.exports)
STATUSES = ("attended", "absent", "cancelled")
DATE_FORMATS = ("%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M:%S")
MAX_LENGTHS = {
    "course_title": 200,
    "venue": 200,
    "attendee_name": 200,
    "agency": 200,
    "attendee_email": 254,
}
BATCH_SIZE = 2000
PREVIEW_ROWS = 100
IMPORT_ACTION = "imported from a historical register"

Progress = Callable[[str, int, int], None]


class RegisterFileError(BookingError):
    """The file itself cannot be read (not CSV or XLSX, or no header row)."""


@dataclass(frozen=True)
class RowProblem:
    """Why one line of the file cannot be imported."""

    line: int
    reason: str
    column: str = ""
    values: tuple[str, ...] = ()  # the row as read, in COLUMNS order, for the admin preview

    def __str__(self) -> str:
        return f"Line {self.line}: {self.reason}"


@dataclass
class RegisterRow:
    """One checked line: a place to create (or find already there)."""

    line: int
    values: tuple[str, ...]
    course_title: str
    starts_at: dt.datetime
    venue: str
    attendee_name: str
    attendee_email: str
    agency: str
    sector_id: int
    status: str


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would do)."""

    dry_run: bool
    rows: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    courses_created: int = 0
    venues_created: int = 0
    agencies_created: int = 0
    sessions_created: int = 0
    places_created: int = 0
    places_unchanged: int = 0
    preview: list[tuple[int, tuple[str, ...], bool]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.problems:
            lines = len({problem.line for problem in self.problems})
            return (
                f"Nothing was imported: {lines} line{'s' if lines != 1 else ''} of the file "
                f"need{'' if lines != 1 else 's'} correcting."
            )
        if not self.places_created:
            return (
                f"{self.rows} rows read. Nothing new to import: all {self.places_unchanged} "
                "places are already in the system."
            )
        verb = "Would create" if self.dry_run else "Created"
        return (
            f"{self.rows} rows read. {verb} {self.places_created} places, "
            f"{self.sessions_created} sessions, {self.courses_created} courses, "
            f"{self.venues_created} venues and {self.agencies_created} agencies; "
            f"{self.places_unchanged} places were already there and left unchanged."
        )


# --- reading files ------------------------------------------------------------------------------


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
    if isinstance(content, bytes):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Excel on Windows saves "CSV" in the Windows code page, not UTF-8.
            text = content.decode("cp1252", errors="replace")
    else:
        text = content.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        headers = next(reader)
    except StopIteration:
        raise RegisterFileError("The file is empty: it needs a header row.") from None
    except csv.Error as error:
        raise RegisterFileError(f"This file cannot be read as CSV: {error}.") from None
    return RegisterTable(headers=headers, rows=_csv_rows(reader))


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


# --- checking rows ------------------------------------------------------------------------------


def _normal_header(header: Any) -> str:
    return "_".join(str(header or "").replace("\ufeff", "").strip().lower().split())


def _normal_name(value: str) -> str:
    """Spreadsheets bring curly apostrophes and stray spaces; they do not make a new name."""
    return " ".join(value.replace("\u2019", "'").replace("\u2018", "'").split())


def _column_positions(headers: Sequence[Any]) -> tuple[dict[str, int], list[RowProblem]]:
    positions: dict[str, int] = {}
    problems = []
    for index, header in enumerate(headers):
        name = _normal_header(header)
        if name in COLUMNS:
            if name in positions:
                problems.append(RowProblem(1, f"The column {name} appears twice.", name))
            positions[name] = index
    missing = [name for name in COLUMNS if name not in positions]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        problems.append(
            RowProblem(
                1,
                f"The header row has no {', '.join(missing)} column{plural}. "
                f"The columns needed are: {', '.join(COLUMNS)}.",
            )
        )
    return positions, problems


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


class _Checker:
    """Checks rows one by one, caching the answers that repeat from row to row."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.zone = timezone.get_default_timezone()
        self.sectors = {
            _normal_name(name).lower(): pk for pk, name in Sector.objects.values_list("pk", "name")
        }
        self.sector_names = ", ".join(Sector.objects.values_list("name", flat=True))
        self.dates: dict[Any, dt.datetime | str] = {}
        self.emails: dict[str, str | None] = {}

    def when(self, raw: Any) -> dt.datetime | str:
        """The aware start time, or the reason it is not one."""
        key = raw.strip() if isinstance(raw, str) else raw
        if key in self.dates:
            return self.dates[key]
        aware: dt.datetime | None = None
        if isinstance(raw, dt.datetime):  # a date cell of a workbook
            aware = raw if raw.tzinfo is not None else timezone.make_aware(raw, self.zone)
        elif isinstance(raw, str):
            text = " ".join(raw.split())
            for pattern in DATE_FORMATS:
                try:
                    aware = timezone.make_aware(dt.datetime.strptime(text, pattern), self.zone)
                    break
                except ValueError:
                    continue
        answer: dt.datetime | str
        if aware is None:
            shown = _text(raw)
            answer = (
                "session_start is empty."
                if not shown
                else (
                    f"session_start '{shown}' is not a date and time like 2016-09-14 09:30 or "
                    "14/09/2016 09:30."
                )
            )
        elif aware > self.now:
            answer = (
                f"session_start {timezone.localtime(aware):%d/%m/%Y %H:%M} is in the future; "
                "only registers of sessions that have happened can be imported."
            )
        else:
            answer = aware
        self.dates[key] = answer
        return answer

    def email(self, raw: str) -> str | None:
        """The reason an address is not valid, or None."""
        if raw not in self.emails:
            try:
                validate_email(raw)
                self.emails[raw] = None
            except ValidationError:
                self.emails[raw] = f"attendee_email '{raw}' is not a valid email address."
        return self.emails[raw]

    def row(
        self, line: int, cells: Sequence[Any], positions: dict[str, int]
    ) -> RegisterRow | list[RowProblem]:
        raw = {
            name: (cells[index] if index < len(cells) else None)
            for name, index in positions.items()
        }
        values = tuple(_text(raw[name]) for name in COLUMNS)
        text = dict(zip(COLUMNS, values, strict=True))
        problems = []
        for name in (
            "course_title",
            "venue",
            "attendee_name",
            "attendee_email",
            "agency",
            "sector",
            "status",
        ):
            if not text[name]:
                problems.append(RowProblem(line, f"{name} is empty.", name, values))
            elif name in MAX_LENGTHS and len(text[name]) > MAX_LENGTHS[name]:
                problems.append(
                    RowProblem(
                        line, f"{name} is longer than {MAX_LENGTHS[name]} characters.", name, values
                    )
                )
        starts_at = self.when(raw["session_start"])
        if isinstance(starts_at, str):
            problems.append(RowProblem(line, starts_at, "session_start", values))
        email = text["attendee_email"].lower()
        if email and (reason := self.email(email)):
            problems.append(RowProblem(line, reason, "attendee_email", values))
        sector_id = self.sectors.get(_normal_name(text["sector"]).lower())
        if text["sector"] and sector_id is None:
            problems.append(
                RowProblem(
                    line,
                    f"sector '{text['sector']}' is not one of: {self.sector_names}.",
                    "sector",
                    values,
                )
            )
        status = text["status"].lower()
        if status and status not in STATUSES:
            problems.append(
                RowProblem(
                    line,
                    f"status '{text['status']}' is not attended, absent or cancelled.",
                    "status",
                    values,
                )
            )
        if problems:
            return problems
        assert isinstance(starts_at, dt.datetime) and sector_id is not None
        return RegisterRow(
            line=line,
            values=values,
            course_title=_normal_name(text["course_title"]),
            starts_at=starts_at,
            venue=_normal_name(text["venue"]),
            attendee_name=" ".join(text["attendee_name"].split()),
            attendee_email=email,
            agency=_normal_name(text["agency"]),
            sector_id=sector_id,
            status=status,
        )


def registers_check(
    table: RegisterTable,
    *,
    now: dt.datetime,
    progress: Progress | None = None,
    total: int = 0,
) -> tuple[list[RegisterRow], list[RowProblem], int]:
    """Every row of the file checked: the good rows, every problem with its line, and the
    number of (non-blank) rows read."""
    positions, problems = _column_positions(table.headers)
    if problems:
        return [], problems, 0
    checker = _Checker(now)
    good: list[RegisterRow] = []
    seen: dict[tuple[str, dt.datetime, str], int] = {}
    session_venue: dict[tuple[str, dt.datetime], tuple[str, int]] = {}
    count = 0
    for line, cells in enumerate(table.rows, start=2):
        if cells is None or all(cell is None or str(cell).strip() == "" for cell in cells):
            continue  # blank lines between blocks of a register are common and harmless
        count += 1
        checked = checker.row(line, cells, positions)
        if isinstance(checked, list):
            problems.extend(checked)
            continue
        session_key = (checked.course_title.lower(), checked.starts_at)
        place_key = (*session_key, checked.attendee_email)
        if place_key in seen:
            problems.append(
                RowProblem(
                    line,
                    f"{checked.attendee_email} is listed twice for this session (also on line "
                    f"{seen[place_key]}).",
                    "attendee_email",
                    checked.values,
                )
            )
            continue
        seen[place_key] = line
        venue_line = session_venue.setdefault(session_key, (checked.venue.lower(), line))
        if venue_line[0] != checked.venue.lower():
            problems.append(
                RowProblem(
                    line,
                    f"venue '{checked.venue}' differs from the venue given for the same session on "
                    f"line {venue_line[1]}.",
                    "venue",
                    checked.values,
                )
            )
            continue
        good.append(checked)
        if progress is not None and count % BATCH_SIZE == 0:
            progress("Checking rows", count, total)
    if progress is not None:
        progress("Checking rows", count, count)
    return good, problems, count


# --- importing ----------------------------------------------------------------------------------


def _area_for(venue_name: str) -> str:
    lowered = venue_name.lower()
    for value, label in Area.choices:
        if value != Area.OTHER and label.lower() in lowered:
            return value
    return Area.OTHER


def _unique_slug(title: str, taken: set[str]) -> str:
    base = slugify(title)[:190] or "course"
    slug, number = base, 2
    while slug in taken:
        slug = f"{base}-{number}"
        number += 1
    taken.add(slug)
    return slug


def _historical_reference() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return HISTORICAL_ORDER_PREFIX + "".join(secrets.choice(alphabet) for _ in range(10))


def _chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class _Plan:
    courses: dict[str, Course]
    venues: dict[str, Venue]
    agencies: dict[str, Agency]
    sessions: dict[tuple[str, dt.datetime], Session]
    existing_places: set[tuple[int, str]]
    new_courses: list[str]
    new_venues: list[str]
    new_agencies: list[tuple[str, int]]
    new_sessions: list[tuple[str, dt.datetime]]
    rows_to_create: list[RegisterRow]
    unchanged: int


def _plan(rows: list[RegisterRow]) -> _Plan:
    """What exists already and what must be created, from a handful of queries."""
    courses = {course.title.lower(): course for course in Course.objects.all()}
    venues = {venue.name.lower(): venue for venue in Venue.objects.all()}
    agencies = {agency.name.lower(): agency for agency in Agency.objects.all()}
    new_courses: dict[str, str] = {}
    new_venues: dict[str, str] = {}
    new_agencies: dict[str, tuple[str, int]] = {}
    starts: set[dt.datetime] = set()
    session_keys: dict[tuple[str, dt.datetime], RegisterRow] = {}
    for row in rows:
        course_key = row.course_title.lower()
        if course_key not in courses:
            new_courses.setdefault(course_key, row.course_title)
        if row.venue.lower() not in venues:
            new_venues.setdefault(row.venue.lower(), row.venue)
        if row.agency.lower() not in agencies:
            new_agencies.setdefault(row.agency.lower(), (row.agency, row.sector_id))
        session_keys.setdefault((course_key, row.starts_at), row)
        starts.add(row.starts_at)
    sessions: dict[tuple[str, dt.datetime], Session] = {}
    session: Session | None  # both loops below use the name; the second may find none
    existing_course_ids = {courses[key].pk: key for key, _start in session_keys if key in courses}
    if existing_course_ids and starts:
        candidates = Session.objects.filter(
            course_id__in=list(existing_course_ids),
            starts_at__gte=min(starts),
            starts_at__lte=max(starts),
        ).order_by("pk")
        for session in candidates:
            key = (existing_course_ids[session.course_id], session.starts_at)
            if key in session_keys:
                sessions.setdefault(key, session)
    existing_places: set[tuple[int, str]] = set()
    session_ids = sorted(session.pk for session in sessions.values())
    for chunk in _chunks(session_ids):
        existing_places.update(
            Booking.objects.filter(session_id__in=chunk).values_list("session_id", "attendee_email")
        )
    to_create = []
    unchanged = 0
    for row in rows:
        session = sessions.get((row.course_title.lower(), row.starts_at))
        if session is not None and (session.pk, row.attendee_email) in existing_places:
            unchanged += 1
        else:
            to_create.append(row)
    return _Plan(
        courses=courses,
        venues=venues,
        agencies=agencies,
        sessions=sessions,
        existing_places=existing_places,
        new_courses=list(new_courses.values()),
        new_venues=list(new_venues.values()),
        new_agencies=list(new_agencies.values()),
        new_sessions=[key for key in session_keys if key not in sessions],
        rows_to_create=to_create,
        unchanged=unchanged,
    )


def _lock_imports() -> None:
    # Two imports at once could both decide a session is missing and create it twice (a
    # session has no unique key). On PostgreSQL a transaction-scoped advisory lock makes them
    # take turns; SQLite's IMMEDIATE transactions already hold the database's write lock.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [4_120_117])


def registers_import(
    *,
    table: RegisterTable,
    actor: Any,
    now: dt.datetime,
    dry_run: bool = False,
    source: str = "",
    progress: Progress | None = None,
    total_rows: int = 0,
) -> ImportResult:
    """Check a whole register file, then (unless ``dry_run`` or any row is bad) create what is
    missing in one transaction. Importing the same file again creates nothing."""
    good, problems, count = registers_check(table, now=now, progress=progress, total=total_rows)
    result = ImportResult(dry_run=dry_run, rows=count)
    if problems:
        result.problems = sorted(problems, key=lambda problem: problem.line)
        return result
    if dry_run:
        _fill_counts(result, _plan(good), good)
        return result
    with transaction.atomic():
        _lock_imports()
        plan = _plan(good)
        _fill_counts(result, plan, good)
        _write(plan, actor=actor, now=now, source=source, progress=progress)
    return result


def _fill_counts(result: ImportResult, plan: _Plan, rows: list[RegisterRow]) -> None:
    result.courses_created = len(plan.new_courses)
    result.venues_created = len(plan.new_venues)
    result.agencies_created = len(plan.new_agencies)
    result.sessions_created = len(plan.new_sessions)
    result.places_created = len(plan.rows_to_create)
    result.places_unchanged = plan.unchanged
    new_ids = {id(row) for row in plan.rows_to_create}
    result.preview = [(row.line, row.values, id(row) in new_ids) for row in rows[:PREVIEW_ROWS]]


def _actor_fields(actor: Any) -> dict[str, Any]:
    if actor is None or isinstance(actor, str):
        return {"actor": None, "actor_label": actor or "system"}
    return {"actor": actor, "actor_label": getattr(actor, "email", "") or str(actor)}


def _write(
    plan: _Plan, *, actor: Any, now: dt.datetime, source: str, progress: Progress | None
) -> None:
    user = None if actor is None or isinstance(actor, str) else actor
    # Courses, venues and agencies first: the sessions and places point at them.
    taken_slugs = set(Course.objects.values_list("slug", flat=True))
    for course in Course.objects.bulk_create(
        [
            Course(title=title, slug=_unique_slug(title, taken_slugs), kind=CourseKind.COURSE)
            for title in plan.new_courses
        ],
        batch_size=BATCH_SIZE,
    ):
        plan.courses[course.title.lower()] = course
    for venue in Venue.objects.bulk_create(
        [Venue(name=name, address="", area=_area_for(name)) for name in plan.new_venues],
        batch_size=BATCH_SIZE,
    ):
        plan.venues[venue.name.lower()] = venue
    for agency in Agency.objects.bulk_create(
        [
            Agency(name=name, sector_id=sector_id, approved=True, created_at=now)
            for name, sector_id in plan.new_agencies
        ],
        batch_size=BATCH_SIZE,
    ):
        plan.agencies[agency.name.lower()] = agency

    places_per_session: dict[tuple[str, dt.datetime], int] = {}
    venue_of: dict[tuple[str, dt.datetime], str] = {}
    for row in plan.rows_to_create:
        key = (row.course_title.lower(), row.starts_at)
        places_per_session[key] = places_per_session.get(key, 0) + 1
        venue_of.setdefault(key, row.venue.lower())
    new_sessions = [
        Session(
            course=plan.courses[key[0]],
            venue=plan.venues[venue_of[key]],
            capacity=max(places_per_session.get(key, 0), 1),
            status=SessionStatus.PUBLISHED,
            starts_at=key[1],
            created_at=now,
        )
        for key in plan.new_sessions
    ]
    Session.objects.bulk_create(new_sessions, batch_size=BATCH_SIZE)
    parts = []
    for key, session in zip(plan.new_sessions, new_sessions, strict=True):
        # One part of a half or a full day: the old registers record only the start.
        hours = 3 if session.course.duration_half_days <= 1 else 6
        parts.append(
            SessionPart(
                session=session, starts_at=key[1], ends_at=key[1] + dt.timedelta(hours=hours)
            )
        )
        plan.sessions[key] = session
    SessionPart.objects.bulk_create(parts, batch_size=BATCH_SIZE)
    Register.objects.bulk_create(
        [Register(session=session, closed_at=now, closed_by=user) for session in new_sessions],
        batch_size=BATCH_SIZE,
    )

    band_of_sector = dict(Sector.objects.values_list("pk", "price_band_id"))
    emails = sorted({row.attendee_email for row in plan.rows_to_create})
    users: dict[str, int] = {}
    for chunk in _chunks(emails):
        users.update(
            get_user_model()
            .objects.annotate(email_lower=Lower("email"))
            .filter(email_lower__in=chunk)
            .values_list("email_lower", "pk")
        )

    orders: dict[tuple[int, int], Order] = {}
    for row in plan.rows_to_create:
        session = plan.sessions[(row.course_title.lower(), row.starts_at)]
        agency = plan.agencies[row.agency.lower()]
        if (agency.pk, session.pk) not in orders:
            # No booker: nobody booked these through the system (the audit says who imported
            # them), and an administrator's own order list must not fill with history.
            orders[(agency.pk, session.pk)] = Order(
                reference=_historical_reference(),
                booked_by=None,
                agency=agency,
                payment_method=PaymentMethod.FREE,
                created_at=now,
            )
    Order.objects.bulk_create(list(orders.values()), batch_size=BATCH_SIZE)

    total = len(plan.rows_to_create)
    actor_fields = _actor_fields(actor)
    done = 0
    for batch in _chunks(plan.rows_to_create, BATCH_SIZE):
        bookings = []
        for row in batch:
            session = plan.sessions[(row.course_title.lower(), row.starts_at)]
            agency = plan.agencies[row.agency.lower()]
            cancelled = row.status == "cancelled"
            bookings.append(
                Booking(
                    order=orders[(agency.pk, session.pk)],
                    session=session,
                    attendee_id=users.get(row.attendee_email),
                    attendee_name=row.attendee_name,
                    attendee_email=row.attendee_email,
                    agency=agency,
                    sector_id=row.sector_id,
                    price_band_id=band_of_sector[row.sector_id],
                    price=ZERO,
                    payment_method=PaymentMethod.FREE,
                    status=BookingStatus.CANCELLED if cancelled else BookingStatus.CONFIRMED,
                    confirmed_at=None if cancelled else row.starts_at,
                    cancelled_at=row.starts_at if cancelled else None,
                    cancellation_reason="Cancelled (historical register)" if cancelled else "",
                    attendance=Attendance.UNKNOWN if cancelled else row.status,
                    created_at=now,
                )
            )
        Booking.objects.bulk_create(bookings, batch_size=BATCH_SIZE)
        AuditEntry.objects.bulk_create(
            [
                AuditEntry(
                    object_type="bookings.booking",
                    object_id=str(booking.pk),
                    action=IMPORT_ACTION,
                    at=now,
                    changes={"file": source, "line": row.line, "status": row.status},
                    **actor_fields,
                )
                for booking, row in zip(bookings, batch, strict=True)
            ],
            batch_size=BATCH_SIZE,
        )
        done += len(batch)
        if progress is not None:
            progress("Writing places", done, total)
    AuditEntry.objects.create(
        object_type="bookings.import",
        object_id=(source or "upload")[:50],
        action="historical registers imported",
        at=now,
        changes={
            "file": source,
            "places": total,
            "sessions": len(new_sessions),
            "courses": len(plan.new_courses),
            "venues": len(plan.new_venues),
            "agencies": len(plan.new_agencies),
            "unchanged": plan.unchanged,
        },
        **actor_fields,
    )
