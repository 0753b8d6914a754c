#!/usr/bin/env python
"""Benchmark for issue 3: many people press "Confirm booking" at the same moment.

Run from the project root:  .venv/bin/python bench/race.py  [--help for the options]

For SQLite and then for PostgreSQL it
  1. makes a throwaway database (a SQLite file in a temporary directory; a PostgreSQL server
     started with ``scripts/testdb start DIR PORT`` on 127.0.0.1 and a free port), runs
     ``manage.py migrate`` and then this script's ``--setup`` step against it: an approved agency
     that needs no purchase order, a priced course, a published session with 10 places, a
     session with ample places, and 30 agency bookers with profiles, each logged in by a
     database session whose key becomes the client's ``sessionid`` cookie;
  2. serves the app with gunicorn (8 sync workers, ``--bind 127.0.0.1:<free port>``, DEBUG off,
     tasks on the database backend as in production, so no email is sent inside a request);
  3. the race: 30 clients, each with its own cookies, GET the real booking form at
     ``/sessions/<pk>/book/``, fill it in as a person would (book myself, pay by invoice),
     POST it to the review step, and then all POST "Confirm booking" at the same moment
     (``threading.Barrier``). A redirect to the order page is a booking, a 200 page with the
     full-session message a refusal, anything else an error. The database is then asked how
     many places it holds, which must match;
  4. on PostgreSQL only, contended throughput: gunicorn is started again, with 2 sync workers
     (``--throughput-workers``: one per core, as the issue measured and ``bench/catalogue.py``
     serves), and K clients book distinct colleagues onto the session with ample places as
     fast as they can for a few seconds, through the same form.

Everything binds to and connects to 127.0.0.1 only; gunicorn and PostgreSQL are stopped and
the temporary directories removed in ``finally`` blocks, whatever happened.

Output ends with
    race sqlite: booked=N refused=N errors=N
    race postgresql: booked=N refused=N errors=N
    contended_bookings_per_s=N web_cpu_ms=N db_cpu_ms=N
(the CPU of gunicorn and of PostgreSQL per booking of the throughput run, from /proc).
Expected: booked=10 refused=20 errors=0 on both. The exit status is 1 when a race is not
exactly that, when any request errs, or when the database disagrees with what clients saw.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import django

# The models below are imported at the top (one place for imports), so Django is set up first:
# in this process with the project's settings, in the --setup and --report children with the
# database their environment names (child_env). Run as a script, the project root is not on
# the path by itself.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from allauth.account.models import EmailAddress  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import (  # noqa: E402
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
)
from django.contrib.auth.models import Group  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.cpu import tree_cpu_seconds  # noqa: E402
from bench.server import (  # noqa: E402
    HOST,
    STARTUP_TIMEOUT,
    Gunicorn,
    free_port,
    log_tail,
)
from bookings.models import Booking, BookingStatus, Invoice  # noqa: E402
from training.models import (  # noqa: E402
    Agency,
    BookerGrant,
    Course,
    CoursePrice,
    MembershipVerification,
    PriceBand,
    Profile,
    Sector,
    Session,
    SessionPart,
    SessionStatus,
    Venue,
)
from training.roles import Role  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REQUEST_TIMEOUT = 60.0  # SQLite writers may wait up to 30 s for the lock
FULL_MESSAGE = "This session is full. You can join the waiting list instead."
PRICE = "65.00"  # the course's price for the agency's (statutory) band


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Race 30 bookers for 10 places through the real booking form on SQLite and "
        "PostgreSQL behind gunicorn, then measure contended bookings per second on PostgreSQL."
    )
    parser.add_argument(
        "--workers", type=int, default=8, help="gunicorn workers for the race (default 8)"
    )
    parser.add_argument(
        "--throughput-workers",
        type=int,
        default=2,
        help="gunicorn workers for the throughput run (default 2: one per core of the machine "
        "the issue measured on, as bench/catalogue.py serves)",
    )
    parser.add_argument("--clients", type=int, default=30, help="racing clients (default 30)")
    parser.add_argument("--capacity", type=int, default=10, help="places to race for (default 10)")
    parser.add_argument(
        "--throughput-clients",
        type=int,
        default=8,
        help="concurrent clients for the throughput run (default 8)",
    )
    parser.add_argument(
        "--duration", type=float, default=5.0, help="seconds of the throughput run (default 5)"
    )
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="seconds of throughput warm-up (default 1)"
    )
    parser.add_argument(
        "--pg-port", type=int, default=0, help="PostgreSQL port (default: a free one)"
    )
    parser.add_argument("--setup", help=argparse.SUPPRESS)  # internal: runs inside Django
    parser.add_argument("--report", help=argparse.SUPPRESS)  # internal: runs inside Django
    args = parser.parse_args(argv)
    if args.setup is None and args.report is None:
        for name in ("workers", "throughput_workers", "clients", "capacity", "throughput_clients"):
            if getattr(args, name) < 1:
                parser.error(f"--{name.replace('_', '-')} must be at least 1")
        if args.throughput_clients > args.clients:
            parser.error("--throughput-clients cannot exceed --clients (one user per client)")
        if args.duration <= 0 or args.warmup < 0:
            parser.error("--duration must be positive and --warmup not negative")
    return args


# --- inside Django: set-up and report ---------------------------------------------------------


def django_setup(spec: dict[str, Any]) -> dict[str, Any]:
    """Create the programme and the logged-in bookers; return what the clients need."""

    django.setup()

    schools = Sector.objects.select_related("price_band").get(name="Schools")
    agency = Agency.objects.create(
        name="Race Hill Primary School",
        sector=schools,
        approved=True,
        purchase_order_required=False,
        address="1 Race Hill\nTaunton",
        invoice_contact_email="finance@racehill.example.org",
    )
    course = Course.objects.create(title="Working Together (race)", duration_half_days=2)
    for band in PriceBand.objects.all():
        amount = Decimal(PRICE) if band.pk == schools.price_band_id else Decimal("95.00")
        CoursePrice.objects.create(course=course, band=band, amount=amount)
    venue = Venue.objects.create(name="Race Hall", address="Taunton", area="taunton")
    day = timezone.localdate() + dt.timedelta(days=30)
    starts = timezone.make_aware(dt.datetime(day.year, day.month, day.day, 9, 30))

    def session(capacity: int) -> int:
        created = Session.objects.create(
            course=course, venue=venue, capacity=capacity, status=SessionStatus.PUBLISHED
        )
        SessionPart.objects.create(
            session=created, starts_at=starts, ends_at=starts + dt.timedelta(hours=6)
        )
        created.refresh_starts_at()
        return created.pk

    race_session = session(spec["capacity"])
    ample_session = session(10_000)
    groups = list(Group.objects.filter(name__in=[Role.PRACTITIONER, Role.AGENCY_BOOKER]))
    assert len(groups) == 2, "the role groups come from training's data migration"
    cookies = []
    for n in range(spec["users"]):
        email = f"booker{n:02d}@racehill.example.org"
        user = get_user_model().objects.create(
            username=email, email=email, first_name="Booker", last_name=f"{n:02d}"
        )
        user.set_unusable_password()
        user.save()
        user.groups.add(*groups)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        # A verified member holding a booker grant, as an agency's booker is since booking
        # rights became grants: otherwise the form offers no colleagues and no invoice.
        Profile.objects.create(
            user=user,
            agency=agency,
            job_title="Designated lead",
            agency_verified_at=timezone.now(),
            agency_verified_how=MembershipVerification.ADMINISTRATOR,
        )
        BookerGrant.objects.create(user=user, agency=agency)
        # Logged in as django.contrib.auth.login would leave it.
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        cookies.append(store.session_key)
    return {"race_session": race_session, "ample_session": ample_session, "sessionids": cookies}


def django_report(session_id: int) -> dict[str, Any]:
    """What the database holds for one session, to compare with what the clients saw."""

    django.setup()

    session = Session.objects.get(pk=session_id)
    bookings = Booking.objects.filter(session=session)
    numbers = sorted(
        int(number.rsplit("-", 1)[1])
        for number in Invoice.objects.filter(kind="invoice").values_list("number", flat=True)
    )
    return {
        "capacity": session.capacity,
        "confirmed": bookings.filter(status=BookingStatus.CONFIRMED).count(),
        "other": bookings.exclude(status=BookingStatus.CONFIRMED).count(),
        "distinct_attendees": bookings.values("attendee_email").distinct().count(),
        "invoice_numbers_gapless": numbers == list(range(1, len(numbers) + 1)),
    }


# --- processes --------------------------------------------------------------------------------


def child_env(database_url: str) -> dict[str, str]:
    """The developer's environment with everything the benchmark depends on pinned."""
    env = dict(os.environ)
    pinned = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "DJANGO_ENV": "development",
        "DEBUG": "false",
        "ALLOWED_HOSTS": HOST,
        # As in production: mail and other tasks are queued in the database for a worker,
        # never run inside the web request (none runs here: only the booking is measured).
        "TASKS_BACKEND": "database",
        "PAYMENT_GATEWAY": "development",
        "DB_CONN_MAX_AGE": "60",
        # Production's shared cache (sessions, allauth's throttling, the pages): the database.
        "CACHE_BACKEND": "database",
        # Eight clients from one address book as fast as they can: far past the booking
        # form's per-address and per-account limits (30 and 15 a minute), which stay on,
        # counted, so their cost is in the figure.
        "BOOKING_POSTS_PER_ADDRESS_PER_MINUTE": "1000000",
        "BOOKING_POSTS_PER_ACCOUNT_PER_MINUTE": "1000000",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
    }
    for name in pinned:
        env.pop(f"{name}_FILE", None)  # config.env refuses NAME together with NAME_FILE
    env.pop("GUNICORN_CMD_ARGS", None)
    env.update(pinned)
    return env


def run(env: dict[str, str], *arguments: str) -> str:
    result = subprocess.run(
        [sys.executable, *arguments], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"{' '.join(arguments[:3])} failed ({result.returncode})")
    return result.stdout.strip()


def in_django(env: dict[str, str], flag: str, value: dict[str, Any] | int) -> dict[str, Any]:
    output = run(env, str(Path(__file__).resolve()), flag, json.dumps(value))
    return json.loads(output.splitlines()[-1])


class PostgreSQL:
    """A throwaway server from scripts/testdb, on 127.0.0.1 only."""

    def __init__(self, port: int) -> None:
        self.port = port or free_port()
        # Its own directory: testdb hands it to the postgres user when run as root.
        self.directory = Path(tempfile.mkdtemp(prefix="bench-race-pg-"))
        self.started = False

    def start(self) -> str:
        subprocess.run(
            [str(ROOT / "scripts" / "testdb"), "start", str(self.directory), str(self.port)],
            check=True,
            cwd=ROOT,
        )
        self.started = True
        return f"postgres://postgres@{HOST}:{self.port}/postgres"

    @property
    def pid(self) -> int:
        try:
            return int((self.directory / "data" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return 0

    def stop(self) -> None:
        # testdb stop also removes the directory.
        subprocess.run(
            [str(ROOT / "scripts" / "testdb"), "stop", str(self.directory)],
            cwd=ROOT,
            check=False,
        )
        shutil.rmtree(self.directory, ignore_errors=True)


# --- the clients ------------------------------------------------------------------------------


class FormParser(HTMLParser):
    """The fields of the POST form whose action is ``action``, as a browser would submit them."""

    def __init__(self, action: str) -> None:
        super().__init__(convert_charrefs=True)
        self.action = action
        self.inside = False
        self.found = False
        self.fields: list[tuple[str, str]] = []
        self.buttons: list[tuple[str, str]] = []
        self.names: set[str] = set()
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if tag == "title":
            self._in_title = True
        if tag == "form":
            self.inside = (
                attributes.get("method", "").lower() == "post"
                and attributes.get("action") == self.action
            )
            self.found = self.found or self.inside
            return
        if not self.inside or "name" not in attributes:
            return
        name = attributes["name"]
        if tag == "input":
            kind = attributes.get("type", "text").lower()
            self.names.add(name)
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                return
            if kind in ("submit", "button", "image"):
                return
            self.fields.append((name, attributes.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "button" and attributes.get("type", "submit") == "submit":
            self.buttons.append((name, attributes.get("value", "")))
        elif tag in ("select", "textarea"):
            self.names.add(name)
            self.fields.append((name, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def read_form(body: bytes, action: str) -> FormParser:
    parser = FormParser(action)
    parser.feed(body.decode("utf-8", errors="replace"))
    if not parser.found:
        raise RuntimeError(f"no POST form to {action} on the page")
    return parser


def fill(
    form: FormParser, values: dict[str, str], button: tuple[str, str]
) -> list[tuple[str, str]]:
    """The form's own fields with ``values`` set, submitted with ``button``."""
    missing = [name for name in values if name not in form.names]
    if missing:
        raise RuntimeError(f"the booking form has no field {missing}; has {sorted(form.names)}")
    if button not in form.buttons:
        raise RuntimeError(f"the booking form has no button {button}; has {form.buttons}")
    fields = [(name, value) for name, value in form.fields if name not in values]
    return [*fields, *values.items(), button]


class Browser:
    """One person's client: a cookie jar and fresh HTTP connections to 127.0.0.1."""

    def __init__(self, port: int, sessionid: str = "") -> None:
        self.port = port
        self.cookies: dict[str, str] = {"sessionid": sessionid} if sessionid else {}

    def request(
        self, method: str, path: str, form: list[tuple[str, str]] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {"Host": f"{HOST}:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            content = response.read()
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return response.status, {k.lower(): v for k, v in response.getheaders()}, content
        finally:
            conn.close()


def booking_path(session_id: int) -> str:
    return f"/sessions/{session_id}/book/"


def review_form(browser: Browser, session_id: int, **colleague: str) -> FormParser:
    """GET the booking form, fill it in (pay by invoice) and POST it to the review step.

    Without ``colleague`` the booker books a place for themself; with name and email, for
    that colleague.
    """
    path = booking_path(session_id)
    status, _, body = browser.request("GET", path)
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}")
    step_one = read_form(body, path)
    values = {"payment_method": "invoice", "purchase_order_number": ""}
    if colleague:
        values.update(
            {"attendees-0-name": colleague["name"], "attendees-0-email": colleague["email"]}
        )
    else:
        values["include_myself"] = "on"
    status, _, body = browser.request("POST", path, fill(step_one, values, ("action", "review")))
    if status != 200:
        raise RuntimeError(f"POST {path} (review) answered {status}")
    review = read_form(body, path)
    if ("action", "confirm") not in review.buttons:
        raise RuntimeError(f"the review step did not offer to confirm: {review.title.strip()!r}")
    return review


def classify(status: int, headers: dict[str, str], body: bytes) -> str:
    if status == 302 and "/orders/" in urlsplit(headers.get("location", "")).path:
        return "booked"
    if status == 200 and FULL_MESSAGE.encode() in body:
        return "refused"
    title = re.search(rb"<title>(.*?)</title>", body, re.S)
    label = title.group(1).decode(errors="replace").strip()[:60] if title else ""
    return f"error: HTTP {status} {label}".strip()


@dataclass
class Race:
    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def booked(self) -> int:
        return self.outcomes["booked"]

    @property
    def refused(self) -> int:
        return self.outcomes["refused"]

    @property
    def errors(self) -> int:
        return sum(n for kind, n in self.outcomes.items() if kind not in ("booked", "refused"))


def race(port: int, session_id: int, sessionids: list[str]) -> Race:
    """Every client reaches the confirmation step, then all confirm at once."""
    result = Race()
    lock = threading.Lock()
    barrier = threading.Barrier(len(sessionids))

    def client(sessionid: str) -> None:
        browser = Browser(port, sessionid)
        outcome = "error: did not run"
        try:
            try:
                review = review_form(browser, session_id)
                confirm = fill(review, {}, ("action", "confirm"))
            finally:
                # Nobody starts until everybody is ready (a failed client still releases them).
                barrier.wait(timeout=STARTUP_TIMEOUT * 2)
            outcome = classify(*browser.request("POST", booking_path(session_id), confirm))
        except (
            OSError,
            http.client.HTTPException,
            RuntimeError,
            threading.BrokenBarrierError,
        ) as error:
            outcome = f"error: {type(error).__name__}: {error}"
        with lock:
            result.outcomes[outcome] += 1

    threads = [threading.Thread(target=client, args=(s,), daemon=True) for s in sessionids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result


@dataclass
class Throughput:
    booked: int = 0
    seconds: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)


def throughput(
    port: int, session_id: int, sessionids: list[str], *, seconds: float, tag: str
) -> Throughput:
    """Each client confirms bookings of new colleagues, one after another, for ``seconds``."""
    result = Throughput()
    lock = threading.Lock()
    ready = threading.Barrier(len(sessionids) + 1)
    go = threading.Event()
    deadline = [0.0]

    def client(index: int, sessionid: str) -> None:
        browser = Browser(port, sessionid)
        booked, errors = 0, Counter[str]()
        try:
            review = review_form(
                browser,
                session_id,
                name="Template Colleague",
                email=f"template-{tag}-{index}@example.org",
            )
        except (OSError, http.client.HTTPException, RuntimeError) as error:
            errors[f"{type(error).__name__}: {error}"] += 1
            review = None
        ready.wait()
        go.wait()
        n = 0
        while review is not None and time.perf_counter() < deadline[0]:
            n += 1
            colleague = {
                "attendees-0-name": f"Colleague {tag} {index}-{n}",
                "attendees-0-email": f"colleague-{tag}-{index}-{n}@example.org",
            }
            try:
                outcome = classify(
                    *browser.request(
                        "POST",
                        booking_path(session_id),
                        fill(review, colleague, ("action", "confirm")),
                    )
                )
            except (OSError, http.client.HTTPException) as error:
                outcome = f"error: {type(error).__name__}"
            if outcome == "booked":
                booked += 1
            else:
                errors[outcome] += 1
        with lock:
            result.booked += booked
            result.errors.update(errors)

    threads = [
        threading.Thread(target=client, args=(i, s), daemon=True) for i, s in enumerate(sessionids)
    ]
    for thread in threads:
        thread.start()
    ready.wait()  # every client has its form: the clock starts now
    began = time.perf_counter()
    deadline[0] = began + seconds
    go.set()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - began
    return result


# --- one database -----------------------------------------------------------------------------


def run_database(
    name: str,
    database_url: str,
    args: argparse.Namespace,
    tmp: Path,
    problems: list[str],
    database_pid: int = 0,
) -> tuple[Race, tuple[float, float, float] | None]:
    """The race on one database; on PostgreSQL also the contended throughput, returned as
    (bookings per second, web CPU ms per booking, database CPU ms per booking)."""
    env = child_env(database_url)
    started = time.perf_counter()
    run(env, "manage.py", "migrate", "--noinput", "--verbosity", "0")
    data = in_django(env, "--setup", {"capacity": args.capacity, "users": args.clients})
    print(
        f"{name}: migrated and set up in {time.perf_counter() - started:.1f} s "
        f"(session {data['race_session']}: {args.capacity} places, {args.clients} bookers)"
    )
    server = Gunicorn(env, workers=args.workers, log=tmp / f"gunicorn-{name}.log")
    rate: tuple[float, float, float] | None = None
    try:
        server.wait_until_ready("/accounts/login/")
        result = race(server.port, data["race_session"], data["sessionids"])
        held = in_django(env, "--report", data["race_session"])
        details = ", ".join(f"{kind} x{n}" for kind, n in sorted(result.outcomes.items()))
        print(
            f"{name}: {details}; database: {held['confirmed']} confirmed, "
            f"{held['other']} other, invoice numbers gapless: {held['invoice_numbers_gapless']}"
        )
        if (result.booked, result.refused, result.errors) != (
            args.capacity,
            args.clients - args.capacity,
            0,
        ):
            problems.append(
                f"{name}: expected booked={args.capacity} "
                f"refused={args.clients - args.capacity} errors=0"
            )
        if (
            held["confirmed"] != result.booked
            or held["other"]
            or held["confirmed"] > held["capacity"]
            or not held["invoice_numbers_gapless"]
        ):
            problems.append(f"{name}: the database disagrees with the clients: {held}")

        if not server.running():
            problems.append(f"{name}: gunicorn died:\n{log_tail(server.log)}")
        elif problems:
            print(f"gunicorn log ({name}, last lines):\n{log_tail(server.log)}", file=sys.stderr)
    finally:
        server.stop()
    if name == "postgresql" and not problems:
        rate = run_throughput(env, data, args, tmp, problems, database_pid)
    return result, rate


def run_throughput(
    env: dict[str, str],
    data: dict[str, Any],
    args: argparse.Namespace,
    tmp: Path,
    problems: list[str],
    database_pid: int,
) -> tuple[float, float, float]:
    """Contended throughput on PostgreSQL with its own gunicorn: (bookings per second, web CPU
    ms per booking, database CPU ms per booking)."""
    name = "postgresql"
    server = Gunicorn(
        env, workers=args.throughput_workers, log=tmp / f"gunicorn-{name}-throughput.log"
    )
    try:
        server.wait_until_ready("/accounts/login/")
        clients = data["sessionids"][: args.throughput_clients]
        if args.warmup:
            throughput(
                server.port, data["ample_session"], clients, seconds=args.warmup, tag="warmup"
            )
        cpu_before = (
            tree_cpu_seconds(server.pid),
            tree_cpu_seconds(database_pid),
            time.process_time(),
        )
        measured = throughput(
            server.port, data["ample_session"], clients, seconds=args.duration, tag="run"
        )
        web_cpu = tree_cpu_seconds(server.pid) - cpu_before[0]
        database_cpu = tree_cpu_seconds(database_pid) - cpu_before[1]
        client_cpu = time.process_time() - cpu_before[2]
        per_second = measured.booked / measured.seconds if measured.seconds else 0.0
        web_ms = database_ms = 0.0
        held = in_django(env, "--report", data["ample_session"])
        errors = ", ".join(f"{kind} x{n}" for kind, n in sorted(measured.errors.items()))
        print(
            f"{name} throughput: {len(clients)} clients, {args.throughput_workers} gunicorn "
            f"workers, {measured.booked} bookings in "
            f"{measured.seconds:.2f} s, errors: {sum(measured.errors.values())}"
            f"{' (' + errors + ')' if errors else ''}; database: {held['confirmed']} "
            f"confirmed, {held['distinct_attendees']} distinct attendees, invoice numbers "
            f"gapless: {held['invoice_numbers_gapless']}"
        )
        if measured.booked and web_cpu:
            # On a small machine the rate is bounded by CPU, shared with the clients and
            # whatever else runs: the cost per booking is the steadier number.
            web_ms = 1000 * web_cpu / measured.booked
            database_ms = 1000 * database_cpu / measured.booked
            client_ms = 1000 * client_cpu / measured.booked
            print(
                f"{name} throughput: CPU per booking: web {web_ms:.1f} ms, "
                f"database {database_ms:.1f} ms, clients {client_ms:.1f} ms "
                f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})"
            )
        rate = (per_second, web_ms, database_ms)
        if measured.errors:
            problems.append(f"{name} throughput: {sum(measured.errors.values())} errors")
        if not held["invoice_numbers_gapless"]:
            problems.append(f"{name} throughput: invoice numbers have gaps")
        if not server.running():
            problems.append(f"{name} throughput: gunicorn died:\n{log_tail(server.log)}")
    finally:
        server.stop()
    return rate


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.setup is not None:
        print(json.dumps(django_setup(json.loads(args.setup))))
        return 0
    if args.report is not None:
        print(json.dumps(django_report(json.loads(args.report))))
        return 0

    # A plain `kill` should still stop gunicorn and PostgreSQL and remove the directories.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    tmp = Path(tempfile.mkdtemp(prefix="bench-race-"))
    postgresql: PostgreSQL | None = None
    problems: list[str] = []
    try:
        sqlite, _ = run_database("sqlite", f"sqlite:///{tmp / 'race.sqlite3'}", args, tmp, problems)
        postgresql = PostgreSQL(args.pg_port)
        url = postgresql.start()
        pg, rate = run_database("postgresql", url, args, tmp, problems, postgresql.pid)
    finally:
        if postgresql is not None:
            postgresql.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    for name, result in (("sqlite", sqlite), ("postgresql", pg)):
        print(
            f"race {name}: booked={result.booked} refused={result.refused} errors={result.errors}"
        )
    per_second, web_ms, database_ms = rate or (0.0, 0.0, 0.0)
    print(
        f"contended_bookings_per_s={per_second:.1f} web_cpu_ms={web_ms:.1f} "
        f"db_cpu_ms={database_ms:.1f}"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
