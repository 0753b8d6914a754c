"""One scheduler runs every periodic job on its schedule, once per period however many run."""

from __future__ import annotations

import datetime as dt
import logging
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from bookings.models import BookingStatus, PaymentMethod
from bookings.places.booking import AttendeeSpec, booking_create
from evaluation import scheduler
from tests.conftest import make_session
from training.models import Agency, Course, Venue

pytestmark = pytest.mark.django_db

LONDON = timezone.get_default_timezone()


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    cache.clear()  # the claims live in the cache


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=LONDON)


def test_the_tick_and_survey_invitations_run_each_period_and_the_draw_only_on_the_first(
    monkeypatch: Any,
) -> None:
    draws: list[dt.datetime] = []
    monkeypatch.setattr(scheduler, "_call_draw", lambda now: draws.append(now) or "drawn")
    jobs = tuple(
        job
        if job.name != "call-draw"
        else scheduler.Job("call-draw", job.slot, scheduler._call_draw, 60)
        for job in scheduler.JOBS
    )
    done: dict[str, str] = {}

    assert scheduler.scheduler_run_due(now=at(2026, 12, 2, 9, 0, 5), done=done, jobs=jobs) == [
        "tick",
        "survey-invitations",
    ]
    # The same minute again: nothing; the next minute: the tick only; five minutes on: both.
    assert scheduler.scheduler_run_due(now=at(2026, 12, 2, 9, 0, 50), done=done, jobs=jobs) == []
    assert scheduler.scheduler_run_due(now=at(2026, 12, 2, 9, 1, 0), done=done, jobs=jobs) == [
        "tick"
    ]
    assert scheduler.scheduler_run_due(now=at(2026, 12, 2, 9, 5, 0), done=done, jobs=jobs) == [
        "tick",
        "survey-invitations",
    ]
    assert draws == []
    assert "call-draw" in scheduler.scheduler_run_due(
        now=at(2027, 1, 1, 0, 0, 30), done=done, jobs=jobs
    )
    assert len(draws) == 1


def test_two_schedulers_run_each_period_once(monkeypatch: Any) -> None:
    ticks: list[dt.datetime] = []
    monkeypatch.setattr(scheduler, "housekeeping_run", lambda *, now: ticks.append(now) or {})
    now = at(2026, 12, 2, 9, 0, 5)

    first = scheduler.scheduler_run_due(now=now, done={})
    second = scheduler.scheduler_run_due(now=now, done={})  # another process, its own memory

    assert "tick" in first and "tick" not in second
    assert len(ticks) == 1


def test_a_failing_job_is_logged_and_the_others_still_run(monkeypatch: Any, caplog: Any) -> None:
    def broken(*, now: dt.datetime) -> dict[str, int]:
        raise RuntimeError("the mail server went away")

    monkeypatch.setattr(scheduler, "housekeeping_run", broken)
    with caplog.at_level(logging.ERROR, logger="evaluation.scheduler"):
        ran = scheduler.scheduler_run_due(now=at(2026, 12, 2, 9, 0, 5), done={})

    assert ran == ["survey-invitations"]
    assert "Scheduled job 'tick' failed" in caplog.text
    assert "the mail server went away" in caplog.text


def test_scheduler_once_releases_an_expired_hold(
    course: Course, venue: Venue, school: Agency
) -> None:
    now = timezone.now()
    order = booking_create(
        session=make_session(course, venue, starts_at=now + dt.timedelta(days=30)),
        attendees=[AttendeeSpec(name="Colleague", email="colleague@example.org")],
        agency=school,
        booked_by=None,
        payment_method=PaymentMethod.CARD,
        now=now - dt.timedelta(minutes=settings.BOOKING_HOLD_MINUTES + 1),
    )
    out = StringIO()

    call_command("scheduler", "--once", stdout=out)

    assert order.bookings.get().status == BookingStatus.EXPIRED
    assert "ran: tick, survey-invitations" in out.getvalue()


def test_retention_runs_once_a_day_where_it_is_switched_on(monkeypatch: Any, settings: Any) -> None:
    runs: list[dt.datetime] = []
    monkeypatch.setattr(scheduler, "_retention", lambda now: runs.append(now) or "done")
    jobs = tuple(
        scheduler.Job("retention", scheduler._daily, scheduler._retention, 86400)
        if job.name == "retention"
        else scheduler.Job(job.name, lambda now: None, job.run, job.period_seconds)
        for job in scheduler.JOBS
    )
    settings.RETENTION_DAILY = False
    assert scheduler.scheduler_run_due(now=at(2026, 12, 2, 3, 0), done={}, jobs=jobs) == []
    settings.RETENTION_DAILY = True
    done: dict[str, str] = {}
    assert scheduler.scheduler_run_due(now=at(2026, 12, 2, 3, 0), done=done, jobs=jobs) == [
        "retention"
    ]
    assert scheduler.scheduler_run_due(now=at(2026, 12, 2, 23, 0), done=done, jobs=jobs) == []
    assert scheduler.scheduler_run_due(now=at(2026, 12, 3, 0, 1), done=done, jobs=jobs) == [
        "retention"
    ]
    assert len(runs) == 2


def test_retention_is_on_in_production_by_default() -> None:
    assert settings.RETENTION_DAILY is settings.PRODUCTION
