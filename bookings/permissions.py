"""Who may see or change which booking, order, invoice, certificate or training record.

One rule book for every page: a view that shows one object asks here, and answers 404 when
the answer is no, so nobody learns that someone else's booking exists.
"""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.http import Http404
from django.shortcuts import get_object_or_404

from bookings.models import (
    Booking,
    Invoice,
    Order,
)
from training.auth import profile_of
from training.models import Agency
from training.roles import Role, has_role


def agency_of(user: Any) -> Agency | None:
    """The agency on the person's profile (loaded with the user: see training.auth)."""
    profile = profile_of(user)
    return profile.agency if profile else None


def is_admin(user: Any) -> bool:
    return has_role(user, Role.TRAINING_ADMINISTRATOR)


def is_booker_for(user: Any, agency_id: int) -> bool:
    """An agency booker sees and changes every booking of their own agency."""
    if not has_role(user, Role.AGENCY_BOOKER):
        return False
    agency = agency_of(user)
    return agency is not None and agency.pk == agency_id


def can_see_booking(user: Any, booking: Booking) -> bool:
    return (
        is_admin(user)
        or booking.attendee_id == user.pk
        or booking.order.booked_by_id == user.pk
        or is_booker_for(user, booking.agency_id)
    )


def can_see_order(user: Any, order: Order) -> bool:
    return (
        is_admin(user)
        or order.booked_by_id == user.pk
        or is_booker_for(user, order.agency_id)
        or order.bookings.filter(attendee_id=user.pk).exists()
    )


def can_see_invoice(user: Any, invoice: Invoice) -> bool:
    return (
        is_admin(user)
        or (invoice.order is not None and invoice.order.booked_by_id == user.pk)
        or is_booker_for(user, invoice.agency_id)
    )


def booking_for_or_404(user: Any, pk: int) -> Booking:
    booking = get_object_or_404(
        Booking.objects.select_related(
            "session__course", "session__venue", "order__booked_by", "agency", "attendee"
        ),
        pk=pk,
    )
    if not can_see_booking(user, booking):
        # 404, not 403: do not confirm that someone else's booking exists.
        raise Http404("No such booking.")
    return booking


def order_for_or_404(user: Any, reference: str) -> Order:
    order = get_object_or_404(
        Order.objects.select_related("agency", "booked_by"), reference=reference
    )
    if not can_see_order(user, order):
        raise Http404("No such order.")
    return order


def user_agency_id(user: Any) -> int | None:
    # The profile is read once per user object (with the user, for the signed-in person), not
    # once per booking a page checks.
    profile = profile_of(user)
    return profile.agency_id if profile else None


def verified_email(user: Any) -> str:
    """The user's address in lower case if they have proved they own it, else ''."""
    cached = getattr(user, "_verified_email", None)
    if cached is None:
        email = (getattr(user, "email", "") or "").lower()
        verified = EmailAddress.objects.filter(user=user, email__iexact=email, verified=True)
        cached = email if email and verified.exists() else ""
        user._verified_email = cached  # asked once per row of a training record
    return cached


def can_see_booking_documents(user: Any, booking: Booking) -> bool:
    """The attendee, a booker of the booking's agency, or a training administrator."""
    if not getattr(user, "is_authenticated", False):
        return False
    if has_role(user, Role.TRAINING_ADMINISTRATOR):
        return True
    if booking.attendee_id == user.pk:
        return True
    if booking.attendee_id is None and booking.attendee_email == (verified_email(user) or None):
        return True  # booked for their address, not yet linked to their account
    return has_role(user, Role.AGENCY_BOOKER) and user_agency_id(user) == booking.agency_id


def can_see_training_record(viewer: Any, person: Any) -> bool:
    """Their own; an agency booker for people of the booker's agency; administrators all."""
    if not getattr(viewer, "is_authenticated", False):
        return False
    if viewer.pk == person.pk or has_role(viewer, Role.TRAINING_ADMINISTRATOR):
        return True
    if not has_role(viewer, Role.AGENCY_BOOKER):
        return False
    own = user_agency_id(viewer)
    return own is not None and user_agency_id(person) == own
