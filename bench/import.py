#!/usr/bin/env python
"""Benchmark for issue 4: importing historical registers against a raw ``bulk_create``.

Run from the project root:  .venv/bin/python bench/import.py  [--rows N] [--seed N] [--keep]

In one run it
  1. makes a throwaway SQLite database in a temporary directory (never var/db.sqlite3) and
     migrates it;
  2. writes a register CSV of ``--rows`` rows (default 100,000): about 20 places per session
     over seven years, 40 course titles, 30 venues, 3,000 agencies in all 12 sectors, 25,000
     people; 85% attended, 10% absent, 5% cancelled; half the start times ``YYYY-MM-DD HH:MM``,
     half ``DD/MM/YYYY HH:MM``;
  3. times ``manage.py import_registers FILE`` (in process, through ``call_command``): reading
     and checking every row, creating the courses, venues, agencies, sessions, their parts and
     closed registers, one order per agency and session, the places and one audit entry per
     place;
  4. deletes the places, orders and audit entries it made, keeping the sessions, agencies and
     so on, and times a raw ``bulk_create`` of the same orders and places (batches of 2,000, in
     one transaction, every lookup already in memory): the least work that can put those
     places in the database;
  5. removes the temporary directory, whatever happened.

The last line is
    import: rows=N import_s=N bulk_create_s=N ratio=N
where ratio = import_s / bulk_create_s (1.00 would mean checking the file, creating everything
around the places and auditing them cost nothing; the aim is 3 or less). A failed import, or a
place count that differs from the rows that should make places, exits with status 1.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import django
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from bookings.attendance.importing import BATCH_SIZE, register_file_read, registers_check
from bookings.demo.names import FIRST_NAMES, LAST_NAMES
from bookings.models import ZERO, Booking, BookingStatus, Order, PaymentMethod
from training.models import Agency, Course, Sector, Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


COURSES = [
    "Working Together",
    "Safeguarding Update",
    "CSE half day",
    "CSE working with parents",
    "Safer Recruitment",
    "Parental mental health",
    "Signs of Safety",
    "Thresholds",
    "CSE and children with disabilities",
    "CSE train the trainer",
    "Courageous conversations",
    "Think Family",
    "Vulnerabilities of adolescence",
    "Transitions – Choices for Life",
    "Domestic abuse awareness",
    "Neglect toolkit",
    "Prevent awareness",
    "Online safety",
    "Designated safeguarding lead update",
    "Early help assessment",
    "Child protection conferences",
    "Harmful sexual behaviour",
    "Female genital mutilation",
    "Forced marriage",
    "Honour based abuse",
    "Private fostering",
    "Missing children",
    "Substance misuse",
    "Young carers",
    "Disabled children",
    "Trauma informed practice",
    "Attachment",
    "Bruising in non-mobile babies",
    "Safe sleep",
    "Fabricated illness",
    "Self harm",
    "Gangs and county lines",
    "Modern slavery",
    "Radicalisation",
    "Recording and reporting",
]
AREAS = ["Taunton", "Bridgwater", "Yeovil", "Glastonbury", "Minehead", "Frome"]
SECTORS = [
    "Central Education",
    "Charities",
    "Children's Social Care",
    "Children's Centres",
    "District Councils",
    "Early Years Providers",
    "Health",
    "Independent Schools",
    "Other",
    "Police",
    "Probation",
    "Schools",
]
HEADER = [
    "course_title",
    "session_start",
    "venue",
    "attendee_name",
    "attendee_email",
    "agency",
    "sector",
    "status",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time `import_registers` on a generated register file against a raw "
        "bulk_create of the same places, in a throwaway SQLite database."
    )
    parser.add_argument("--rows", type=int, default=100_000, help="register rows (100000)")
    parser.add_argument("--seed", type=int, default=4, help="random seed (4)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    return args


def first_and_last(n: int) -> str:
    first = FIRST_NAMES[n % len(FIRST_NAMES)]
    return f"{first} {LAST_NAMES[(n // len(FIRST_NAMES)) % len(LAST_NAMES)]}"


def generate(path: Path, rows: int, seed: int) -> int:
    """Write the register CSV; returns how many rows make a place (all of them)."""
    rng = random.Random(seed)
    venues = [
        f"{area} {kind}"
        for area in AREAS
        for kind in ("Library", "Town Hall", "Children's Centre", "Fire Station", "Community Hall")
    ]
    agencies = [(f"Agency {n:04d} ({SECTORS[n % 12]})", SECTORS[n % 12]) for n in range(3000)]
    people = [
        (
            f"{first_and_last(n)} {n}",
            f"person{n}@example.org",
        )
        for n in range(25_000)
    ]
    start = dt.datetime(2009, 4, 1, 9, 30)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        written = 0
        session_number = 0
        while written < rows:
            session_number += 1
            day = start + dt.timedelta(days=session_number // 2, hours=4 * (session_number % 2))
            course = COURSES[session_number % len(COURSES)]
            venue = venues[session_number % len(venues)]
            when = (
                day.strftime("%Y-%m-%d %H:%M")
                if session_number % 2
                else (day.strftime("%d/%m/%Y %H:%M"))
            )
            places = min(rng.randint(12, 28), rows - written)
            for name, email in rng.sample(people, places):
                agency, sector = agencies[rng.randrange(len(agencies))]
                roll = rng.random()
                status = "attended" if roll < 0.85 else "absent" if roll < 0.95 else "cancelled"
                writer.writerow([course, when, venue, name, email, agency, sector, status])
            written += places
    return written


def main() -> int:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="traded-training-import-bench-"))
    try:
        return run(args, workdir)
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def run(args: argparse.Namespace, workdir: Path) -> int:
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DJANGO_ENV"] = "development"
    sys.path.insert(0, str(ROOT))

    django.setup()

    call_command("migrate", verbosity=0)
    register = workdir / "registers.csv"
    expected = generate(register, args.rows, args.seed)
    print(f"generated {expected} rows in {register.stat().st_size / 1e6:.1f} MB", file=sys.stderr)

    out, err = io.StringIO(), io.StringIO()
    began, began_cpu = time.perf_counter(), time.process_time()
    try:
        call_command("import_registers", str(register), verbosity=0, stdout=out, stderr=err)
    except Exception as error:  # the command's own failure: print it and fail the run
        sys.stderr.write(err.getvalue())
        print(f"import failed: {error}", file=sys.stderr)
        return 1
    import_s = time.perf_counter() - began
    import_cpu_s = time.process_time() - began_cpu
    places = Booking.objects.count()
    print(out.getvalue().strip(), file=sys.stderr)
    if places != expected:
        print(f"import made {places} places, expected {expected}", file=sys.stderr)
        return 1

    # The same places again by the shortest route. Untimed: read the rows back and resolve
    # every lookup, then clear the places, orders and audit entries the import made.
    good, problems, _count = registers_check(register_file_read(str(register)), now=timezone.now())
    assert not problems
    courses = {c.title.lower(): c.pk for c in Course.objects.all()}
    sessions = {(s.course_id, s.starts_at): s.pk for s in Session.objects.all()}
    agencies = {a.name.lower(): a.pk for a in Agency.objects.all()}
    bands = dict(Sector.objects.values_list("pk", "price_band_id"))
    with connection.cursor() as cursor:
        for table in ("bookings_auditentry", "bookings_booking", "bookings_order"):
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 (fixed names)
    resolved = [
        (
            sessions[(courses[row.course_title.lower()], row.starts_at)],
            agencies[row.agency.lower()],
            row,
        )
        for row in good
    ]

    began, began_cpu = time.perf_counter(), time.process_time()
    with transaction.atomic():
        orders: dict[tuple[int, int], Order] = {}
        for session_id, agency_id, _row in resolved:
            if (agency_id, session_id) not in orders:
                orders[(agency_id, session_id)] = Order(
                    agency_id=agency_id, payment_method=PaymentMethod.FREE
                )
        Order.objects.bulk_create(list(orders.values()), batch_size=BATCH_SIZE)
        Booking.objects.bulk_create(
            [
                Booking(
                    order=orders[(agency_id, session_id)],
                    session_id=session_id,
                    attendee_name=row.attendee_name,
                    attendee_email=row.attendee_email,
                    agency_id=agency_id,
                    sector_id=row.sector_id,
                    price_band_id=bands[row.sector_id],
                    price=ZERO,
                    payment_method=PaymentMethod.FREE,
                    status=BookingStatus.CANCELLED
                    if row.status == "cancelled"
                    else BookingStatus.CONFIRMED,
                    attendance="" if row.status == "cancelled" else row.status,
                )
                for session_id, agency_id, row in resolved
            ],
            batch_size=BATCH_SIZE,
        )
    bulk_create_s = time.perf_counter() - began
    bulk_create_cpu_s = time.process_time() - began_cpu
    if Booking.objects.count() != expected:
        print("bulk_create made a different number of places", file=sys.stderr)
        return 1

    ratio = import_s / bulk_create_s
    # CPU seconds too: on a busy machine wall-clock times swing, this process's CPU less so.
    print(
        f"cpu: import_s={import_cpu_s:.2f} bulk_create_s={bulk_create_cpu_s:.2f} "
        f"ratio={import_cpu_s / bulk_create_cpu_s:.2f}",
        file=sys.stderr,
    )
    print(
        f"import: rows={expected} import_s={import_s:.2f} bulk_create_s={bulk_create_s:.2f} "
        f"ratio={ratio:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
