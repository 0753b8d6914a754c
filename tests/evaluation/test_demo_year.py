"""The demo's 2016/17 year reproduces the annual report's Appendix E, cell by cell."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db.models import Count

from bookings.demo.year import load_year_2016_17_attendance
from bookings.events import booking_attended
from bookings.models import (
    AuditEntry,
    Booking,
    BookingStatus,
    Invoice,
    NonAttendanceCharge,
    Order,
    OutgoingEmail,
    Payment,
    Register,
)
from evaluation.models import Invitation
from training import demo as training_demo
from training.models import Agency, CourseKind, Sector, Session

# A copy of the annual report's Appendix E (shared/data/appendix_e_2016_17.csv), kept with the
# tests so they run from any checkout.
APPENDIX_E = Path(settings.BASE_DIR) / "tests" / "data" / "appendix_e_2016_17.csv"

# Transactional: the loader really commits, so the email tasks that run on commit really run
# (and must find nothing to send). serialized_rollback keeps the seeded sectors for later tests.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def load_demo_year() -> list[Session]:
    reference = training_demo.load_reference_data()
    sessions = training_demo.load_year_2016_17(reference)
    training_demo.load_demo_people()
    load_year_2016_17_attendance(sessions)
    return sessions


def snapshot() -> dict[str, int]:
    models = (
        Agency,
        Session,
        Order,
        Booking,
        Payment,
        Invoice,
        Register,
        NonAttendanceCharge,
        AuditEntry,
        OutgoingEmail,
    )
    return {model.__name__: model.objects.count() for model in models}


def published_table() -> list[dict[str, str]]:
    with APPENDIX_E.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def attended_by_title_and_sector(kind: str) -> Counter[tuple[str, str]]:
    rows = (
        Booking.objects.filter(
            attendance="attended", status=BookingStatus.CONFIRMED, session__course__kind=kind
        )
        .values("session__course__title", "sector__name")
        .annotate(places=Count("pk"))
    )
    return Counter(
        {(row["session__course__title"], row["sector__name"]): row["places"] for row in rows}
    )


def attended_sessions(kind: str) -> dict[str, int]:
    rows = (
        Booking.objects.filter(
            attendance="attended", status=BookingStatus.CONFIRMED, session__course__kind=kind
        )
        .values("session__course__title")
        .annotate(sessions=Count("session", distinct=True))
    )
    return {row["session__course__title"]: row["sessions"] for row in rows}


def test_demo_year_reproduces_appendix_e_and_loads_only_once(monkeypatch: Any) -> None:
    rendered: list[int] = []
    monkeypatch.setattr("bookings.outbox.render_email", lambda email: rendered.append(email.pk))
    heard: list[int] = []

    def listener(sender: Any, *, booking: Booking, **kwargs: Any) -> None:
        heard.append(booking.pk)

    booking_attended.connect(listener, weak=False, dispatch_uid="test-demo-year-listener")
    try:
        load_demo_year()
    finally:
        booking_attended.disconnect(dispatch_uid="test-demo-year-listener")

    table = published_table()
    sector_names = list(Sector.objects.order_by("order").values_list("name", flat=True))
    assert list(table[0].keys()) == ["course_title", "number_of_courses", *sector_names, "All"]
    places = attended_by_title_and_sector(CourseKind.COURSE)
    sessions = attended_sessions(CourseKind.COURSE)
    titles = [row["course_title"] for row in table if row["course_title"] != "Total"]
    assert set(sessions) == set(titles)
    for row in table:
        title = row["course_title"]
        if title == "Total":
            assert sum(sessions.values()) == int(row["number_of_courses"]) == 50
            for sector in sector_names:
                assert sum(n for (_, s), n in places.items() if s == sector) == int(row[sector])
            assert sum(places.values()) == int(row["All"]) == 1093
            continue
        assert sessions[title] == int(row["number_of_courses"]), title
        for sector in sector_names:
            assert places[(title, sector)] == int(row[sector]), (title, sector)
        assert sum(n for (t, _), n in places.items() if t == title) == int(row["All"]), title
        # Every session of the title was held and had someone there.
        assert Session.objects.filter(course__title=title).count() == int(row["number_of_courses"])

    mapig_sessions = attended_sessions(CourseKind.MAPIG)
    assert sum(mapig_sessions.values()) == 12
    assert sum(attended_by_title_and_sector(CourseKind.MAPIG).values()) == 328
    assert sum(attended_sessions(CourseKind.CONFERENCE).values()) == 2
    assert sum(attended_by_title_and_sector(CourseKind.CONFERENCE).values()) == 170

    # A real year has no-shows and cancellations; none of them counts as attended.
    assert Booking.objects.filter(attendance="absent").count() > 20
    assert Booking.objects.filter(status=BookingStatus.CANCELLED, late_cancellation=True).exists()
    assert Booking.objects.filter(status=BookingStatus.CANCELLED, late_cancellation=False).exists()
    assert not Booking.objects.filter(status=BookingStatus.CANCELLED, attendance="attended")
    # Every register was closed and every absence charged once, through the real services.
    assert not Register.objects.filter(closed_at=None).exists()
    absences = Booking.objects.filter(attendance="absent").count()
    assert NonAttendanceCharge.objects.count() == absences
    assert AuditEntry.objects.filter(action="attendance not recorded → attended").count() == (
        1093 + 328 + 170
    )
    # The demo sends nothing: no email is left to send and none was rendered on commit; nobody
    # is told that 2016 places were attended, so no survey invitation goes out years later.
    assert OutgoingEmail.objects.count() == 0
    assert rendered == []
    assert heard == [] and not Invitation.objects.exists()

    assert_report_command_prints_appendix_e()

    before = snapshot()
    load_demo_year()
    assert snapshot() == before


def assert_report_command_prints_appendix_e() -> None:
    """`manage.py report attendance-by-sector` for 2016/17 prints the published table."""
    out = io.StringIO()
    call_command(
        "report", "attendance-by-sector", "--from", "2016-04-01", "--to", "2017-03-31", stdout=out
    )
    output = out.getvalue()
    published = APPENDIX_E.read_text(encoding="utf-8")
    lines, expected = output.splitlines(), published.splitlines()
    # The header in the page's words (the published file names its first two columns as
    # fields), then every sector exactly.
    assert lines[0] == expected[0].replace(
        "course_title,number_of_courses", "Course title,Number of courses", 1
    )
    assert lines[-1] == expected[-1]  # the Total row, cell by cell
    # Every course row, cell by cell. The published table lists the four CSE courses in an
    # order of its own; the report sorts titles case-insensitively, as the issue asks.
    assert sorted(lines[1:-1]) == sorted(expected[1:-1])
    assert lines[1:-1] == sorted(expected[1:-1], key=lambda line: line.split(",")[0].casefold())
    assert output.endswith("\n") and len(lines) == len(expected) == 13
