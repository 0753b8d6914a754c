"""The audit trail filtered by person, object, action, who and dates (page and CSV share it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from bookings.models import AuditEntry, Booking, Order


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def about_person(user_id: int) -> Q:
    """Entries about a person: their account, their places and orders, and what they did."""
    bookings = [
        str(pk) for pk in Booking.objects.filter(attendee_id=user_id).values_list("pk", flat=True)
    ]
    orders = [
        str(pk) for pk in Order.objects.filter(booked_by_id=user_id).values_list("pk", flat=True)
    ]
    return (
        Q(object_type="auth.user", object_id=str(user_id))
        | Q(object_type="bookings.booking", object_id__in=bookings)
        | Q(object_type="bookings.order", object_id__in=orders)
        | Q(actor_id=user_id)
    )


def audit_entries(
    *,
    person: int | None = None,
    object_type: str = "",
    object_id: str = "",
    code: str = "",
    who: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[AuditEntry]:
    """The entries that match every filter given, newest first."""
    entries: QuerySet[AuditEntry] = AuditEntry.objects.all()
    filters: dict[str, Any] = {}
    if person is not None:
        entries = entries.filter(about_person(person))
    if object_type:
        filters["object_type"] = object_type
    if object_id:
        filters["object_id"] = object_id
    if code:
        filters["code"] = code
    if who:
        filters["actor_label__icontains"] = who
    if date_from:
        filters["at__gte"] = _day_start(date_from)
    if date_to:
        filters["at__lt"] = _day_start(date_to + dt.timedelta(days=1))
    return entries.filter(**filters).order_by("-at", "-pk")
