"""Link places booked for an email address to the account that proves it owns that address."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed, user_logged_in
from django.dispatch import receiver
from django.utils import timezone

from bookings.places.booking import bookings_claim_for_user


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
