#!/usr/bin/env python
"""Fault: the same waiting-list offer made by two workers and two web processes at once.

Run from the project root:  .venv/bin/python bench/faults/waitlist_race.py [--pg-port N]

Starts a throwaway PostgreSQL on 127.0.0.1; a session of 3 places is full, 4 people wait,
and the unit cancels one place (the real ``booking_cancel``; the offer task it queued is taken
off the queue so that the offer is made in the race). Two ``manage.py db_worker`` processes
(``TASKS_BACKEND=database``) are started and left idle. Then, at one moment (every racer
waits for the same clock time after starting):

- six ``offer_waiting_places`` tasks for the session are queued (as further cancellations,
  retries and web servers would) and the two workers take them;
- two web-server-like processes each run ``offer_waiting_places`` three times in process (what
  a web request does with the in-process task backend; with the database backend a request
  only queues the task, so no web request makes an offer itself);
- two processes run the tick (``call_command("tick")``, what ``manage.py tick`` runs; the tick
  passes on lapsed offers).

Round 1 proves the one free place was offered once: one entry OFFERED (the first to join),
one "offered a place" audit entry, one ``waitlist_offer`` email, sent once. Round 2 makes
that offer run out (``offer_expires_at`` moved into the past in the database) and races the
same again: the offer lapses once and passes to the next person once. Throughout, the session
is never over capacity. Exits 1 unless all of that holds; bounded (about a minute), it stops
every process it started and removes the database.

It can fail: with the session lock and the entry's conditional update both removed from
``waitlist_offer_next`` it reported the first person offered twice (two audit entries, two
emails) in both rounds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.faults.pieces import Pieces, free_port  # noqa: E402

HERE = Path(__file__).resolve()
WAITING = 4


# --- inside Django (child processes with DATABASE_URL set) ----------------------------------


def django_setup() -> dict[str, Any]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from bench.load import django_setup as people_and_sessions
    from bookings.places.booking import AttendeeSpec, booking_create
    from bookings.places.changes import booking_cancel
    from bookings.places.waitlist import waitlist_join
    from training.models import Agency, Session

    now = timezone.now()
    plan = people_and_sessions(WAITING)
    session = Session.objects.get(pk=plan["small"][0])  # 3 places
    agency = Agency.objects.get(name="Load Hill Primary School")
    order = booking_create(
        session=session,
        attendees=[
            AttendeeSpec(name=f"Attendee {n}", email=f"attendee{n}@loadhill.example.org")
            for n in range(session.capacity)
        ],
        agency=agency,
        booked_by=None,  # the unit itself: may invoice the agency
        payment_method="invoice",
        now=now,
    )
    for n, email in enumerate(plan["emails"]):
        person = get_user_model().objects.get(email=email)
        waitlist_join(session=session, person=person, now=now + dt.timedelta(seconds=n))
    booking_cancel(booking=order.bookings.order_by("pk").first(), actor=None, now=now, by_unit=True)
    # The cancellation queued its own offer task; it is taken off the queue so that the
    # offer is made in the race (the race queues six such tasks at the starting moment).
    removed, _ = DBTaskResult.objects.filter(task_path__endswith="offer_waiting_places").delete()
    return {"session": session.pk, "removed": removed}


def until(go: str) -> None:
    """Wait for the starting moment every racer was given (an epoch time)."""
    time.sleep(max(0.0, float(go) - time.time()))


def django_offer(session_id: str, go: str) -> dict[str, Any]:
    import django

    django.setup()
    from bookings.tasks import offer_waiting_places

    until(go)
    return {"offered": [offer_waiting_places.call(int(session_id)) for _ in range(3)]}


def django_inspect(session_id: str) -> dict[str, Any]:
    import django

    django.setup()
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from bookings.capacity import places_taken
    from bookings.models import AuditEntry, OutgoingEmail, WaitingListEntry
    from training.models import Session

    session = Session.objects.get(pk=int(session_id))
    entries = list(WaitingListEntry.objects.filter(session=session).order_by("joined_at", "pk"))
    audit = AuditEntry.objects.filter(
        object_type="bookings.waitinglistentry", object_id__in=[str(e.pk) for e in entries]
    )
    emails = OutgoingEmail.objects.filter(kind="waitlist_offer", waiting_list_entry__in=entries)
    tasks = DBTaskResult.objects.filter(task_path__endswith="offer_waiting_places")
    return {
        "capacity": session.capacity,
        "taken": places_taken(session.pk, timezone.now()),
        "entries": [[e.pk, e.status] for e in entries],
        "audit": sorted([int(a.object_id), a.action] for a in audit if "join" not in a.action),
        "emails": sorted([e.waiting_list_entry_id, e.sent_at is not None] for e in emails),
        "tasks": sorted(set(tasks.values_list("status", flat=True))),
        "by_worker": sorted(
            "+".join(ids)
            for ids in tasks.exclude(worker_ids=[]).values_list("worker_ids", flat=True)
        ),
    }


def django_lapse(session_id: str) -> dict[str, Any]:
    import django

    django.setup()
    from django.utils import timezone

    from bookings.models import WaitingListEntry

    changed = WaitingListEntry.objects.filter(session_id=int(session_id), status="offered").update(
        offer_expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    return {"changed": changed}


def django_tick(go: str) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command

    until(go)
    call_command("tick")  # what ``manage.py tick`` runs
    return {}


def django_enqueue(session_id: str, go: str) -> dict[str, Any]:
    import django

    django.setup()
    from bookings import jobs

    until(go)
    for _ in range(6):
        jobs.enqueue("offer_waiting_places", int(session_id))
    return {"queued": 6}


# --- the check ------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg-port", type=int, default=0, help="a free port when not given")
    args = parser.parse_args()
    failures: list[str] = []

    def check(condition: bool, proved: str, otherwise: str) -> None:
        print(("proved: " + proved) if condition else ("FAILED: " + otherwise), flush=True)
        if not condition:
            failures.append(otherwise)

    pieces = Pieces(args.pg_port or free_port(), EMAIL_BACKEND_KIND="console")
    try:
        session = str(pieces.helper(HERE, "--setup")["session"])

        def inspect() -> dict[str, Any]:
            return pieces.helper(HERE, "--inspect", session)

        def race(round_: int) -> list[int]:
            """At one moment, 1.5 s after every racer has had time to start: six offer tasks
            are queued for the two idle workers, and the two web-like processes and two
            ticks run; wait for them and for the queued tasks to be done."""
            go = str(time.time() + 8)
            me = [sys.executable, str(HERE)]
            racers = [pieces.start(f"queue-r{round_}", me + ["--enqueue", session, go])]
            for n in (1, 2):
                racers.append(pieces.start(f"web-{n}-r{round_}", me + ["--offer", session, go]))
                racers.append(pieces.start(f"tick-{n}-r{round_}", me + ["--tick", go]))
            codes = [racer.wait(timeout=120) for racer in racers]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                state = inspect()
                if state["tasks"] == ["SUCCESSFUL"] and all(sent for _, sent in state["emails"]):
                    break
                time.sleep(0.5)
            return codes

        before = inspect()
        first, second = before["entries"][0][0], before["entries"][1][0]
        print(
            f"session of {before['capacity']} places, {before['taken']} taken after one "
            f"cancellation; {len(before['entries'])} waiting",
            flush=True,
        )

        # Round 1: one free place, six tasks on two workers, two web processes, two ticks.
        pieces.worker("worker-1")
        pieces.worker("worker-2")
        codes = race(1)
        state = inspect()
        offered = [pk for pk, status in state["entries"] if status == "offered"]
        check(
            codes == [0] * 5
            and offered == [first]
            and state["audit"] == [[first, "offered a place"]]
            and state["emails"] == [[first, True]]
            and state["tasks"] == ["SUCCESSFUL"]
            and state["taken"] <= state["capacity"],
            f"one free place met by two workers (6 queued tasks), two web processes (3 offers "
            f"each) and two ticks at once was offered once: to the first in the list, one "
            f"audit entry, one offer email, sent once; {state['taken']}/{state['capacity']} "
            f"places taken",
            f"round 1: exit codes {codes}, state={state}",
        )

        print(f"tasks run by: {state['by_worker']}", flush=True)

        # Round 2: the offer runs out; the same racers pass it on at once.
        lapsed = pieces.helper(HERE, "--lapse", session)["changed"]
        codes = race(2)
        state = inspect()
        statuses = dict((pk, status) for pk, status in state["entries"])
        check(
            lapsed == 1
            and codes == [0] * 5
            and statuses[first] == "lapsed"
            and [pk for pk, s in statuses.items() if s == "offered"] == [second]
            and state["audit"]
            == sorted(
                [
                    [first, "offered a place"],
                    [first, "offer lapsed"],
                    [second, "offered a place"],
                ]
            )
            and state["emails"] == [[first, True], [second, True]]
            and state["taken"] <= state["capacity"],
            "the lapsed offer met by two workers (6 more tasks), two web processes and two "
            "ticks at once lapsed once and passed to the next person once (one audit entry "
            "each, one offer email each, sent once); nobody else was offered a place",
            f"round 2: exit codes {codes}, state={state}",
        )
    finally:
        pieces.close(keep_logs=bool(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    helpers = {
        "--setup": django_setup,
        "--offer": django_offer,
        "--inspect": django_inspect,
        "--lapse": django_lapse,
        "--enqueue": django_enqueue,
        "--tick": django_tick,
    }
    if len(sys.argv) >= 2 and sys.argv[1] in helpers:
        print(json.dumps(helpers[sys.argv[1]](*sys.argv[2:]), default=str))
        sys.exit(0)
    sys.exit(main())
