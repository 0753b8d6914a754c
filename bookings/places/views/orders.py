"""An order's page: its places, their status while the bank decides, its invoices."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from bookings.models import (
    BookingStatus,
    Order,
    PaymentStatus,
)
from bookings.permissions import (
    can_pay_order,
    can_see_invoice,
    is_admin,
    is_booker_for,
    order_for_or_404,
)


def _order_state(order: Order, now: dt.datetime) -> dict[str, Any]:
    bookings = list(order.bookings.select_related("session__course").order_by("pk"))
    held = any(
        b.status == BookingStatus.HELD and b.hold_expires_at and b.hold_expires_at > now
        for b in bookings
    )
    # Places held after approval wait for a payment nobody has started yet.
    to_pay = held and not order.payments.exists()
    waiting = (held and not to_pay) or order.payments.filter(status=PaymentStatus.PENDING).exists()
    awaiting = [b for b in bookings if b.status == BookingStatus.AWAITING_APPROVAL]
    return {"bookings": bookings, "waiting": waiting, "to_pay": to_pay, "awaiting": awaiting}


@login_required
def order_detail(request: HttpRequest, reference: str) -> HttpResponse:
    order = order_for_or_404(request.user, reference)
    now = timezone.now()
    state = _order_state(order, now)
    payment = order.payments.order_by("-created_at").first()
    can_pay = (
        state["waiting"]
        and payment is not None
        and payment.status == PaymentStatus.CREATED
        and can_pay_order(request.user, order)
    )
    invoices = list(order.invoices.prefetch_related("lines").order_by("created_at"))
    show_invoices = can_see_invoice(request.user, invoices[0]) if invoices else False
    # The people booked together on one order need not know each other: an attendee who did
    # not make the booking sees only their own place, never their colleagues' addresses.
    sees_every_place = (
        is_admin(request.user)
        or order.booked_by_id == request.user.pk
        or is_booker_for(request.user, order.agency_id)
    )
    if not sees_every_place:
        state["bookings"] = [b for b in state["bookings"] if b.attendee_id == request.user.pk]
    return render(
        request,
        "bookings/order.html",
        {
            "order": order,
            "bookings": state["bookings"],
            "waiting": state["waiting"],
            "to_pay": state["to_pay"] and can_pay_order(request.user, order),
            "awaiting": [b for b in state["awaiting"] if b in state["bookings"]],
            "payment": payment,
            "can_pay": can_pay,
            "invoices": invoices if show_invoices else [],
            "hold_until": min(
                (
                    b.hold_expires_at
                    for b in state["bookings"]
                    if b.status == BookingStatus.HELD and b.hold_expires_at
                ),
                default=None,
            ),
            "confirmed_count": sum(
                1 for b in state["bookings"] if b.status == BookingStatus.CONFIRMED
            ),
            "released_count": sum(
                1
                for b in state["bookings"]
                if b.status == BookingStatus.EXPIRED
                or (b.status == BookingStatus.HELD and not state["waiting"])
            ),
            "now": now,
        },
    )


@login_required
@require_GET
def order_status(request: HttpRequest, reference: str) -> JsonResponse:
    order = order_for_or_404(request.user, reference)
    state = _order_state(order, timezone.now())
    return JsonResponse(
        {
            "reference": order.reference,
            "waiting": state["waiting"],
            "bookings": [
                {"id": b.pk, "status": b.status, "label": b.get_status_display()}
                for b in state["bookings"]
            ],
        },
        headers={"Cache-Control": "no-store"},
    )
