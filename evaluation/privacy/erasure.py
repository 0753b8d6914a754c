"""Erasure on request: one person anonymised at once, unless something still needs them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Q

from bookings.models import ACTIVE_STATUSES, Booking, Invoice, InvoiceKind, InvoiceStatus
from evaluation.errors import EvaluationError
from evaluation.privacy.anonymise import person_anonymise
from evaluation.privacy.people import Person, person_bookings

ERASURE_ACTION = "personal data erased on request"


def person_erase_refusals(*, person: Person, now: dt.datetime) -> list[str]:
    """Why the person cannot be erased now (empty when they can), in words for the page."""
    reasons = []
    unpaid = Invoice.objects.filter(kind=InvoiceKind.INVOICE, status=InvoiceStatus.ISSUED).filter(
        Q(order__booked_by_id__in=person.user_ids) | Q(billing_email__in=person.emails)
    )
    numbers = sorted(set(unpaid.values_list("number", flat=True)))
    if numbers:
        reasons.append(
            "They have an unpaid invoice (" + ", ".join(numbers) + "): it must be paid or "
            "credited first, because finance needs to know whom it is owed by."
        )
    future = Booking.objects.filter(
        person_bookings(person), status__in=ACTIVE_STATUSES, session__starts_at__gt=now
    ).select_related("session__course")
    if future:
        titles = ", ".join(
            f"{b.session.course.title} ({b.session.starts_at:%d %b %Y})" for b in future
        )
        reasons.append(
            f"They have a place on a session still to come ({titles}): cancel it first, or "
            "erase their data after the session."
        )
    return reasons


def person_erase(*, person: Person, actor: Any, now: dt.datetime) -> dict[str, int]:
    """Anonymise the person now (the retention policy's anonymisation), or refuse saying why."""
    # One transaction: checked and erased together, so no booking slips in between.
    with transaction.atomic():
        reasons = person_erase_refusals(person=person, now=now)
        if reasons:
            raise EvaluationError(" ".join(reasons))
        return person_anonymise(person=person, reason=ERASURE_ACTION, actor=actor, now=now)
