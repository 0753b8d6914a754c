"""Historical registers come in from CSV or Excel: all of a file, or none of it."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import base, call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from bookings.attendance.importing import register_table_read, registers_import
from bookings.attendance.registers import register_close, register_reopen
from bookings.management.commands.import_registers import Command
from bookings.models import (
    Attendance,
    AuditEntry,
    Booking,
    BookingStatus,
    NonAttendanceCharge,
    Order,
    PaymentMethod,
    Register,
)
from tests.conftest import PASSWORD, make_person, make_session
from training.models import Agency, Course, CourseKind, Session, SessionPart, Venue

pytestmark = pytest.mark.django_db

HEADER = "course_title,session_start,venue,attendee_name,attendee_email,agency,sector,status"


def csv_text(*rows: str) -> str:
    """A register file: the header, then each row ("" for a blank line)."""
    return "\n".join([HEADER, *rows]) + "\n"


WT = "Working Together,2016-09-14 09:30,Taunton Library"
VALID = csv_text(
    f"{WT},Amy Adams,amy@example.org,Blackdown School,Schools,attended",
    "Working Together,14/09/2016 09:30,Taunton Library,Ben Baker,BEN@example.org,"
    "Blackdown School,schools,Absent",
    "Working Together,14/09/2016 09:30,Taunton Library,Cara Clarke,cara@example.org,"
    "Acorns Nursery,early years providers,CANCELLED",
    "",
    "Think Family,2016-10-01 13:00,Yeovil Library,Amy Adams,amy@example.org,Blackdown School,"
    "Children’s Social Care,attended",
)
EVERYTHING = (Course, Venue, Agency, Session, SessionPart, Register, Order, Booking, AuditEntry)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in EVERYTHING}


def write(tmp_path: Path, text: str, name: str = "registers.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def run(path: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_registers", path, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def london(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime(year, month, day, hour, minute))


def test_a_valid_file_creates_courses_sessions_venues_agencies_and_places(
    tmp_path: Path,
    sectors: dict[str, Any],
) -> None:
    out, _err = run(write(tmp_path, VALID))

    assert "Created 4 places, 2 sessions, 2 courses, 2 venues and 2 agencies" in out
    working = Course.objects.get(title="Working Together")
    assert working.kind == CourseKind.COURSE and working.slug == "working-together"
    session = Session.objects.get(course=working)
    # Both date formats name the same session, in UK time (BST in September).
    assert session.starts_at == london(2016, 9, 14, 9, 30)
    assert session.starts_at.astimezone(dt.UTC).hour == 8
    assert session.ordered_parts[0].ends_at == london(2016, 9, 14, 15, 30)
    assert session.venue.name == "Taunton Library" and session.venue.area == "taunton"
    assert Register.objects.get(session=session).is_closed

    places = {b.attendee_email: b for b in session.bookings.all()}
    assert places["amy@example.org"].attendance == Attendance.ATTENDED
    assert places["ben@example.org"].attendance == Attendance.ABSENT
    assert places["ben@example.org"].status == BookingStatus.CONFIRMED
    assert places["cara@example.org"].status == BookingStatus.CANCELLED
    assert places["cara@example.org"].sector == sectors["Early Years Providers"]
    assert places["cara@example.org"].price_band.slug == "independent"
    nursery = Agency.objects.get(name="Acorns Nursery")
    assert nursery.sector == sectors["Early Years Providers"]
    think = Booking.objects.get(session__course__title="Think Family")
    assert think.sector == sectors["Children's Social Care"]  # curly apostrophe forgiven

    for booking in Booking.objects.all():
        assert booking.price == Decimal("0.00") and booking.payment_method == PaymentMethod.FREE
        assert booking.order.reference.startswith("HIST-")
        assert booking.attendee is None  # no accounts are made for imported people
    assert Order.objects.count() == 3  # per agency per session
    entries = AuditEntry.objects.filter(
        object_type="bookings.booking", action="imported from a historical register"
    )
    assert entries.count() == 4
    assert {e.changes["line"] for e in entries} == {2, 3, 4, 6}
    summary = AuditEntry.objects.get(object_type="bookings.import")
    assert summary.changes["places"] == 4


def test_importing_the_same_file_again_changes_nothing(tmp_path: Path, db: Any) -> None:
    path = write(tmp_path, VALID)
    run(path)
    before = counts()
    out, _err = run(path)
    assert "Nothing new to import: all 4 places are already in the system" in out
    after = counts()
    after["AuditEntry"] -= 1  # the summary entry of the second run
    assert after == before


def test_a_file_with_bad_rows_imports_nothing_and_lists_every_bad_row(
    tmp_path: Path,
    db: Any,
) -> None:
    bad = csv_text(
        f"{WT},Amy Adams,amy@example.org,Blackdown School,Schools,attended",
        "Working Together,2016-13-14 09:30,Taunton Library,Ben Baker,ben@example,"
        "Blackdown School,Scools,came",
        ",2016-09-14 09:30,Taunton Library,Cara Clarke,cara@example.org,Blackdown School,"
        "Schools,attended",
        f"{WT},Dev Davies,dev@example.org,Blackdown School,Schools,absent",
        f"{WT},Amy Adams,amy@example.org,Blackdown School,Schools,attended",
        "Working Together,2099-01-01 09:30,Taunton Library,Eve Evans,eve@example.org,"
        "Blackdown School,Schools,attended",
        "Working Together,2016/09/14,Taunton Library,Finn Foster,finn@example.org,"
        "Blackdown School,Schools,attended",
    )
    before = counts()
    with pytest.raises(CommandError, match="Nothing was imported: 5 lines"):
        run(write(tmp_path, bad))
    assert counts() == before

    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_registers", write(tmp_path, bad), stderr=err)
    lines = err.getvalue()
    assert "Line 3: session_start '2016-13-14 09:30' is not a date and time" in lines
    assert "Line 3: attendee_email 'ben@example' is not a valid email address." in lines
    assert "Line 3: sector 'Scools' is not one of:" in lines
    assert "Line 3: status 'came' is not attended, absent or cancelled." in lines
    assert "Line 4: course_title is empty." in lines
    assert "Line 6: amy@example.org is listed twice for this session (also on line 2)." in lines
    assert "Line 7: session_start 01/01/2099 09:30 is in the future" in lines
    assert "Line 8: session_start '2016/09/14' is not a date and time" in lines
    assert "Line 2:" not in lines and "Line 5:" not in lines


def test_the_command_exits_non_zero_on_a_bad_file_and_zero_on_a_good_one(
    tmp_path: Path,
    db: Any,
    monkeypatch: Any,
) -> None:

    # run_from_argv (what manage.py calls) closes the connections when done; the test's
    # database must stay open.
    monkeypatch.setattr(base.connections, "close_all", lambda: None)

    bad = write(
        tmp_path, f"{HEADER}\nWorking Together,soon,Here,A,a@example.org,X,Schools,ok\n", "bad.csv"
    )
    with pytest.raises(SystemExit) as exit_info:
        Command(stdout=io.StringIO(), stderr=io.StringIO()).run_from_argv(
            ["manage.py", "import_registers", bad]
        )
    assert exit_info.value.code == 1
    Command(stdout=io.StringIO(), stderr=io.StringIO()).run_from_argv(
        ["manage.py", "import_registers", write(tmp_path, VALID)]
    )  # no SystemExit: status 0
    assert Booking.objects.count() == 4


def test_missing_columns_are_reported_on_line_one(tmp_path: Path, db: Any) -> None:
    with pytest.raises(CommandError) as error:
        call_command(
            "import_registers", write(tmp_path, "course_title,venue\nA,B\n"), stderr=io.StringIO()
        )
    assert "1 line" in str(error.value)
    report = registers_import(
        table=register_table_read("course_title,venue\nA,B\n"),
        actor=None,
        now=timezone.now(),
    )
    (problem,) = report.problems
    assert problem.line == 1
    assert "session_start, attendee_name, attendee_email, agency, sector, status" in problem.reason


def test_columns_in_any_order_and_case_with_extra_columns_ignored(
    tmp_path: Path,
    db: Any,
) -> None:
    text = (
        "Status,NOTES,Sector,Agency,Attendee Email,Attendee_Name,Venue,Session_Start,Course_Title\n"
        "attended,brought cake,Health,Musgrove Park,nurse@example.org,Nora Nurse,Taunton Library,"
        "03/02/2017 10:00,Thresholds\n"
    )
    run(write(tmp_path, text))
    booking = Booking.objects.get()
    assert booking.attendee_name == "Nora Nurse" and booking.agency.name == "Musgrove Park"
    assert booking.session.starts_at == london(2017, 2, 3, 10, 0)


def test_a_dry_run_writes_nothing(tmp_path: Path, db: Any) -> None:
    before = counts()
    out, _err = run(write(tmp_path, VALID), "--dry-run")
    assert "Dry run, nothing written" in out and "Would create 4 places" in out
    assert counts() == before


def test_existing_courses_venues_agencies_sessions_and_people_are_reused(
    tmp_path: Path,
    course: Course,
    venue: Venue,
    school: Agency,
    practitioner: Any,
) -> None:

    session = make_session(course, venue, starts_at=london(2016, 9, 14, 9, 30))
    text = (
        f"{HEADER}\n"
        f"working together,14/09/2016 09:30,TAUNTON TRAINING CENTRE,Tess Teacher,"
        f"Teacher@Example.org,blackdown primary school,Schools,attended\n"
    )
    out, _err = run(write(tmp_path, text))
    assert "Created 1 places, 0 sessions, 0 courses, 0 venues and 0 agencies" in out
    booking = Booking.objects.get()
    assert booking.session == session and booking.agency == school
    assert booking.attendee == practitioner  # an existing account is linked by email


def test_xlsx_with_date_cells_and_text_dates_imports_like_csv(tmp_path: Path, db: Any) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(
        [
            "Course_Title",
            "Session_Start",
            "Venue",
            "Attendee_Name",
            "Attendee_Email",
            "Agency",
            "Sector",
            "Status",
            "Extra",
        ]
    )
    sheet.append(
        [
            "Working Together",
            dt.datetime(2016, 9, 14, 9, 30),
            "Taunton Library",
            "Amy Adams",
            "amy@example.org",
            "Blackdown School",
            "Schools",
            "Attended",
            1,
        ]
    )
    sheet.append(
        [
            "Working Together",
            "14/09/2016 09:30",
            "Taunton Library",
            "Ben Baker",
            "ben@example.org",
            "Blackdown School",
            "Schools",
            "absent",
            None,
        ]
    )
    sheet.append([None] * 9)
    sheet.append(
        [
            "Working Together",
            "2016-09-14 09:30",
            "Taunton Library",
            "Cara Clarke",
            "cara@example.org",
            "Blackdown School",
            "Schools",
            "cancelled",
            None,
        ]
    )
    path = tmp_path / "registers.xlsx"
    workbook.save(path)

    out, _err = run(str(path))
    assert "Created 3 places, 1 sessions" in out
    assert Session.objects.get().starts_at == london(2016, 9, 14, 9, 30)

    sheet.append(
        [
            "Working Together",
            "31/02/2016 09:30",
            "Taunton Library",
            "Dev Davies",
            "dev@example.org",
            "Blackdown School",
            "Schools",
            "absent",
            None,
        ]
    )
    workbook.save(path)
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_registers", str(path), stderr=err)
    assert "Line 6: session_start '31/02/2016 09:30'" in err.getvalue()  # row 4 is blank
    assert Booking.objects.count() == 3


def test_a_file_that_is_not_a_register_is_refused_clearly(tmp_path: Path, db: Any) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    with pytest.raises(CommandError, match="Save it as .xlsx or .csv"):
        run(str(path))
    with pytest.raises(CommandError, match="No such file"):
        run(str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError, match="empty"):
        run(write(tmp_path, ""))


def test_imported_absences_are_never_charged(tmp_path: Path, training_admin: Any) -> None:
    run(write(tmp_path, VALID))
    session = Session.objects.get(course__title="Working Together")
    now = timezone.now()
    register_reopen(session=session, actor=training_admin, now=now, reason="Looking")
    register_close(session=session, actor=training_admin, now=now)
    assert not NonAttendanceCharge.objects.exists()


def test_progress_is_shown_on_stderr(tmp_path: Path, db: Any) -> None:
    _out, err = run(write(tmp_path, VALID))
    assert "Checking rows" in err and "Writing places [" in err and "100%" in err


# --- the admin: django-import-export's upload, preview and confirm ------------------------------


@pytest.fixture
def admin_client(client: Any, training_admin: Any) -> Any:
    client.login(username=training_admin.username, password=PASSWORD)
    return client


def upload(client: Any, name: str, content: bytes, file_format: int) -> Any:

    return client.post(
        reverse("admin:bookings_register_import"),
        {"import_file": SimpleUploadedFile(name, content), "format": file_format, "resource": 0},
    )


def test_admin_preview_then_confirm_imports_through_the_same_service(admin_client: Any) -> None:
    response = upload(admin_client, "registers.csv", VALID.encode(), 0)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Would create 4 places, 2 sessions" in page
    assert "Cara Clarke" in page and "Confirm import" in page
    assert Booking.objects.count() == 0
    form = response.context["confirm_form"]
    response = admin_client.post(
        reverse("admin:bookings_register_process_import"),
        {
            name: form.initial[name]
            for name in ("import_file_name", "original_file_name", "format", "resource")
        },
    )
    assert response.status_code == 302
    assert any("Created 4 places" in str(m) for m in get_messages(response.wsgi_request))
    assert Booking.objects.count() == 4
    assert AuditEntry.objects.filter(object_type="bookings.booking").first().actor_label == (
        "admin@example.org"
    )


def test_admin_preview_shows_every_bad_row_with_its_line_and_offers_no_import(
    admin_client: Any,
) -> None:
    bad = (
        f"{HEADER}\n"
        "Working Together,2016-09-14 09:30,Taunton Library,Amy Adams,amy@example.org,School,"
        "Schools,attended\n"
        "\n"
        "Working Together,2016-09-14 09:30,Taunton Library,Ben Baker,ben@example,School,"
        "Schools,maybe\n"
    )
    response = upload(admin_client, "registers.csv", bad.encode(), 0)
    page = response.content.decode()
    assert "Nothing can be imported yet" in page
    assert "<td>4</td>" in page  # the file's own line number, blank line counted
    assert "attendee_email &#x27;ben@example&#x27; is not a valid email address." in page
    assert "status &#x27;maybe&#x27; is not attended, absent or cancelled." in page
    assert "Confirm import" not in page
    assert Booking.objects.count() == 0


def test_admin_imports_xlsx_too(admin_client: Any) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    for line in VALID.splitlines():
        workbook.active.append(line.split(",") if line else [])
    content = io.BytesIO()
    workbook.save(content)
    response = upload(admin_client, "registers.xlsx", content.getvalue(), 1)
    assert "Would create 4 places" in response.content.decode()


def test_only_training_administrators_may_import(client: Any, db: Any, school: Agency) -> None:
    staff = make_person("staff@example.org", agency=school, is_staff=True)
    client.login(username=staff.username, password=PASSWORD)
    response = client.get(reverse("admin:bookings_register_import"))
    # The admin is for training administrators only: other staff are not let in at all.
    assert response.status_code == 302 and response.url.startswith("/admin/login/")


# --- encodings: one for the whole file, found the same way by the command and the admin ---------

ACCENTED = csv_text(
    f"{WT},Zoë Brontë,zoe@example.org,Café Crèche,Early Years Providers,attended",
    f"{WT},Chloë Noël,chloe@example.org,Café Crèche,Early Years Providers,absent",
)


def import_bytes(tmp_path: Path, content: bytes) -> str:
    path = tmp_path / "registers.csv"
    path.write_bytes(content)
    return str(path)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_utf8_with_or_without_bom_and_windows_1252_files_import_the_same_names(
    encoding: str, tmp_path: Path, admin_client: Any
) -> None:
    content = ACCENTED.encode(encoding)
    page = upload(admin_client, "registers.csv", content, 0).content.decode()
    assert "Would create 2 places" in page and "Zoë Brontë" in page and "Confirm import" in page

    out, _err = run(import_bytes(tmp_path, content))
    assert "Created 2 places" in out
    names = set(Booking.objects.values_list("attendee_name", flat=True))
    assert names == {"Zoë Brontë", "Chloë Noël"}
    assert Agency.objects.filter(name="Café Crèche").exists()


REFUSED_FILES = {
    # UTF-8 throughout but for one byte saved by another program: Windows-1252's ë.
    "utf-8 with a stray windows-1252 byte": (
        ACCENTED.encode("utf-8").replace("Chloë".encode(), b"Chlo\xeb"),
        "Line 3, byte 0xEB (byte 55 of the line) is not UTF-8",
    ),
    "utf-8 with a bom and a stray byte": (
        ACCENTED.encode("utf-8-sig").replace("Noël".encode(), b"No\xebl"),
        "Line 3, byte 0xEB (byte 60 of the line) is not UTF-8",
    ),
    "a byte windows-1252 does not define": (
        ACCENTED.encode("cp1252").replace(b"Chlo", b"Chl\x81"),
        "Line 3, byte 0x81 (byte 54 of the line) is neither UTF-8 nor Windows-1252",
    ),
    "a nul byte": (
        ACCENTED.encode("utf-8").replace(b"chloe@", b"chl\x00oe@"),
        "Line 3 holds a NUL character",
    ),
    "utf-16 text": (ACCENTED.encode("utf-16"), "This file is UTF-16 text"),
}


@pytest.mark.parametrize("content, message", REFUSED_FILES.values(), ids=REFUSED_FILES.keys())
def test_a_file_in_no_one_encoding_is_refused_naming_the_line_and_byte(
    content: bytes, message: str, tmp_path: Path, admin_client: Any
) -> None:
    err = io.StringIO()
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("import_registers", import_bytes(tmp_path, content), stderr=err)

    response = upload(admin_client, "registers.csv", content, 0)
    page = response.content.decode()
    assert response.status_code == 200
    assert message in page.replace("&quot;", '"').replace("&#x27;", "'")
    assert "Confirm import" not in page
    assert Booking.objects.count() == 0
