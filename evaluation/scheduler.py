"""The one schedule of periodic jobs: what runs when, claimed so two schedulers run it once.

Lives in ``evaluation`` because that app may use every other one, and the jobs span all three.
``manage.py scheduler`` runs it as one long-lived process; ``--once`` runs what is due now.

Each job has a period (a minute, five minutes, a month) and runs once per period: the period's
start is its *slot*. Before running, a scheduler claims the slot in the shared cache with
``cache.add`` (atomic in the database cache every production process shares), so a second
scheduler, on this machine or another, finds the slot taken and skips it. The jobs themselves
claim their rows too (an email, a hold, an invitation), so even a job run twice does each
thing once: the slot claim only saves the repeated work.

The retention policy is applied daily where ``RETENTION_DAILY`` is on (production).

Refresher reminders are not a job of their own: the minute's housekeeping already queues them
(``bookings.housekeeping.housekeeping_run``), once per place.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connection
from django.utils import timezone

from bookings.housekeeping import housekeeping_run
from evaluation.calls.services import followup_calls_draw
from evaluation.privacy.retention import retention_apply
from evaluation.surveys.services import invitations_queue_due

logger = logging.getLogger(__name__)


def _minute(now: dt.datetime) -> str | None:
    return timezone.localtime(now).strftime("%Y-%m-%dT%H:%M")


def _five_minutes(now: dt.datetime) -> str | None:
    local = timezone.localtime(now)
    return local.replace(minute=local.minute - local.minute % 5).strftime("%Y-%m-%dT%H:%M")


def _first_of_month(now: dt.datetime) -> str | None:
    # The draw samples last months' attendees; it runs on the 1st (any time of that day, so a
    # scheduler that was down at midnight still draws when it comes back that day).
    local = timezone.localtime(now)
    return local.strftime("%Y-%m") if local.day == 1 else None


def _daily(now: dt.datetime) -> str | None:
    return timezone.localdate(now).isoformat() if settings.RETENTION_DAILY else None


def _tick(now: dt.datetime) -> str:
    result = housekeeping_run(now=now)
    return ", ".join(f"{name}={count}" for name, count in result.items())


def _survey_invitations(now: dt.datetime) -> str:
    result = invitations_queue_due(now=now)
    return f"invitations={result['invitations']}, reminders={result['reminders']}"


def _call_draw(now: dt.datetime) -> str:
    draw = followup_calls_draw(
        month=timezone.localdate(now),
        size=settings.CALL_DRAW_SIZE,
        actor="scheduler",
        now=now,
    )
    return f"{draw.month:%B %Y}: {draw.drawn} drawn from {draw.eligible} eligible"


def _retention(now: dt.datetime) -> str:
    result = retention_apply(as_of=timezone.localdate(now), dry_run=False, now=now)
    return "; ".join(result.lines()) or "nothing due"


@dataclass(frozen=True)
class Job:
    name: str
    slot: Callable[[dt.datetime], str | None]  # the period this moment is in; None: not today
    run: Callable[[dt.datetime], str]  # does the work, says what it did
    period_seconds: int  # how long the claim is kept


JOBS: tuple[Job, ...] = (
    Job("tick", _minute, _tick, 60),
    Job("survey-invitations", _five_minutes, _survey_invitations, 300),
    Job("call-draw", _first_of_month, _call_draw, 32 * 86400),
    Job("retention", _daily, _retention, 86400),
)


def slot_claim(*, job: Job, slot: str) -> bool:
    """True for the one scheduler that gets to run ``job`` in ``slot``."""
    # Kept twice the period, so a slow clock on another machine cannot claim it again.
    return cache.add(f"scheduler:{job.name}:{slot}", "claimed", timeout=job.period_seconds * 2)


def scheduler_run_due(
    *, now: dt.datetime, done: dict[str, str], jobs: tuple[Job, ...] = JOBS
) -> list[str]:
    """Run each job whose slot at ``now`` has not run yet (here, per ``done``, or elsewhere,
    per the claim). A job that fails is logged and the others still run; its slot is not
    retried (the next slot runs it again, and every job catches up on what it missed)."""
    ran = []
    for job in jobs:
        slot = job.slot(now)
        if slot is None or done.get(job.name) == slot:
            continue
        done[job.name] = slot
        try:
            if not slot_claim(job=job, slot=slot):
                continue
            summary = job.run(now)
        except Exception:  # one job's failure must not stop the others or the loop
            logger.exception("Scheduled job %r failed; its next period runs it again.", job.name)
            if not connection.in_atomic_block:
                close_old_connections()  # a broken connection is not reused by the next job
            continue
        logger.info("Scheduled job %r: %s", job.name, summary)
        ran.append(job.name)
    return ran
