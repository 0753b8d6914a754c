"""The periodic housekeeping: expired holds, lapsed offers, passed deadlines, reminders, email."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable

from django.db import DatabaseError

from bookings import jobs
from bookings.attendance.certificates import refresher_reminders_queue
from bookings.errors import BookingError
from bookings.money.payments import expired_hold_orders, order_holds_release
from bookings.outbox import emails_due
from bookings.places.approvals import approval_expire, approval_reminders_send, lapsed_approvals
from bookings.places.reservations import (
    reservation_remind,
    reservation_settle,
    reservations_past_deadline,
    reservations_to_remind,
)
from bookings.places.waitlist import lapsed_offer_sessions, waitlist_offer_next
from training.counters import counters_delete_expired
from training.models import Session

logger = logging.getLogger(__name__)

# Due emails are handed to workers in batches this size: the tick's backlog spread over
# several workers.
EMAIL_BATCH = 20


def _each[T](what: str, items: Iterable[T], work: Callable[[T], int]) -> int:
    """Run ``work`` on each item (each in a transaction of its own, opened by ``work``); one
    that fails in the database (a deadlock, a lost connection) is logged and left for the
    next round, and the others still run."""
    done = 0
    for item in items:
        try:
            done += work(item)
        except (DatabaseError, BookingError):
            logger.exception("Housekeeping: %s %r failed; the next round tries again.", what, item)
    return done


def _offers_pass_on(session_id: int, *, now: dt.datetime) -> int:
    waitlist_offer_next(session=Session.objects.get(pk=session_id), now=now)
    return 1


def _refresher_reminders(now: dt.datetime) -> int:
    return refresher_reminders_queue(now=now)


def _approval_reminders(now: dt.datetime) -> int:
    return approval_reminders_send(now=now)


def _emails_hand_out(batch: list[int]) -> int:
    jobs.enqueue("send_emails", batch)
    return len(batch)


def housekeeping_run(*, now: dt.datetime) -> dict[str, int]:
    """Release expired holds and unanswered approvals (whose places then go to the waiting
    list), remind line managers once, remind bookers of reserved places to name and give up
    those unnamed at their deadline, pass on lapsed offers, queue refresher reminders, delete
    ended rate-limit windows and hand the due emails to workers; returns how many of each.
    Every order, session and batch is its own item: one failing does not stop the rest."""
    released = _each(
        "releasing the expired holds of order",
        expired_hold_orders(now=now),
        lambda order_id: order_holds_release(order_id=order_id, now=now),
    )
    lapsed = _each(
        "passing on the lapsed offers of session",
        lapsed_offer_sessions(now=now),
        lambda session_id: _offers_pass_on(session_id, now=now),
    )
    approvals_expired = _each(
        "releasing the unanswered approval",
        lapsed_approvals(now=now),
        lambda approval_id: approval_expire(approval_id=approval_id, now=now),
    )
    approvals_reminded = _each("reminding line managers at", [now], _approval_reminders)
    reservations_reminded = _each(
        "reminding the booker of the unnamed places of reservation",
        reservations_to_remind(now=now),
        lambda reservation_id: reservation_remind(reservation_id=reservation_id, now=now),
    )
    reserved_given_up = _each(
        "giving up the unnamed places past the deadline of reservation",
        reservations_past_deadline(now=now),
        lambda reservation_id: reservation_settle(reservation_id=reservation_id, now=now),
    )
    refreshers = _each("queueing refresher reminders at", [now], _refresher_reminders)
    counts_deleted = _each(
        "deleting ended rate-limit windows at",
        [now],
        lambda moment: counters_delete_expired(now=moment),
    )
    due = emails_due(now)
    _each(
        "handing out due emails",
        [due[start : start + EMAIL_BATCH] for start in range(0, len(due), EMAIL_BATCH)],
        _emails_hand_out,
    )
    return {
        "holds_released": released,
        "offers_lapsed": lapsed,
        "approvals_expired": approvals_expired,
        "approvals_reminded": approvals_reminded,
        "reservations_reminded": reservations_reminded,
        "reserved_places_given_up": reserved_given_up,
        "refresher_reminders": refreshers,
        "emails_queued": len(due),
        "rate_limit_windows_deleted": counts_deleted,
    }
