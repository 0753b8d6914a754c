"""The attendee's place from the signed link in their email: see it, say their needs, cancel
it or hand it on, with no account.

The signed link is the permission (see ``bookings.places.attendee_links``). A GET only shows;
every change is a POST from the page (with its CSRF token), so a mail scanner that follows the
link changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from bookings.errors import BookingError
from bookings.models import Booking
from bookings.places.attendee_links import (
    LinkExpired,
    attendee_link_booking,
    place_cancel_by_link,
    place_hand_on_by_link,
)
from bookings.places.changes import access_needs_set
from bookings.places.forms import AccessNeedsForm, CancelForm, TransferForm

View = Callable[[HttpRequest, Booking, str, dt.datetime], HttpResponse]


def _with_link(view: View) -> Callable[[HttpRequest, str], HttpResponse]:
    """Read the link once; a bad one is a clear page (404, or 410 once expired), never a 500."""

    def wrapped(request: HttpRequest, token: str) -> HttpResponse:
        now = timezone.now()
        try:
            booking = attendee_link_booking(token=token, now=now)
        except BookingError as error:
            status = 410 if isinstance(error, LinkExpired) else 404
            return render(
                request, "bookings/place_link_invalid.html", {"message": str(error)}, status=status
            )
        return view(request, booking, token, now)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@_with_link
def place_link(
    request: HttpRequest, booking: Booking, token: str, now: dt.datetime
) -> HttpResponse:
    """The place; the attendee may give or change their access and dietary needs here."""
    form = AccessNeedsForm(
        request.POST if request.method == "POST" else None,
        initial={"access_needs": booking.access_needs},
    )
    if request.method == "POST" and form.is_valid():
        access_needs_set(
            booking=booking,
            access_needs=form.cleaned_data["access_needs"],
            actor=f"attendee by email link ({booking.attendee_email})",
            now=now,
        )
        messages.success(request, "Thank you: your access and dietary needs have been saved.")
        return redirect("bookings:place_link", token)
    return render(
        request,
        "bookings/place_link.html",
        {
            "booking": booking,
            "token": token,
            "form": form,
            "now": now,
            "cancellable": booking.is_cancellable(now),
            "transferable": booking.is_transferable(now),
            "free_cancellation": booking.is_free_cancellation(now),
            "cutoff": booking.cancellation_cutoff(),
            "needs_editable": booking.is_active,
            "show_joining": True,
        },
    )


@_with_link
def place_link_cancel(
    request: HttpRequest, booking: Booking, token: str, now: dt.datetime
) -> HttpResponse:
    if not booking.is_cancellable(now):
        messages.info(request, "This place can no longer be cancelled.")
        return redirect("bookings:place_link", token)
    form = CancelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            cancelled = place_cancel_by_link(
                booking=booking, reason=form.cleaned_data["reason"], now=now
            )
        except BookingError as error:
            form.add_error(None, str(error))
        else:
            text = "Your place has been cancelled. We have emailed you to confirm."
            if cancelled.late_cancellation and cancelled.price:
                text += " It was after the cut-off, so the fee stands."
            messages.success(request, text)
            return redirect("bookings:place_link", token)
    return render(
        request,
        "bookings/booking_cancel.html",
        {
            "booking": booking,
            "form": form,
            "cutoff": booking.cancellation_cutoff(),
            "free_cancellation": booking.is_free_cancellation(now),
            "back_url": reverse("bookings:place_link", args=[token]),
            "transfer_url": reverse("bookings:place_link_hand_on", args=[token]),
        },
    )


@_with_link
def place_link_hand_on(
    request: HttpRequest, booking: Booking, token: str, now: dt.datetime
) -> HttpResponse:
    if not booking.is_transferable(now):
        messages.info(request, "This place can no longer be handed on.")
        return redirect("bookings:place_link", token)
    form = TransferForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            handed = place_hand_on_by_link(
                booking=booking,
                to_name=form.cleaned_data["name"],
                to_email=form.cleaned_data["email"],
                to_job_title=form.cleaned_data["job_title"],
                now=now,
            )
        except BookingError as error:
            form.add_error(None, str(error))
        else:
            # The old link no longer works: it was this person's, and the place is not.
            return render(request, "bookings/place_link_handed_on.html", {"booking": handed})
    return render(
        request,
        "bookings/booking_transfer.html",
        {
            "booking": booking,
            "form": form,
            "back_url": reverse("bookings:place_link", args=[token]),
        },
    )
