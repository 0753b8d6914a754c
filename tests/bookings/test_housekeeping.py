"""The tick keeps going: one item that fails is logged and the rest of the work still happens."""

from __future__ import annotations

import datetime as dt
import logging
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone

from bookings.housekeeping import housekeeping_run
from bookings.management.commands import tick as tick_command
from bookings.models import BookingStatus, PaymentMethod
from bookings.money import payments as payments_module
from bookings.places.booking import AttendeeSpec, booking_create
from tests.conftest import make_session
from training.models import Agency, Course, Venue

pytestmark = pytest.mark.django_db


def test_the_tick_releases_the_other_expired_holds_when_one_order_fails(
    course: Course, venue: Venue, school: Agency, monkeypatch: Any, caplog: Any
) -> None:
    now = timezone.now()
    booked_at = now - dt.timedelta(minutes=settings.BOOKING_HOLD_MINUTES + 1)
    orders = [
        booking_create(
            session=make_session(course, venue, starts_at=now + dt.timedelta(days=30 + n)),
            attendees=[AttendeeSpec(name=f"Colleague {n}", email=f"colleague{n}@example.org")],
            agency=school,
            booked_by=None,
            payment_method=PaymentMethod.CARD,
            now=booked_at,
        )
        for n in range(2)
    ]
    release = payments_module.held_release
    calls: list[int] = []

    def deadlocks_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("deadlock detected")
        return release(*args, **kwargs)

    monkeypatch.setattr(payments_module, "held_release", deadlocks_once)
    with caplog.at_level(logging.ERROR, logger="bookings.housekeeping"):
        result = housekeeping_run(now=now)

    assert result["holds_released"] == 1
    statuses = sorted(order.bookings.get().status for order in orders)
    assert statuses == [BookingStatus.EXPIRED, BookingStatus.HELD]
    assert "deadlock detected" in caplog.text
    # The next round picks up the one that failed.
    assert housekeeping_run(now=now)["holds_released"] == 1
    assert {order.bookings.get().status for order in orders} == {BookingStatus.EXPIRED}


def test_tick_every_minute_logs_a_failed_round_and_runs_the_next(
    monkeypatch: Any, caplog: Any
) -> None:
    rounds: list[int] = []

    def housekeeping(*, now: dt.datetime) -> dict[str, int]:
        rounds.append(1)
        if len(rounds) == 1:
            raise RuntimeError("the database went away")
        return dict.fromkeys(
            ("holds_released", "offers_lapsed", "refresher_reminders", "emails_queued"), 0
        )

    def sleep(seconds: float) -> None:
        if len(rounds) == 2:
            raise KeyboardInterrupt  # stopping the process still stops it

    monkeypatch.setattr(tick_command, "housekeeping_run", housekeeping)
    monkeypatch.setattr(tick_command.time, "sleep", sleep)
    out = StringIO()
    with (
        caplog.at_level(logging.ERROR, logger="bookings.management.commands.tick"),
        pytest.raises(KeyboardInterrupt),
    ):
        call_command("tick", every=60, stdout=out)

    assert len(rounds) == 2
    assert "the database went away" in caplog.text
    assert "holds released: 0" in out.getvalue()
