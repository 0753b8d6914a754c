"""The programme spreadsheet: sessions with their dated parts, venue, capacity and trainers.

One row per session. Its parts are numbered column groups, as many as the file needs:
``part1_date``, ``part1_start``, ``part1_end``, ``part2_date``… (a two-day course is one row
with two parts, so a row is one thing a person books). Dates are ``2027-09-14`` or
``14/09/2027`` (or Excel date cells), times ``09:30``; the venue and course are named as in the
admin, the trainers by name separated by ``;``. A row without an ``id`` is a new session unless
a session of that course at that venue already starts at its first part (then it is that
session: importing a file twice creates nothing twice). Capacity and status of existing
sessions follow ``training.services.session_change_problems``; the dates of a session with
places booked are changed on its page, never by a file (its attendees would not be told).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import partial
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone
from import_export import fields, resources
from import_export.widgets import ForeignKeyWidget
from tablib import Dataset

from training.models import Course, Session, SessionStatus, Trainer, Venue
from training.services import session_change_problems, session_parts_replace

PART_COLUMN = re.compile(r"^part(\d+)_(date|start|end)$")
EXPORTED_PARTS = 4  # columns an export offers; an import reads however many the file has
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y")
TIME_FORMATS = ("%H:%M", "%H.%M", "%H:%M:%S")

Part = tuple[dt.datetime, dt.datetime]


class NamedWidget(ForeignKeyWidget):
    """A course or venue by its name, refused with a sentence when there is none."""

    def __init__(self, model: Any, what: str) -> None:
        super().__init__(model, "name" if model is Venue else "title")
        self.what = what

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Any:
        name = " ".join(str(value or "").split())
        if not name:
            raise ValueError(f"Give the {self.what}'s name.")
        found = self.model.objects.filter(**{f"{self.field}__iexact": name}).first()
        if found is None:
            plural = "Venues" if self.model is Venue else "Courses"
            raise ValueError(
                f"There is no {self.what} called '{name}': check the spelling, or add it under "
                f"{plural} first."
            )
        return found


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    for pattern in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"'{text}' is not a date: write it as 2027-09-14 or 14/09/2027.")


def _time(value: Any) -> dt.time:
    if isinstance(value, dt.datetime):
        return value.time()
    if isinstance(value, dt.time):
        return value
    text = str(value).strip()
    for pattern in TIME_FORMATS:
        try:
            return dt.datetime.strptime(text, pattern).time()
        except ValueError:
            continue
    raise ValueError(f"'{text}' is not a time: write it as 09:30.")


def _blank(value: Any) -> bool:
    return value is None or str(value).strip() == ""


def parts_read(row: dict[str, Any]) -> tuple[list[Part], dict[str, str]]:
    """The row's parts in time order, and the problems with them by column."""
    numbers = sorted(
        {int(match.group(1)) for column in row if (match := PART_COLUMN.match(str(column)))}
    )
    parts: list[tuple[int, Part]] = []
    problems: dict[str, str] = {}
    for number in numbers:
        cells = {key: row.get(f"part{number}_{key}") for key in ("date", "start", "end")}
        if all(_blank(cell) for cell in cells.values()):
            continue
        missing = [f"part{number}_{key}" for key, cell in cells.items() if _blank(cell)]
        if missing:
            problems[missing[0]] = f"Part {number} needs a date, a start and an end time."
            continue
        try:
            day = _date(cells["date"])
        except ValueError as error:
            problems[f"part{number}_date"] = str(error)
            continue
        times = []
        for key in ("start", "end"):
            try:
                times.append(_time(cells[key]))
            except ValueError as error:
                problems[f"part{number}_{key}"] = str(error)
        if len(times) < 2:
            continue
        start, end = (timezone.make_aware(dt.datetime.combine(day, time)) for time in times)
        if end <= start:
            problems[f"part{number}_end"] = f"Part {number} ends before it starts."
            continue
        parts.append((number, (start, end)))
    ordered = sorted(part for _, part in parts)
    for (_, earlier_end), (later_start, _) in zip(ordered, ordered[1:], strict=False):
        if later_start < earlier_end:
            problems.setdefault(NON_FIELD_ERRORS, "Two of the session's parts overlap.")
    return ordered, problems


def trainers_read(value: Any) -> tuple[list[Trainer], str]:
    """The trainers named in a cell (separated by ';'), and what is wrong with the names."""
    names = [" ".join(name.split()) for name in str(value or "").split(";")]
    trainers, problems = [], []
    for name in filter(None, names):
        found = list(Trainer.objects.filter(name__iexact=name)[:2])
        if not found:
            problems.append(f"There is no trainer called '{name}': add them under Trainers.")
        elif len(found) > 1:
            problems.append(f"Two trainers are called '{name}': give one a fuller name.")
        else:
            trainers.append(found[0])
    return trainers, " ".join(problems)


class ShownField(fields.Field):
    """A column read by the resource itself (parts, trainers), shown in the preview's diff and
    in exports from what the row will make (or the session has)."""

    def __init__(self, column_name: str, show: Callable[[Session], str]) -> None:
        super().__init__(column_name=column_name)
        self.show = show

    def export(self, instance: Any, **kwargs: Any) -> str:
        return self.show(instance)


class SessionResource(resources.ModelResource):
    """The programme import and export (one row per session, its parts side by side)."""

    course = fields.Field(
        attribute="course", column_name="course", widget=NamedWidget(Course, "course")
    )
    venue = fields.Field(attribute="venue", column_name="venue", widget=NamedWidget(Venue, "venue"))

    class Meta:
        model = Session
        fields = ["id", "course", "venue", "capacity", "status"]
        use_transactions = True  # the preview really saves, then rolls back
        clean_model_instances = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pending: dict[int, tuple[list[Part], list[Trainer] | None]] = {}
        self.now = timezone.now()
        self.fields["trainers"] = ShownField("trainers", self.trainers_shown)
        # starts_at follows the session's parts: exported for reference, never imported.
        self.fields["starts_at"] = ShownField("starts_at", self.start_shown)
        for number in range(1, EXPORTED_PARTS + 1):
            for key in ("date", "start", "end"):
                name = f"part{number}_{key}"
                self.fields[name] = ShownField(name, partial(self.part_shown, number, key))

    def get_export_order(self) -> tuple[str, ...]:
        parts = [
            f"part{n}_{key}"
            for n in range(1, EXPORTED_PARTS + 1)
            for key in ("date", "start", "end")
        ]
        return ("id", "course", "venue", "capacity", "status", "trainers", *parts, "starts_at")

    def get_import_order(self) -> tuple[str, ...]:
        return self.get_export_order()

    def parts_of(self, session: Session) -> list[Part]:
        pending = self.pending.get(id(session))
        if pending is not None and pending[0]:
            return pending[0]
        if session.pk is None:
            return []
        return [(part.starts_at, part.ends_at) for part in session.parts.order_by("starts_at")]

    def part_shown(self, number: int, key: str, session: Session) -> str:
        parts = self.parts_of(session)
        if number > len(parts):
            return ""
        start, end = (timezone.localtime(moment) for moment in parts[number - 1])
        shown = {"date": f"{start:%Y-%m-%d}", "start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}
        return shown[key]

    def start_shown(self, session: Session) -> str:
        parts = self.parts_of(session)
        return f"{timezone.localtime(parts[0][0]):%Y-%m-%d %H:%M}" if parts else ""

    def trainers_shown(self, session: Session) -> str:
        pending = self.pending.get(id(session))
        if pending is not None and pending[1] is not None:
            return "; ".join(trainer.name for trainer in pending[1])
        if session.pk is None:
            return ""
        return "; ".join(session.trainers.order_by("name").values_list("name", flat=True))

    def import_data(self, dataset: Dataset, *args: Any, **kwargs: Any) -> Any:
        # A row that fails on confirm (the data changed since the preview) writes nothing.
        kwargs["rollback_on_validation_errors"] = True
        return super().import_data(dataset, *args, **kwargs)

    def before_import(self, dataset: Dataset, **kwargs: Any) -> None:
        self.now = timezone.now()
        self.pending.clear()
        if "id" not in (dataset.headers or []):  # a file of new sessions needs no id column
            if len(dataset):
                dataset.append_col([""] * len(dataset), header="id")
            else:
                dataset.headers = [*(dataset.headers or []), "id"]

    def get_instance(self, instance_loader: Any, row: dict[str, Any]) -> Session | None:
        given = str(row.get("id") or "").strip()
        if given:
            session = Session.objects.filter(pk=int(given)).first() if given.isdigit() else None
            if session is None:
                raise ValidationError(
                    {"id": f"There is no session {given}: leave id empty for a new session."}
                )
            return session
        parts, problems = parts_read(row)
        course, venue = str(row.get("course") or "").strip(), str(row.get("venue") or "").strip()
        if problems or not parts or not course or not venue:
            return None
        return (
            Session.objects.exclude(status=SessionStatus.CANCELLED)
            .filter(
                course__title__iexact=course,
                venue__name__iexact=venue,
                starts_at=parts[0][0],
            )
            .first()
        )

    def import_instance(self, instance: Session, row: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, Any] = {}
        found = instance.pk  # a blank id cell must not turn the session it matched into a new one
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        instance.pk = found
        parts, problems = parts_read(row)
        if instance.pk is None and not parts and not problems:
            problems["part1_date"] = (
                "A new session needs its first part: part1_date, part1_start and part1_end."
            )
        if instance.pk is None and parts and parts[0][0] <= self.now:
            problems["part1_date"] = "A new session cannot start in the past: check the year."
        if instance.pk is not None and parts and not problems:
            current = [(part.starts_at, part.ends_at) for part in instance.parts.all()]
            if sorted(current) != parts and instance.bookings.exists():
                problems[NON_FIELD_ERRORS] = (
                    f"Session {instance.pk} has places booked: change its dates on its admin "
                    "page and tell its attendees, not by a file (leave its part columns empty)."
                )
        trainers: list[Trainer] | None = None
        if "trainers" in row:
            trainers, trainer_problem = trainers_read(row["trainers"])
            if trainer_problem:
                problems["trainers"] = trainer_problem
        for column, message in problems.items():
            errors.setdefault(column, []).append(ValidationError(message))
        self.pending[id(instance)] = (parts, trainers)
        if errors:
            raise ValidationError(errors)

    def validate_instance(
        self,
        instance: Session,
        import_validation_errors: dict[str, Any] | None = None,
        validate_unique: bool = True,
    ) -> None:
        errors = dict(import_validation_errors or {})
        problems = session_change_problems(
            instance.pk,
            capacity=instance.capacity,
            status=instance.status,
            venue_id=instance.venue_id,
        )
        for field, message in problems.items():
            errors.setdefault(field, ValidationError(message))
        super().validate_instance(instance, errors, validate_unique)

    def after_save_instance(self, instance: Session, row: dict[str, Any], **kwargs: Any) -> None:
        if instance.pk is None:
            return
        parts, trainers = self.pending.get(id(instance), ([], None))
        if parts:
            session_parts_replace(session=instance, parts=parts)
        if trainers is not None:
            instance.trainers.set(trainers)
