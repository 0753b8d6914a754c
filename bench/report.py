#!/usr/bin/env python
"""Benchmark for issue 6: the attendance-by-sector report against a raw SQL GROUP BY.

Run from the project root:  .venv/bin/python bench/report.py  [--help for the options]

For SQLite (a file in a temporary directory, never var/db.sqlite3) and then for a throwaway
PostgreSQL (``scripts/testdb start DIR PORT``, bound to 127.0.0.1 only) it
  1. runs ``migrate`` and loads 1,000,000 attended places (plus 5% absences and
     cancellations) on 20,000 sessions of 12 course titles over ten financial years, with a
     bulk insert: ``executemany`` in one transaction on SQLite, ``COPY`` on PostgreSQL;
  2. ANALYZEs, then times, alternately, the report's selector
     (``evaluation.reports.attendance_by_sector`` for all ten years, so every row is counted)
     and a hand-written SQL query that computes the same table in one GROUP BY (per title: the
     distinct sessions, a count per sector, and all places), on the same connection;
  3. checks that both give the same numbers, and keeps the best of ``--repeat`` runs of each.

Each database is loaded and timed in a child process (Django's settings are read once per
process); the PostgreSQL server and the temporary directory are removed whatever happens.
The last two lines are
    report sqlite: report_s=N raw_sql_s=N ratio=N
    report postgresql: report_s=N raw_sql_s=N ratio=N
where ratio = report_s / raw_sql_s (1.00 would mean the ORM, the pivot and the Python that
assembles the table cost nothing beyond the SQL). A non-zero exit status means the run failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import django
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from bookings.models import Attendance, Booking, BookingStatus, Order, PaymentMethod
from evaluation.reports import Period, attendance_by_sector
from training.models import Agency, Course, CourseKind, Sector, Session, SessionStatus, Venue

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
FIRST_YEAR, YEARS = 2010, 10
SESSIONS = 20_000
TITLES = 12


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time the attendance-by-sector report against a raw SQL GROUP BY over "
        "1,000,000 attended places, on SQLite and on a throwaway PostgreSQL."
    )
    parser.add_argument(
        "--places", type=int, default=1_000_000, help="attended places to load (default 1,000,000)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="timed runs of each query; the best is kept (default 3)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=25434,
        help="port for the throwaway PostgreSQL on 127.0.0.1 (default 25434)",
    )
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="run one database only")
    parser.add_argument("--worker", choices=("sqlite", "postgresql"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- the child process: load, then time ------------------------------------------------------


def worker(engine: str, places: int, repeat: int) -> str:

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    django.setup()

    call_command("migrate", verbosity=0, interactive=False)
    started = time.perf_counter()
    load(places)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"  {engine}: loaded {places:,} attended places in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
        flush=True,
    )
    report_s, raw_s = time_both(repeat)
    return (
        f"report {engine}: report_s={report_s:.3f} raw_sql_s={raw_s:.3f} "
        f"ratio={report_s / raw_s:.2f}"
    )


def load(places: int) -> None:
    """Reference rows with the ORM; the places themselves with one bulk insert."""

    rng = random.Random(6)
    sectors = list(Sector.objects.select_related("price_band").order_by("order"))
    agencies = Agency.objects.bulk_create(
        Agency(name=f"Bench agency {sector.pk}-{n}", sector=sector)
        for sector in sectors
        for n in range(5)
    )
    venue = Venue.objects.create(name="Bench venue", address="Somewhere", area="taunton")
    courses = Course.objects.bulk_create(
        [
            Course(
                title=f"Bench course {n:02d}", slug=f"bench-course-{n:02d}", kind=CourseKind.COURSE
            )
            for n in range(TITLES)
        ]
        + [Course(title="Bench MAPIG", slug="bench-mapig", kind=CourseKind.MAPIG)]
    )
    first_day = dt.date(FIRST_YEAR, 4, 1)
    span = (dt.date(FIRST_YEAR + YEARS, 3, 31) - first_day).days
    sessions = Session.objects.bulk_create(
        (
            Session(
                course=courses[n % len(courses)],
                venue=venue,
                capacity=60,
                status=SessionStatus.CANCELLED if n % 97 == 0 else SessionStatus.PUBLISHED,
                starts_at=timezone.make_aware(
                    dt.datetime.combine(
                        first_day + dt.timedelta(days=n * span // SESSIONS), dt.time(9, 30)
                    )
                ),
            )
            for n in range(SESSIONS)
        ),
        batch_size=5000,
    )
    orders = Order.objects.bulk_create(
        (
            Order(
                agency=agencies[n % len(agencies)],
                payment_method=PaymentMethod.INVOICE,
                reference=f"BENCH-{n:07d}",
            )
            for n in range(SESSIONS)
        ),
        batch_size=5000,
    )

    columns = [field.column for field in Booking._meta.concrete_fields if not field.primary_key]
    now = timezone.now()
    extra = places // 20  # absences and cancellations besides the attended places
    agency_rows = [(a.pk, a.sector_id, a.sector.price_band_id) for a in agencies]
    postgresql = connection.vendor == "postgresql"
    # SQLite's driver takes text for datetimes and decimals; psycopg takes the objects.
    when = now if postgresql else connection.ops.adapt_datetimefield_value(now)
    price = Decimal("65.00") if postgresql else "65.00"
    nothing = Decimal("0.00") if postgresql else "0.00"
    template = {
        "attendee_id": None,
        "attendee_name": "Bench Person",
        "attendee_job_title": "",
        "price": price,
        "in_kind_value": nothing,
        "payment_method": PaymentMethod.INVOICE.value,
        "hold_expires_at": None,
        "created_at": when,
        "confirmed_at": when,
        "cancellation_reason": "",
        "late_cancellation": False,
    }
    row_template = [template.get(column) for column in columns]
    at = {column: index for index, column in enumerate(columns)}
    outcomes = {
        "attended": (BookingStatus.CONFIRMED.value, Attendance.ATTENDED.value, None),
        "absent": (BookingStatus.CONFIRMED.value, Attendance.ABSENT.value, None),
        "cancelled": (BookingStatus.CANCELLED.value, Attendance.UNKNOWN.value, when),
    }

    def rows() -> Iterator[tuple[object, ...]]:
        for n in range(places + extra):
            slot = n % SESSIONS
            agency_id, sector_id, band_id = agency_rows[rng.randrange(len(agency_rows))]
            outcome = "attended" if n < places else ("absent" if n % 2 else "cancelled")
            status, attendance, cancelled_at = outcomes[outcome]
            row = row_template.copy()
            row[at["order_id"]] = order_ids[slot]
            row[at["session_id"]] = session_ids[slot]
            row[at["attendee_email"]] = f"p{n}@bench.example.org"
            row[at["agency_id"]] = agency_id
            row[at["sector_id"]] = sector_id
            row[at["price_band_id"]] = band_id
            row[at["status"]] = status
            row[at["attendance"]] = attendance
            row[at["cancelled_at"]] = cancelled_at
            row[at["claim_token"]] = f"bench-claim-{n}"
            row[at["certificate_code"]] = f"B{n:09d}"
            yield tuple(row)

    order_ids = [order.pk for order in orders]
    session_ids = [session.pk for session in sessions]
    table = Booking._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if postgresql:
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows():
                    copy.write_row(row)
        else:
            insert = (
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join(['%s'] * len(columns))})"
            )
            batch = []
            for row in rows():
                batch.append(row)
                if len(batch) == 50_000:
                    cursor.executemany(insert, batch)
                    batch = []
            if batch:
                cursor.executemany(insert, batch)
    if Booking.objects.filter(attendance=Attendance.ATTENDED).count() != places:
        raise SystemExit("The bulk insert did not write every place.")


RAW_SQL = """
SELECT c.title,
       COUNT(DISTINCT b.session_id),
       {per_sector},
       COUNT(*)
  FROM bookings_booking b
  JOIN training_session s ON s.id = b.session_id
  JOIN training_course c ON c.id = s.course_id
 WHERE b.attendance = 'attended' AND b.status = 'confirmed' AND s.status <> 'cancelled'
   AND s.starts_at >= %s AND s.starts_at < %s AND c.kind = 'course'
 GROUP BY c.title
"""


def time_both(repeat: int) -> tuple[float, float]:

    period = Period(dt.date(FIRST_YEAR, 4, 1), dt.date(FIRST_YEAR + YEARS, 3, 31))
    start, end = period.bounds()
    sector_ids = list(Sector.objects.order_by("order", "name").values_list("pk", flat=True))
    sql = RAW_SQL.format(
        per_sector=", ".join(
            f"COUNT(*) FILTER (WHERE b.sector_id = {int(pk)})" for pk in sector_ids
        )
    )
    params = [
        connection.ops.adapt_datetimefield_value(start),
        connection.ops.adapt_datetimefield_value(end),
    ]

    def report() -> list[list[object]]:
        return attendance_by_sector(period).table.rows

    def raw() -> list[list[object]]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return sorted(
                (list(row) for row in cursor.fetchall()),
                key=lambda row: (str(row[0]).casefold(), row[0]),
            )

    if report() != raw():  # also warms both up
        raise SystemExit("The report and the raw SQL disagree.")
    report_times, raw_times = [], []
    for _ in range(repeat):
        for run, times in ((report, report_times), (raw, raw_times)):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
    return min(report_times), min(raw_times)


# --- the parent process: one child per database ----------------------------------------------


def run_child(engine: str, database_url: str, args: argparse.Namespace) -> str:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ENV": "development",
        "DEBUG": "false",
    }
    result = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            engine,
            "--places",
            str(args.places),
            "--repeat",
            str(args.repeat),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"The {engine} run failed (exit status {result.returncode}).")
    return result.stdout.strip().splitlines()[-1]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        print(worker(args.worker, args.places, args.repeat), flush=True)
        return 0
    if args.only in (None, "sqlite"):
        scratch = Path(tempfile.mkdtemp(prefix="report-bench-"))
        try:
            print(run_child("sqlite", f"sqlite:///{scratch / 'bench.sqlite3'}", args), flush=True)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    if args.only in (None, "postgresql"):
        # Its own directory: scripts/testdb hands it to the postgres user.
        pg_dir = tempfile.mkdtemp(prefix="report-bench-pg-")
        testdb = str(ROOT / "scripts" / "testdb")
        try:
            subprocess.run([testdb, "start", pg_dir, str(args.port)], check=True)
            url = f"postgres://postgres@{HOST}:{args.port}/postgres"
            print(run_child("postgresql", url, args), flush=True)
        finally:
            subprocess.run([testdb, "stop", pg_dir], check=False)
            shutil.rmtree(pg_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
