#!/usr/bin/env python
"""Load for issue 11: 50 people at once against `make serve`'s stack for 60 seconds.

Run from the project root:  .venv/bin/python bench/load.py  [--users 50 --duration 60]

1. starts ``scripts/serve`` (a throwaway PostgreSQL, gunicorn, two task workers, the
   scheduler) on 127.0.0.1 and free ports, without the demo;
2. sets up, inside Django against that database: an approved school that needs no purchase
   order, a priced course with six sessions of 30 places and two of 3 (they fill: the waiting
   list), a free MAPIG with four sessions, and ``--users`` agency bookers who may also read
   the reports, each with a password;
3. every simulated person signs in through the real form, all at once (timed apart: a
   password check costs CPU by design), then for ``--duration`` seconds each goes round,
   reading each page for about ``--think`` seconds (1) and filling in each form for about
   ``--fill`` seconds (3) before the next click, as people do (``--think 0 --fill 0`` is 50
   robots clicking as fast as the server answers: a throughput test, and the booking page's
   per-account rate limit rightly refuses some of them):
   the catalogue, a filter, a session page, and in turn one of: book a free MAPIG place for
   themself, book a colleague on invoice, book a colleague by card and pay on the development
   gateway's page (whose signed webhook confirms the order), cancel an invoice booking, join
   a waiting list and open two reports. A refusal a person is meant to see ("this session
   is full", "already booked") is not an error; any other status, or a failure to connect,
   is;
4. stops the clients, waits for the workers to send every email due, and asks the database:
   sessions holding more places than they have (``oversold``), orders with more than one
   successful payment (``double_paid``), and emails queued twice for the same thing or still
   unsent. Everything is stopped and removed in ``finally``.

Binds and connects to 127.0.0.1 only. The last line is
    load: users=50 rps=N p50_ms=N p95_ms=N p99_ms=N errors=N oversold=N double_paid=N
and the exit status is 1 if errors, oversold, double_paid, duplicate or unsent emails are not 0.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.browser import Browser, filled, post_form  # noqa: E402

HOST = "127.0.0.1"
PASSWORD = "load-test-password-31"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean seconds a person reads a page (0: robots)"
    )
    parser.add_argument(
        "--fill", type=float, default=3.0, help="mean seconds a person fills in a form"
    )
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    parser.add_argument("--report", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


# --- inside Django ----------------------------------------------------------------------------
# These run in a child process with DATABASE_URL set (``--setup``, ``--report``); Django and
# the models are imported there, after django.setup(), not when the runner starts.


def django_setup(users: int) -> dict[str, Any]:
    import datetime as dt
    from decimal import Decimal

    import django

    django.setup()
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from training.models import (
        Agency,
        Course,
        CourseKind,
        CoursePrice,
        PriceBand,
        Profile,
        Sector,
        Session,
        SessionPart,
        SessionStatus,
        Venue,
    )
    from training.roles import Role

    schools = Sector.objects.get(name="Schools")
    agency = Agency.objects.create(
        name="Load Hill Primary School",
        sector=schools,
        approved=True,
        purchase_order_required=False,
        address="1 Load Hill\nTaunton",
        invoice_contact_email="finance@loadhill.example.org",
    )
    course = Course.objects.create(title="Working Together (load)", duration_half_days=2)
    for band in PriceBand.objects.all():
        CoursePrice.objects.create(course=course, band=band, amount=Decimal("65.00"))
    mapig = Course.objects.create(
        title="Think Family (load)", kind=CourseKind.MAPIG, duration_half_days=1
    )
    venue = Venue.objects.create(name="Load Hall", address="Taunton", area="taunton")

    def session(of: Course, capacity: int, days: int) -> int:
        day = timezone.localdate() + dt.timedelta(days=days)
        starts = timezone.make_aware(dt.datetime(day.year, day.month, day.day, 9, 30))
        created = Session.objects.create(
            course=of, venue=venue, capacity=capacity, status=SessionStatus.PUBLISHED
        )
        SessionPart.objects.create(
            session=created, starts_at=starts, ends_at=starts + dt.timedelta(hours=3)
        )
        created.refresh_starts_at()
        return created.pk

    courses = [session(course, 30, 40 + n) for n in range(6)]
    small = [session(course, 3, 50 + n) for n in range(2)]
    mapigs = [session(mapig, 500, 45 + n) for n in range(4)]
    groups = list(
        Group.objects.filter(name__in=[Role.PRACTITIONER, Role.AGENCY_BOOKER, Role.BOARD_VIEWER])
    )
    hashed = make_password(PASSWORD)  # once: every person has the same password
    emails = []
    for n in range(users):
        email = f"booker{n:02d}@loadhill.example.org"
        user = get_user_model().objects.create(
            username=email, email=email, first_name="Booker", last_name=f"{n:02d}", password=hashed
        )
        user.groups.add(*groups)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        Profile.objects.create(user=user, agency=agency, job_title="Designated lead")
        emails.append(email)
    return {"courses": courses, "small": small, "mapigs": mapigs, "emails": emails}


def django_report() -> dict[str, Any]:
    import django

    django.setup()
    from django.db.models import Count, F, Q
    from django.utils import timezone

    from bookings.models import ACTIVE_STATUSES, OutgoingEmail, Payment, PaymentStatus
    from training.models import Session

    now = timezone.now()
    oversold = (
        Session.objects.annotate(
            taken=Count(
                "bookings",
                filter=Q(bookings__status__in=ACTIVE_STATUSES)
                & ~Q(bookings__status="held", bookings__hold_expires_at__lt=now),
            )
        )
        .filter(taken__gt=F("capacity"))
        .count()
    )
    double_paid = (
        Payment.objects.filter(status=PaymentStatus.SUCCEEDED)
        .values("order")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    duplicates = (
        OutgoingEmail.objects.values(
            "kind", "to", "booking", "order", "invoice", "waiting_list_entry"
        )
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    unsent = OutgoingEmail.objects.filter(sent_at=None, send_after__lte=now).count()
    sent = OutgoingEmail.objects.exclude(sent_at=None).count()
    return {
        "oversold": oversold,
        "double_paid": double_paid,
        "duplicate_emails": duplicates,
        "unsent_emails": unsent,
        "sent_emails": sent,
        "paid_orders": Payment.objects.filter(status=PaymentStatus.SUCCEEDED).count(),
    }


# --- the simulated people ---------------------------------------------------------------------


class TimeUp(Exception):
    """The run's time is up before a person's next click."""


class Person:
    def __init__(
        self,
        index: int,
        port: int,
        plan: dict[str, Any],
        stats: Stats,
        *,
        think: float = 0.0,
        fill: float = 0.0,
    ) -> None:
        self.index = index
        self.think, self.fill = think, fill
        self.deadline = float("inf")
        # Each person from an address of their own, as seen through one proxy: 50 sign-ins
        # from one address in ten seconds would (rightly) be throttled.
        self.browser = Browser(port, client_ip=f"10.0.{index // 250}.{index % 250 + 1}")
        self.plan = plan
        self.stats = stats
        self.rng = random.Random(index)
        self.invoice_bookings: list[int] = []
        self.step = 0

    def ok(self, status: int, what: str, body: bytes = b"") -> bool:
        if status in (200, 302):  # a refusal meant for the person ("full") is a 200 page
            return True
        self.stats.error(f"{what}: HTTP {status}")
        return False

    def browse(self) -> None:
        b = self.browser
        self.ok(b.get("/")[0], "catalogue")
        self.ok(b.get("/?kind=course&places=on")[0], "filter")
        session = self.rng.choice(self.plan["courses"])
        self.ok(b.get(f"/sessions/{session}/")[0], "session page")

    def colleague(self) -> dict[str, str]:
        self.step += 1
        return {
            "attendees-0-name": f"Colleague {self.index}-{self.step}",
            "attendees-0-email": f"colleague-{self.index}-{self.step}@loadhill.example.org",
        }

    def book(self, session: int, values: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        b = self.browser
        path = f"/sessions/{session}/book/"
        status, headers, page = b.get(path)
        if status != 200:  # a redirect here (to sign in, say) is no booking: an error
            raise RuntimeError(f"GET {path} answered {status} {headers.get('location', '')}")
        try:
            step = post_form(page, path)
        except RuntimeError:
            return 200, {}, page  # closed or full: the page says so
        status, headers, page = b.request("POST", path, filled(step, values, ("action", "review")))
        if status != 200:
            return status, headers, page
        try:
            review = post_form(page, path)
        except RuntimeError:
            return 200, headers, page
        return b.request("POST", path, filled(review, {}, ("action", "confirm")))

    def book_mapig(self) -> None:
        session = self.plan["mapigs"][(self.step // 5) % len(self.plan["mapigs"])]
        status, _, page = self.book(session, {"include_myself": "on"})
        self.ok(status, "free booking", page)

    def book_invoice(self) -> None:
        session = self.rng.choice(self.plan["courses"])
        status, headers, page = self.book(
            session, {**self.colleague(), "payment_method": "invoice", "purchase_order_number": ""}
        )
        if status == 302:
            status, _, page = self.browser.follow(status, headers)
            self.invoice_bookings += [
                int(pk) for pk in re.findall(rb'href="/bookings/(\d+)/"', page)
            ]
        self.ok(status, "invoice booking", page)

    def book_card(self) -> None:
        session = self.rng.choice(self.plan["courses"])
        status, headers, page = self.book(session, {**self.colleague(), "payment_method": "card"})
        if status != 302:
            self.ok(status, "card booking", page)
            return
        path = urlsplit(headers["location"]).path  # the development gateway's page
        status, _, page = self.browser.get(path)
        if not self.ok(status, "checkout page"):
            return
        form = post_form(page)
        status, headers, _ = self.browser.request("POST", path, filled(form, {}, ("action", "pay")))
        if self.ok(status, "pay"):
            self.ok(self.browser.follow(status, headers)[0], "order page after paying")

    def cancel(self) -> None:
        if not self.invoice_bookings:
            return self.book_invoice()
        booking = self.invoice_bookings.pop(0)
        path = f"/bookings/{booking}/cancel/"
        status, _, page = self.browser.get(path)
        if status != 200 or not self.ok(status, "cancel page"):
            return
        try:
            form = post_form(page, path)
        except RuntimeError:
            return  # already cancelled or past the cut-off: the page says so
        status, _, page = self.browser.request("POST", path, filled(form, {"reason": "load"}))
        self.ok(status, "cancel", page)

    def waitlist_and_reports(self) -> None:
        session = self.rng.choice(self.plan["small"])
        status, _, page = self.browser.get(f"/sessions/{session}/")
        path = f"/sessions/{session}/waiting-list/"
        if self.ok(status, "full session page") and path.encode() in page:
            form = post_form(page, path)
            status, _, page = self.browser.request("POST", path, filled(form, {}))
            self.ok(status, "join the waiting list", page)
        else:
            self.book_invoice_on(session)
        self.ok(self.browser.get("/reports/")[0], "reports")
        self.ok(self.browser.get("/reports/attendance-by-sector/")[0], "a report")

    def book_invoice_on(self, session: int) -> None:
        status, _, page = self.book(
            session, {**self.colleague(), "payment_method": "invoice", "purchase_order_number": ""}
        )
        self.ok(status, "invoice booking on a small session", page)

    def sign_in(self) -> None:
        try:
            self.browser.sign_in(self.plan["emails"][self.index], PASSWORD)
        except (OSError, RuntimeError) as error:
            self.stats.error(f"sign in: {error}")
        self.sign_in_seconds = sum(self.browser.timings)
        self.browser.timings.clear()
        self.browser.labelled.clear()
        if self.think or self.fill:
            self.browser.pause = self.pause

    def pause(self, method: str) -> None:
        """A person reads a page, or fills in a form, before the next click: a random time
        around the mean (half to one and a half times it), so the clicks do not march in step."""
        mean = self.fill if method == "POST" else self.think
        wait = mean * self.rng.uniform(0.5, 1.5)
        if time.monotonic() + wait >= self.deadline:
            raise TimeUp  # the run ends while this person is still reading
        time.sleep(wait)

    def run(self, deadline: float) -> None:
        self.deadline = deadline
        actions = [
            self.book_mapig,
            self.book_invoice,
            self.book_card,
            self.cancel,
            self.waitlist_and_reports,
        ]
        turn = self.index
        try:
            while time.monotonic() < deadline:
                try:
                    self.browse()
                    actions[turn % len(actions)]()
                except TimeUp:
                    break
                except Exception as error:  # counted, never a simulated person silently gone
                    self.stats.error(f"{type(error).__name__}: {error}")
                turn += 1
        finally:
            self.stats.add_timings(self.browser.timings, self.browser.labelled)


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.errors: Counter[str] = Counter()
        self.timings: list[float] = []
        self.by_kind: dict[str, list[float]] = {}

    def error(self, what: str) -> None:
        with self.lock:
            self.errors[what[:120]] += 1

    def add_timings(self, timings: list[float], labelled: list[tuple[str, float]]) -> None:
        with self.lock:
            self.timings += timings
            for kind, seconds in labelled:
                self.by_kind.setdefault(kind, []).append(seconds)


# --- the stack --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def in_django(env: dict[str, str], *flags: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *flags],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"{flags[0]} failed:\n{result.stdout}{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    args = parse_args()
    if args.setup is not None:
        print(json.dumps(django_setup(int(args.setup))))
        return 0
    if args.report:
        print(json.dumps(django_report()))
        return 0

    web_port, pg_port = free_port(), free_port()
    database_url = f"postgres://postgres@{HOST}:{pg_port}/traded_training"
    tmp = Path(tempfile.mkdtemp(prefix="load-"))
    log = tmp / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update({"LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT), "TRUSTED_PROXY_COUNT": "1"})
    # The simulated people are bookers and board viewers (to open the reports); board viewers
    # must set up a second factor before anything else (training.mfa), and the load does not
    # drive an authenticator app, so the requirement is off for this development-settings run,
    # as the test suite's journeys have it (production always enforces it).
    env["MFA_REQUIRED_FOR_STAFF"] = "false"
    serve_command = [sys.executable, "scripts/serve", "--no-demo", "--port", str(web_port)]
    serve_command += ["--pg-port", str(pg_port), "--web-workers", str(args.web_workers)]
    serve_command += ["--threads", str(args.threads)]
    with log.open("wb") as out:
        serve = subprocess.Popen(
            serve_command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stats = Stats()
    try:
        deadline = time.monotonic() + 300
        while "serve: serving on" not in log.read_text(errors="replace"):
            if serve.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("serve did not start:\n" + log.read_text()[-3000:])
            time.sleep(0.5)
        django_env = {
            **env,
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        django_env.update({"TASKS_BACKEND": "database", "DEBUG": "false"})
        plan = in_django(django_env, "--setup", str(args.users))
        # Everyone signs in through the real form first, at once (50 password checks:
        # PBKDF2 costs tens of ms of CPU each by design), timed apart from the run.
        people = [
            Person(n, web_port, plan, stats, think=args.think, fill=args.fill)
            for n in range(args.users)
        ]
        signing_in = [threading.Thread(target=person.sign_in) for person in people]
        signed_at = time.monotonic()
        for thread in signing_in:
            thread.start()
        for thread in signing_in:
            thread.join()
        sign_in_elapsed = time.monotonic() - signed_at
        sign_ins = sorted(person.sign_in_seconds for person in people)
        load1 = os.getloadavg()[0]
        started = time.monotonic()
        deadline = started + args.duration
        threads = [
            threading.Thread(target=person.run, args=(deadline,), daemon=True) for person in people
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=args.duration + 120)
        elapsed = time.monotonic() - started
        load2 = os.getloadavg()[0]
        # The workers send what the run queued; the check waits for them (up to a minute).
        report: dict[str, Any] = {}
        for _ in range(60):
            report = in_django(django_env, "--report")
            if report["unsent_emails"] == 0:
                break
            time.sleep(1)
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
    timings = sorted(stats.timings)
    errors = sum(stats.errors.values())

    def pct(p: float) -> int:
        return round(timings[min(len(timings) - 1, int(p * len(timings)))] * 1000) if timings else 0

    for kind, seconds in sorted(stats.by_kind.items(), key=lambda item: -sum(item[1])):
        seconds.sort()
        print(
            f"  {kind:<40} n={len(seconds):<5} median_ms={round(seconds[len(seconds) // 2] * 1000)}"
            f" p95_ms={round(seconds[int(0.95 * len(seconds))] * 1000)}"
        )
    for what, n in stats.errors.most_common(10):
        print(f"  error x{n}: {what}")
    print(
        f"sign-in of {args.users} at once: {sign_in_elapsed:.1f} s, per person median_ms="
        f"{round(sign_ins[len(sign_ins) // 2] * 1000)} max_ms={round(sign_ins[-1] * 1000)}"
    )
    print(
        f"requests={len(timings)} seconds={elapsed:.1f} median_ms="
        f"{round(statistics.median(timings) * 1000) if timings else 0} "
        f"load_average={load1:.2f}->{load2:.2f} cpus={os.cpu_count()} "
        f"think_s={args.think:g} fill_s={args.fill:g}"
    )
    print(
        f"emails sent={report['sent_emails']} unsent={report['unsent_emails']} "
        f"duplicates={report['duplicate_emails']} paid_orders={report['paid_orders']}"
    )
    print(
        f"load: users={args.users} rps={len(timings) / elapsed:.0f} p50_ms={pct(0.50)} "
        f"p95_ms={pct(0.95)} p99_ms={pct(0.99)} errors={errors} "
        f"oversold={report['oversold']} double_paid={report['double_paid']}"
    )
    bad = errors or report["oversold"] or report["double_paid"] or not timings
    return 1 if bad or report["duplicate_emails"] or report["unsent_emails"] else 0


if __name__ == "__main__":
    sys.exit(main())
