"""Audited changes to who speaks for an agency: approving members, granting and revoking
booker rights, and re-pricing upward what was booked while a proposed agency waited.

``training.membership`` holds the rows and their pure rules; these are the actions people
take, each permission-checked here and written to the audit trail.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from bookings.audit import audit_record
from bookings.errors import BookingError
from bookings.models import Booking, BookingStatus, Invoice, Order, PaymentMethod
from bookings.money.invoices import price_difference_invoice_raise
from bookings.outbox import emails_queue, outgoing_email
from bookings.permissions import can_approve_membership, can_grant_booker, is_admin
from training.membership import (
    MembershipError,
    approval_token,
    booker_grant_create,
    booker_grant_revoke,
    membership_verify,
)
from training.models import Agency, BookerGrant, MembershipVerification, Profile
from training.roles import Role


def approvers_of(agency: Agency) -> list[str]:
    """Who is asked to approve a request to join ``agency``: its bookers, else the team."""
    grants = BookerGrant.objects.filter(
        agency=agency,
        revoked_at=None,
        user__profile__agency=agency,
        user__profile__agency_verified_at__isnull=False,
        user__is_active=True,
    )
    emails = sorted({email for email in grants.values_list("user__email", flat=True) if email})
    if emails:
        return emails
    admins = get_user_model().objects.filter(
        groups__name=Role.TRAINING_ADMINISTRATOR, is_active=True
    )
    return sorted({email for email in admins.values_list("email", flat=True) if email})


def membership_request_notify(*, profile: Profile) -> int:
    """Email the agency's bookers (or the training team) a one-click link to approve."""
    agency = profile.agency
    if agency is None or not agency.approved or profile.agency_verified:
        return 0
    user = profile.user
    context = {
        "requester_name": user.get_full_name() or user.email,
        "requester_email": user.email,
        "job_title": profile.job_title,
        "agency_name": agency.name,
        "token": approval_token(profile),
    }
    emails = [
        outgoing_email(kind="membership_requested", to=to, context=context)
        for to in approvers_of(agency)
    ]
    return len(emails_queue(emails))


def membership_approve(*, profile: Profile, actor: Any, now: dt.datetime) -> bool:
    """A booker of the agency, or the training team, confirms the person works there."""
    agency_id = profile.agency_id
    if not can_approve_membership(actor, agency_id):
        raise BookingError("Only the agency's booker or the training team can approve this.")
    how = MembershipVerification.ADMINISTRATOR if is_admin(actor) else MembershipVerification.BOOKER
    with transaction.atomic():
        changed = membership_verify(
            profile=profile, how=how, verified_by=actor, now=now, agency_id=agency_id
        )
        if changed:
            audit_record(
                obj=profile,
                action="membership verified",
                actor=actor,
                now=now,
                changes={"agency": agency_id, "how": how},
            )
    return changed


def booker_grant(*, person: Any, agency: Agency, actor: Any, now: dt.datetime) -> BookerGrant:
    """Give a verified member booker rights for their agency (its bookers or the team)."""
    if not can_grant_booker(actor, agency.pk):
        raise BookingError("Only the agency's booker or the training team can give booker rights.")
    with transaction.atomic():
        try:
            grant = booker_grant_create(user=person, agency=agency, granted_by=actor, now=now)
        except MembershipError as error:
            raise BookingError(str(error)) from error
        audit_record(
            obj=grant, action="booker granted", actor=actor, now=now, changes={"user": person.pk}
        )
    return grant


def booker_revoke(*, grant: BookerGrant, actor: Any, now: dt.datetime) -> bool:
    """End booker rights at once (its bookers, who may end their own, or the team)."""
    if not can_grant_booker(actor, grant.agency_id):
        raise BookingError("Only the agency's booker or the training team can take booker rights.")
    with transaction.atomic():
        changed = booker_grant_revoke(grant=grant, revoked_by=actor, now=now)
        if changed:
            audit_record(
                obj=grant,
                action="booker revoked",
                actor=actor,
                now=now,
                changes={"user": grant.user_id},
            )
    return changed


def bookings_reprice_upward(*, agency: Agency, actor: Any, now: dt.datetime) -> list[Invoice]:
    """After a proposed agency is approved with its (checked) sector: every place booked for
    it while it waited that cost less than the sector's price is invoiced for the difference,
    one invoice per order to whoever booked it. Dearer places stay as they are: never a
    silent change, and never downward."""
    band = agency.sector.price_band
    bookings = (
        Booking.objects.filter(
            agency=agency,
            # Confirmed places: a hold still waiting for its card payment is the gateway's,
            # and either confirms at its quoted price within minutes or lapses.
            status=BookingStatus.CONFIRMED,
            payment_method__in=[PaymentMethod.CARD, PaymentMethod.INVOICE],
            created_at__lte=now,
        )
        .select_related("session__course", "order__booked_by")
        .prefetch_related("session__price_overrides", "session__course__prices")
        .order_by("order_id", "pk")
    )
    owed: dict[Order, list[tuple[Booking, Decimal]]] = defaultdict(list)
    for booking in bookings:
        price = booking.session.price_for_band(band.pk)
        if price is not None and price > booking.price:
            owed[booking.order].append((booking, price - booking.price))
    invoices = []
    for order, lines in owed.items():
        invoice = price_difference_invoice_raise(order=order, lines=lines, now=now, actor=actor)
        for booking, difference in lines:
            audit_record(
                obj=booking,
                action="repriced",
                actor=actor,
                now=now,
                changes={
                    "band": band.slug,
                    "paid": booking.price,
                    "difference": difference,
                    "invoice": invoice.number,
                },
            )
        invoices.append(invoice)
    return invoices
