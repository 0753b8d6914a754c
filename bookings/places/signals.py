"""What bookings does when accounts and agencies change: link places booked for an email
address to the account that proves it owns it, ask for and verify agency memberships, and
re-price upward the places of a proposed agency once approved."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed, user_logged_in
from django.dispatch import receiver
from django.utils import timezone

from bookings.places.claims import bookings_claim_for_user
from bookings.places.membership import bookings_reprice_upward, membership_request_notify
from training.membership import agency_approved, membership_requested, membership_verify_by_domain
from training.models import Agency, Profile


def _claim(user: Any) -> None:
    # Only a verified address may claim: otherwise signing up with a colleague's email
    # would hand over their places.
    if (
        user.email
        and EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()
    ):
        bookings_claim_for_user(user=user, now=timezone.now())


@receiver(user_logged_in, dispatch_uid="bookings_claim_on_login")
def claim_bookings_on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    _claim(user)


@receiver(email_confirmed, dispatch_uid="bookings_claim_on_email_confirmed")
def claim_bookings_on_email_confirmed(
    sender: Any, request: Any, email_address: Any, **kwargs: Any
) -> None:
    _claim(email_address.user)


@receiver(membership_requested, dispatch_uid="bookings_membership_request_notify")
def notify_membership_request(sender: Any, profile: Profile, **kwargs: Any) -> None:
    """A person asked to join an agency and its domain did not vouch for them: email the
    agency's bookers (or the training team) a link to approve."""
    membership_request_notify(profile=profile)


@receiver(email_confirmed, dispatch_uid="bookings_membership_verify_on_email_confirmed")
def verify_membership_on_email_confirmed(
    sender: Any, request: Any, email_address: Any, **kwargs: Any
) -> None:
    """Confirming an address at the agency's domain verifies the pending membership."""
    profile = Profile.objects.filter(user=email_address.user).select_related("agency").first()
    if profile is not None:
        membership_verify_by_domain(profile=profile, now=timezone.now())


@receiver(agency_approved, dispatch_uid="bookings_reprice_on_agency_approved")
def reprice_on_agency_approved(
    sender: Any, agency: Agency, actor: Any, now: Any, **kwargs: Any
) -> None:
    """Places booked while the agency waited are invoiced any difference up to its price."""
    bookings_reprice_upward(agency=agency, actor=actor, now=now)
