"""Row locks, taken in one global order so that no two operations can deadlock.

The order, written once here and followed on every path:

    payments → sessions → agencies → waiting-list offers

and within each kind by primary key. ``lock_rows`` takes them in that order, whatever order the
caller names them in, so a path that needs a payment and a session cannot take them the other
way round. A path that locks in two steps (say a session now, an agency later) must still only
move forward through the list.

Bookings are not locked themselves: a booking's status changes only under its session's lock
and as a conditional update (``bookings.states.booking_status_set``), so the session row
stands for its bookings and a stale copy of a booking can never overwrite a fresh one.

The payments to lock are often found through the rows locked after them (the payments of the
orders on a session). Such a path reads their ids without a lock, locks in order, then reads
the ids again under the locks (``locked_rows_check``); if one appeared meanwhile it starts
again (``in_lock_order``) rather than lock it out of order.

On SQLite ``select_for_update`` does nothing: every transaction takes the database's write lock
at ``BEGIN IMMEDIATE``, so the same code is serialised there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from bookings.errors import BookingError
from bookings.models import Payment, WaitingListEntry
from training.models import Agency, Session

# How often an operation starts again when a payment appears while it takes its locks.
LOCK_ATTEMPTS = 3


@dataclass(frozen=True)
class LockedRows:
    """The rows locked by ``lock_rows``, read fresh under their locks, by primary key."""

    payments: dict[int, Payment]
    sessions: dict[int, Session]
    agencies: dict[int, Agency]
    offers: dict[int, WaitingListEntry]


def _lock[M: Model](queryset: QuerySet[M], ids: Iterable[int], **of: Any) -> dict[int, M]:
    wanted = set(ids)
    if not wanted:
        return {}  # no statement for a kind the caller does not need
    return {
        row.pk: row for row in queryset.select_for_update(**of).filter(pk__in=wanted).order_by("pk")
    }


def lock_rows(
    *,
    payments: Iterable[int] = (),
    sessions: Iterable[int] = (),
    agencies: Iterable[int] = (),
    offers: Iterable[int] = (),
) -> LockedRows:
    """Lock these rows until the transaction ends, in the global order, and return them fresh.

    Sessions come with their course, read but not locked (``FOR UPDATE OF`` the session only):
    locking the course too would make every session of a course wait for one booking.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(
            "Rows can only be locked inside a transaction: outside one the lock would end "
            "with the statement that took it."
        )
    # One statement per kind, in the global order; the order of the keyword arguments
    # above does not matter.
    locked_payments = _lock(Payment.objects.all(), payments)
    locked_sessions = _lock(Session.objects.select_related("course"), sessions, of=("self",))
    locked_agencies = _lock(Agency.objects.all(), agencies)
    locked_offers = _lock(WaitingListEntry.objects.all(), offers)
    return LockedRows(
        payments=locked_payments,
        sessions=locked_sessions,
        agencies=locked_agencies,
        offers=locked_offers,
    )


def session_lock_for_booking(session_id: int) -> Session:
    """Lock one session's row until the transaction ends (with its course, read not locked).

    The lock serialises every booking of this session: count, then insert. Only the session's
    own row is locked: locking its course too would make every session of a course wait.
    """
    session = lock_rows(sessions=[session_id]).sessions.get(session_id)
    if session is None:
        raise Session.DoesNotExist(f"No session {session_id}")
    return session


# What a booking decides by, read again under its session's lock: whether the session is open
# and how many places it has. Its course and prices are the caller's, read before the lock.
BOOKING_FIELDS = ("status", "starts_at", "booking_closes_working_days", "capacity")


def session_lock_refresh(session: Session) -> Session:
    """Lock ``session``'s row until the transaction ends and read its ``BOOKING_FIELDS`` fresh
    onto it, in the statement that takes the lock (the session's own row only, as
    ``session_lock_for_booking``): the booking path has the rest of the session in hand.

    Written as SQL: it runs under the lock on every booking, where building it through the
    ORM took longer than the database took to answer."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("Rows can only be locked inside a transaction.")
    quote = connection.ops.quote_name
    sql = (
        f"SELECT {', '.join(quote(field) for field in BOOKING_FIELDS)}"
        f" FROM {quote(Session._meta.db_table)} WHERE {quote('id')} = %s"
        # SQLite has no row locks: the transaction holds the database's write lock.
        + (" FOR UPDATE" if connection.features.has_select_for_update else "")
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [session.pk])
        row = cursor.fetchone()
    if row is None:
        raise Session.DoesNotExist(f"No session {session.pk}")
    status, starts_at, closes_working_days, capacity = row
    if isinstance(starts_at, str):  # SQLite keeps a datetime as text, in UTC
        starts_at = parse_datetime(starts_at)
    if starts_at is not None and timezone.is_naive(starts_at):
        starts_at = timezone.make_aware(starts_at, dt.UTC)
    session.status, session.starts_at = status, starts_at
    session.booking_closes_working_days, session.capacity = closes_working_days, capacity
    return session


class LockedRowsChanged(Exception):
    """A row that had to be locked earlier in the order appeared after its id was read."""


def locked_rows_check(locked: Collection[int], current: Iterable[int]) -> None:
    """Raise ``LockedRowsChanged`` if ``current`` (read again under the later locks) holds an
    id that is not in ``locked``: locking it now would break the global order."""
    if set(current) - set(locked):
        raise LockedRowsChanged


def in_lock_order[T](work: Callable[[], T], *, attempts: int = LOCK_ATTEMPTS) -> T:
    """Run ``work`` in a transaction of its own, and again from the start (up to ``attempts``
    times) if it finds that a row it had to lock first appeared while it was locking."""
    for _ in range(attempts):
        try:
            # What ``work`` locks is held to the end of this transaction; a retry lets go of
            # everything and reads the ids afresh.
            with transaction.atomic():
                return work()
        except LockedRowsChanged:
            continue
    raise BookingError("Someone is paying for one of these places right now. Try again shortly.")
