"""Checking a register's rows: every problem with its line, before anything is written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from bookings.attendance.importing.reading import RegisterTable
from bookings.attendance.importing.results import (
    BATCH_SIZE,
    COLUMNS,
    DATE_FORMATS,
    MAX_LENGTHS,
    STATUSES,
    Progress,
    RegisterRow,
    RowProblem,
)
from training.models import Sector


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
