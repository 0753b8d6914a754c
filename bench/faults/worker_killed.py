#!/usr/bin/env python
"""Fault: a task worker SIGKILLed in the middle of sending an email.

Run from the project root:  .venv/bin/python bench/faults/worker_killed.py [--pg-port N]

Starts a throwaway PostgreSQL on 127.0.0.1, an SMTP stand-in on 127.0.0.1 (a small socket
server: it takes the first message's whole DATA and then never answers, as a mail server that
hangs does; every later message it accepts with 250 and records), and books an invoice place
for two colleagues (its emails are queued in the outbox with a ``send_emails`` task). Then:

1. worker A (``manage.py db_worker``, ``TASKS_BACKEND=database``) takes the task and hangs
   inside the first send; it is SIGKILLed there. The booking is whole (both places confirmed,
   the invoice written: the booking committed before any email was sent); the email in the
   send is claimed and unsent; django-tasks-db's row for the task is left ``RUNNING``
   (nothing in django-tasks-db re-runs it; the check prints what it finds);
2. worker B starts and ``manage.py tick`` runs: the order's other emails, never claimed, are
   sent at once; the email A was sending is NOT taken over while its claim is younger than
   the outbox's 15-minute ``CLAIM_TIMEOUT`` (a live worker's claim is never stolen);
3. the claim is moved back 16 minutes in the database (standing in for the passage of time:
   there is no setting for the timeout), and ``tick`` runs again: worker B sends it;
4. two more ticks: nothing more is sent. The SMTP stand-in accepted each email exactly once
   (the killed send never got its 250, so by SMTP it was never delivered), and every outbox
   row is sent.

Exits 1 unless all of that holds; bounded (about a minute; every wait has a deadline), it
stops every process it started and removes the database.

It can fail: with the claim's age test removed from ``bookings.outbox`` (every unsent email
sendable), the email of the killed send went again at step 2 and the check reported it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import socket
import sys
import threading
import time
from collections import Counter
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.faults.pieces import HOST, Pieces, free_port  # noqa: E402

HERE = Path(__file__).resolve()


# --- inside Django (child processes with DATABASE_URL set) ----------------------------------


def django_setup() -> dict[str, Any]:
    import django

    django.setup()
    from django.utils import timezone

    from bench.load import django_setup as people_and_sessions
    from bookings.places.booking import AttendeeSpec, booking_create
    from training.models import Profile, Session

    plan = people_and_sessions(2)
    booker = Profile.objects.select_related("user", "agency").get(user__email=plan["emails"][0])
    order = booking_create(
        session=Session.objects.get(pk=plan["courses"][0]),
        attendees=[
            AttendeeSpec(name="Colleague One", email="one@loadhill.example.org"),
            AttendeeSpec(name="Colleague Two", email="two@loadhill.example.org"),
        ],
        agency=booker.agency,
        booked_by=None,  # the unit itself (as an import books): may invoice the agency
        payment_method="invoice",
        now=timezone.now(),
    )
    return {"reference": order.reference}


def django_inspect(reference: str) -> dict[str, Any]:
    import django

    django.setup()
    from django.db.models import Q
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from bookings.models import Order, OutgoingEmail
    from bookings.outbox import render_email

    order = Order.objects.get(reference=reference)
    bookings = list(order.bookings.all())
    # The order's emails that are due now (its reminders wait for the week before).
    emails = OutgoingEmail.objects.filter(
        Q(order=order) | Q(booking__order=order) | Q(invoice__order=order),
        send_after__lte=timezone.now(),
    )
    tasks = DBTaskResult.objects.filter(task_path__endswith="send_emails").order_by("enqueued_at")
    return {
        "statuses": sorted(b.status for b in bookings),
        "invoices": order.invoices.count(),
        "emails": [
            {
                "id": e.pk,
                "kind": e.kind,
                "to": e.to,
                "subject": render_email(e).subject,
                "claimed": e.claimed_at is not None,
                "sent": e.sent_at is not None,
                "attempts": e.attempts,
            }
            for e in emails.distinct().order_by("pk")
        ],
        "tasks": [
            {"id": str(t.id), "status": t.status, "workers": t.worker_ids, "args": t.args_kwargs}
            for t in tasks
        ],
    }


def django_age_claims(reference: str) -> dict[str, Any]:
    import django

    django.setup()
    from django.db.models import Q
    from django.utils import timezone

    from bookings.models import Order, OutgoingEmail

    order = Order.objects.get(reference=reference)
    changed = (
        OutgoingEmail.objects.filter(
            Q(order=order) | Q(booking__order=order) | Q(invoice__order=order)
        )
        .filter(sent_at=None)
        .exclude(claimed_at=None)
        .update(claimed_at=timezone.now() - dt.timedelta(minutes=16))
    )
    return {"changed": changed}


# --- the SMTP stand-in ----------------------------------------------------------------------


class SmtpStandIn:
    """Hangs on the first message after its DATA (never answers); accepts the rest."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind((HOST, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.hanging = threading.Event()
        self.stop = threading.Event()
        self.held: tuple[str, str] | None = None
        self.delivered: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.talk, args=(connection,), daemon=True).start()

    def talk(self, connection: socket.socket) -> None:
        reader = connection.makefile("rb")

        def say(line: str) -> None:
            connection.sendall(line.encode() + b"\r\n")

        try:
            say("220 stand-in ESMTP")
            rcpt = ""
            while line := reader.readline():
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    say("250 stand-in")
                elif verb == b"MAIL":
                    say("250 OK")
                elif verb == b"RCPT":
                    rcpt = line.decode().split(":", 1)[1].strip().strip("<>").lower()
                    say("250 OK")
                elif verb == b"DATA":
                    say("354 go ahead")
                    data = b""
                    while (chunk := reader.readline()) not in (b".\r\n", b""):
                        data += chunk
                    subject = str(make_header(decode_header(message_from_bytes(data)["Subject"])))
                    with self.lock:
                        first = self.held is None
                        if first:
                            self.held = (rcpt, " ".join(subject.split()))
                    if first:  # the mail server hangs: no 250, ever
                        self.hanging.set()
                        self.stop.wait(120)
                        return
                    with self.lock:
                        self.delivered.append((rcpt, " ".join(subject.split())))
                    say("250 OK queued")
                elif verb == b"QUIT":
                    say("221 bye")
                    return
                else:
                    say("250 OK")
        except OSError:
            return
        finally:
            connection.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


# --- the check ------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg-port", type=int, default=0, help="a free port when not given")
    args = parser.parse_args()
    smtp = SmtpStandIn()
    failures: list[str] = []

    def check(condition: bool, proved: str, otherwise: str) -> None:
        print(("proved: " + proved) if condition else ("FAILED: " + otherwise), flush=True)
        if not condition:
            failures.append(otherwise)

    def wait_for(what: str, condition: Any, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.3)
        print(f"(waited {seconds:.0f} s for {what})", flush=True)
        return False

    pieces = Pieces(
        args.pg_port or free_port(),
        EMAIL_BACKEND_KIND="smtp",
        SMTP_HOST=HOST,
        SMTP_PORT=str(smtp.port),
        SMTP_USE_TLS="false",
        SMTP_TIMEOUT="90",  # longer than the check: the hang is ended by the kill, not a timeout
    )
    try:
        reference = pieces.helper(HERE, "--setup")["reference"]

        def inspect() -> dict[str, Any]:
            return pieces.helper(HERE, "--inspect", reference)

        before = inspect()
        print(f"booked {reference}: {before['statuses']}, {len(before['emails'])} emails due")

        # 1. Worker A hangs inside the first send and is killed there.
        worker_a = pieces.worker("worker-a")
        if not wait_for("worker A to be inside a send", smtp.hanging.is_set, 90):
            check(False, "", "worker A never reached the SMTP server")
            return 1
        os.kill(worker_a.pid, signal.SIGKILL)
        worker_a.wait(timeout=10)
        state = inspect()
        in_send = [e for e in state["emails"] if e["claimed"] and not e["sent"]]
        killed_tasks = [t for t in state["tasks"] if "worker-a" in t["workers"]]
        check(
            state["statuses"] == before["statuses"] == ["confirmed", "confirmed"]
            and state["invoices"] == 1,
            f"worker A SIGKILLed inside an SMTP send (signal {-worker_a.returncode}) left the "
            f"booking whole: places {state['statuses']}, {state['invoices']} invoice",
            f"the booking after the kill: {state}",
        )
        check(
            len(in_send) == 1 and (in_send[0]["to"], in_send[0]["subject"]) == smtp.held,
            f"the email in the send ({in_send[0]['kind'] if in_send else '?'} to "
            f"{smtp.held[0] if smtp.held else '?'}) is claimed, unsent, attempt "
            f"{in_send[0]['attempts'] if in_send else '?'}",
            f"the email being sent: in_send={in_send}, held={smtp.held}",
        )
        print(
            "observed: django-tasks-db's row of the killed task: "
            + ", ".join(f"{t['status']} (worker {t['workers']})" for t in killed_tasks),
            flush=True,
        )

        # 2. Worker B and a tick: the rest go at once, the live claim is respected.
        pieces.worker("worker-b")
        pieces.manage("tick")
        others = [e for e in state["emails"] if e not in in_send]
        wait_for(
            "the other emails",
            lambda: len(smtp.delivered) >= len(others),
            30,
        )
        time.sleep(2)
        state = inspect()
        unsent = [e for e in state["emails"] if not e["sent"]]
        check(
            len(smtp.delivered) == len(others)
            and smtp.held not in smtp.delivered
            and [e["id"] for e in unsent] == [e["id"] for e in in_send],
            f"worker B and a tick sent the order's {len(others)} other email(s) at once and "
            f"left the one in the killed send alone while its claim is under 15 minutes old",
            f"after worker B and a tick: delivered={smtp.delivered}, unsent={unsent}",
        )
        after_tick = [t for t in state["tasks"] if t["id"] in {k["id"] for k in killed_tasks}]
        print(
            "observed: after worker B started and a tick ran, the killed task's row is still "
            + ", ".join(t["status"] for t in after_tick)
            + "; django-tasks-db does not run it again, the tick's sweep of due emails does "
            "the work",
            flush=True,
        )

        # 3. Fifteen minutes later (the claim moved back), the tick hands it to worker B.
        aged = pieces.helper(HERE, "--age", reference)["changed"]
        pieces.manage("tick")
        wait_for("the email of the killed send", lambda: smtp.held in smtp.delivered, 30)

        # 4. More ticks send nothing more.
        pieces.manage("tick")
        pieces.manage("tick")
        time.sleep(3)
        state = inspect()
        counts = Counter(smtp.delivered)
        check(
            aged == 1
            and smtp.held in smtp.delivered
            and len(smtp.delivered) == len(state["emails"])
            and max(counts.values()) == 1
            and all(e["sent"] for e in state["emails"]),
            f"once its claim was 16 minutes old (set in the database, standing in for the "
            f"time passing) the next tick had worker B send the email of the killed send; "
            f"after two more ticks the mail server has accepted each of the "
            f"{len(state['emails'])} emails exactly once and every outbox row is sent",
            f"after the claim expired: aged={aged} delivered={smtp.delivered} state={state}",
        )
        check(
            state["statuses"] == ["confirmed", "confirmed"] and state["invoices"] == 1,
            "the booking is unchanged at the end (both places confirmed, one invoice)",
            f"the booking at the end: {state}",
        )
        print(
            "observed: the killed task's row at the end: "
            + ", ".join(
                t["status"] for t in state["tasks"] if t["id"] in {k["id"] for k in killed_tasks}
            ),
            flush=True,
        )
    finally:
        pieces.close(keep_logs=bool(failures))
        smtp.close()
    return 1 if failures else 0


if __name__ == "__main__":
    helpers = {"--setup": django_setup, "--inspect": django_inspect, "--age": django_age_claims}
    if len(sys.argv) >= 2 and sys.argv[1] in helpers:
        import json

        print(json.dumps(helpers[sys.argv[1]](*sys.argv[2:]), default=str))
        sys.exit(0)
    sys.exit(main())
