#!/usr/bin/env python
"""Faults: the mail server down; one webhook and one hold expiry handled by many at once.

Run from the project root:  .venv/bin/python bench/faults/mail_and_races.py

Starts ``scripts/serve`` (throwaway PostgreSQL, gunicorn with 3 workers, two task workers, the
scheduler) with SMTP pointed at a port on 127.0.0.1 where nothing listens, then proves, and
exits 1 unless:

1. mail server failing: an invoice booking through the real pages is confirmed at once; its
   emails are not sent, keep their error, have been tried and wait for a later retry
   (``send_after`` moved on); nothing else about the booking is affected;
2. the same signed ``checkout.session.completed`` event POSTed 10 times at the same moment
   (spread over gunicorn's workers, as Stripe retrying meets two web servers): every delivery
   is acknowledged, the payment succeeds once, the places are confirmed once (one audit entry
   each) and each of the order's emails is queued once;
3. the same expired hold released by three ``manage.py tick`` processes and a
   ``scheduler --once`` started together: the places are released once (one audit entry each).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.browser import Browser, filled, post_form  # noqa: E402
from bench.load import PASSWORD, free_port, in_django  # noqa: E402

HERE = Path(__file__).resolve()


# --- inside Django (child processes with DATABASE_URL set) ----------------------------------


def django_inspect(reference: str) -> dict[str, Any]:
    import django

    django.setup()
    from bookings.models import AuditEntry, Order, OutgoingEmail, Payment

    if reference.startswith("cs_"):  # a checkout id: the card order it pays for
        order = Payment.objects.get(checkout_session_id=reference).order
    else:
        order = Order.objects.get(reference=reference)
    bookings = list(order.bookings.all())
    emails = list(
        OutgoingEmail.objects.filter(order=order)
        | OutgoingEmail.objects.filter(booking__in=bookings)
    )
    payments = list(order.payments.values_list("status", flat=True))
    audit = list(
        AuditEntry.objects.filter(
            object_type="bookings.booking", object_id__in=[str(b.pk) for b in bookings]
        ).values_list("object_id", "action")
    )
    checkout = order.payments.exclude(checkout_session_id="").first()
    return {
        "reference": order.reference,
        "statuses": [b.status for b in bookings],
        "booking_ids": [b.pk for b in bookings],
        "payments": payments,
        "checkout_id": checkout.checkout_session_id if checkout else "",
        "emails": [
            {
                "kind": e.kind,
                "sent": e.sent_at is not None,
                "attempts": e.attempts,
                "error": e.error[:80],
                "waits": e.send_after.isoformat(),
            }
            for e in emails
        ],
        "audit": audit,
    }


def django_event(checkout_id: str) -> dict[str, Any]:
    import django

    django.setup()
    from django.conf import settings

    from bookings.models import Payment
    from bookings.money.gateways import checkout_event, sign_payload

    payment = Payment.objects.select_related("order").get(checkout_session_id=checkout_id)
    body = json.dumps(checkout_event("checkout.session.completed", payment, paid=True))
    return {"body": body, "signature": sign_payload(body.encode(), settings.STRIPE_WEBHOOK_SECRET)}


def django_expire(reference: str) -> dict[str, Any]:
    import datetime as dt

    import django

    django.setup()
    from django.utils import timezone

    from bookings.models import Booking

    past = timezone.now() - dt.timedelta(minutes=1)
    changed = Booking.objects.filter(order__reference=reference, status="held").update(
        hold_expires_at=past
    )
    return {"changed": changed}


# --- the checks -----------------------------------------------------------------------------


def book(browser: Browser, session: int, n: int, method: str) -> tuple[str, str]:
    """Book a colleague; returns the order reference (card: the checkout id) and where the
    browser was sent."""
    path = f"/sessions/{session}/book/"
    _, _, page = browser.get(path)
    values = {
        "attendees-0-name": f"Colleague {method} {n}",
        "attendees-0-email": f"colleague-{method}-{n}@loadhill.example.org",
        "payment_method": method,
        "purchase_order_number": "",
    }
    _, _, page = browser.request(
        "POST", path, filled(post_form(page, path), values, ("action", "review"))
    )
    status, headers, page = browser.request(
        "POST", path, filled(post_form(page, path), {}, ("action", "confirm"))
    )
    if status != 302:
        raise RuntimeError(f"booking answered {status}")
    location = urlsplit(headers["location"]).path
    if location.startswith("/orders/"):
        return location.split("/")[2], location
    # Card: the development gateway's page, /payments/dev/<checkout id>/.
    return location.rstrip("/").rsplit("/", 1)[1], location


def main() -> int:
    web_port, pg_port, dead_smtp = free_port(), free_port(), free_port()
    database_url = f"postgres://postgres@127.0.0.1:{pg_port}/traded_training"
    log = Path(tempfile.mkdtemp(prefix="fault-mail-")) / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update(
        {
            "EMAIL_BACKEND_KIND": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(dead_smtp),  # nothing listens: every send fails at once
            "SMTP_USE_TLS": "false",
            "SMTP_TIMEOUT": "2",
            "TRUSTED_PROXY_COUNT": "1",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    command = [sys.executable, "scripts/serve", "--no-demo", "--port", str(web_port)]
    command += ["--pg-port", str(pg_port), "--web-workers", "3"]
    with log.open("wb") as out:
        serve = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    django_env = {**env, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    django_env.update({"TASKS_BACKEND": "database", "DEBUG": "false"})
    failures: list[str] = []

    def check(condition: bool, proved: str, otherwise: str) -> None:
        print(("proved: " + proved) if condition else ("FAILED: " + otherwise))
        if not condition:
            failures.append(otherwise)

    def inspect(reference: str) -> dict[str, Any]:
        return in_django_here(django_env, "--inspect", reference)

    try:
        deadline = time.monotonic() + 300
        while "serve: serving on" not in log.read_text(errors="replace"):
            if serve.poll() is not None or time.monotonic() > deadline:
                print(log.read_text()[-3000:])
                return 1
            time.sleep(0.5)
        plan = in_django(django_env, "--setup", "2")
        browser = Browser(web_port, client_ip="10.1.0.1")
        browser.sign_in(plan["emails"][0], PASSWORD)

        # 1. The mail server is down.
        reference, _ = book(browser, plan["courses"][0], 1, "invoice")
        time.sleep(8)  # the worker tries at once
        state = inspect(reference)
        tried = [e for e in state["emails"] if e["attempts"] >= 1]
        check(
            state["statuses"] == ["confirmed"]
            and state["emails"]
            and not any(e["sent"] for e in state["emails"])
            and tried
            and all(e["error"] for e in tried),
            f"with the mail server down the invoice booking was confirmed at once, and its "
            f"{len(state['emails'])} emails wait unsent with their error after "
            f"{max(e['attempts'] for e in state['emails'])} attempt(s), to be retried "
            f"(next try at {min(e['waits'] for e in tried)})",
            f"mail failure: {state}",
        )

        # 2. The same webhook, ten times at once.
        reference, _ = book(browser, plan["courses"][1], 2, "card")
        state = inspect(reference)
        event = in_django_here(django_env, "--event", state["checkout_id"])
        statuses: list[int] = []
        barrier = threading.Barrier(10)

        def deliver() -> None:
            barrier.wait()
            status, _, _ = Browser(web_port).request(
                "POST",
                "/payments/stripe/webhook/",
                body=event["body"].encode(),
                headers={
                    "Content-Type": "application/json",
                    "Stripe-Signature": event["signature"],
                },
            )
            statuses.append(status)

        threads = [threading.Thread(target=deliver) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        time.sleep(3)
        state = inspect(reference)
        kinds = [e["kind"] for e in state["emails"]]
        confirmations = [a for a in state["audit"] if "confirm" in a[1]]
        check(
            statuses == [200] * 10
            and state["payments"].count("succeeded") == 1
            and state["statuses"] == ["confirmed"]
            and len(confirmations) == 1
            and len(kinds) == len(set(kinds)),
            f"the same signed event delivered 10 times at once was acknowledged 10 times "
            f"({sorted(set(statuses))}), paid once, confirmed the place once "
            f"(audit: {confirmations}) and queued each email once ({kinds})",
            f"webhook race: statuses={statuses} state={state}",
        )

        # 3. One expired hold, three ticks and a scheduler at once.
        reference, _ = book(browser, plan["courses"][2], 3, "card")
        in_django_here(django_env, "--expire", inspect(reference)["reference"])
        manage = [sys.executable, "manage.py"]
        racers = [
            subprocess.Popen(
                manage + ["tick"],
                cwd=ROOT,
                env=django_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for _ in range(3)
        ]
        racers.append(
            subprocess.Popen(
                manage + ["scheduler", "--once"],
                cwd=ROOT,
                env=django_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        )
        codes = [racer.wait(timeout=120) for racer in racers]
        state = inspect(reference)
        releases = [a for a in state["audit"] if "expire" in a[1] or "release" in a[1]]
        check(
            codes == [0, 0, 0, 0] and state["statuses"] == ["expired"] and len(releases) == 1,
            f"an expired hold met by three ticks and a scheduler at once was released once "
            f"(audit: {releases})",
            f"hold race: exit codes {codes}, state={state}",
        )
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
    return 1 if failures else 0


def in_django_here(env: dict[str, str], flag: str, value: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(HERE), flag, value], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"{flag} failed:\n{result.stdout}{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("--inspect", "--event", "--expire"):
        helper = {"--inspect": django_inspect, "--event": django_event, "--expire": django_expire}
        print(json.dumps(helper[sys.argv[1]](sys.argv[2]), default=str))
        sys.exit(0)
    sys.exit(main())
