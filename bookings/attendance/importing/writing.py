"""Writing an import: one transaction of bulk inserts, with an audit entry per place."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils.text import slugify

from bookings.attendance.importing.checking import registers_check
from bookings.attendance.importing.planning import _chunks, _Plan, _plan
from bookings.attendance.importing.reading import RegisterTable
from bookings.attendance.importing.results import (
    BATCH_SIZE,
    IMPORT_ACTION,
    PREVIEW_ROWS,
    ImportResult,
    Progress,
    RegisterRow,
)
from bookings.attendance.registers import HISTORICAL_ORDER_PREFIX
from bookings.audit import action_code
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
                    code=action_code(IMPORT_ACTION),
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
