"""Payment links: a signed address that lets the person booked by phone pay by card, no account
needed.

The link names the order and is signed with the site's secret (``django.core.signing``), so
it cannot be guessed or changed to another order's; it is only good while the order's places
are held for payment.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from bookings.models import Order

_SALT = "bookings.money.paylinks"


def pay_link_token(order: Order) -> str:
    return signing.dumps(order.reference, salt=_SALT)


def pay_link_url(order: Order) -> str:
    return settings.SITE_URL + reverse("bookings:pay_link", args=[pay_link_token(order)])


def pay_link_order(token: str) -> Order | None:
    """The order a payment link names, or None when the link is not one we signed."""
    try:
        reference = signing.loads(token, salt=_SALT, max_age=None)
    except signing.BadSignature:
        return None
    if not isinstance(reference, str):
        return None
    return Order.objects.select_related("agency").filter(reference=reference).first()
