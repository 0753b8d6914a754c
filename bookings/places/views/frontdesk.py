"""The front desk pages: book someone on a session by phone or email, add someone who came."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from bookings.capacity import places_taken
from bookings.errors import BookingError
from bookings.models import PaymentMethod
from bookings.permissions import can_add_walk_in, can_book_on_behalf, register_session_or_404
from bookings.places.forms import BookOnBehalfForm, FrontDeskPersonForm, WalkInForm
from bookings.places.frontdesk import agency_find_or_create, booking_on_behalf_create, walk_in_add
from bookings.templatetags.money import format_pounds
from training.models import Agency, Session
from training.roles import Role, role_required


def _session(pk: int) -> Session:
    return get_object_or_404(
        Session.objects.select_related("course", "venue").prefetch_related("parts"), pk=pk
    )


def _agency(request: HttpRequest, form: FrontDeskPersonForm) -> Agency:
    data = form.cleaned_data
    return agency_find_or_create(
        agency=data["agency"],
        new_name=data["new_agency_name"],
        sector=data["new_agency_sector"],
        actor=request.user,
        now=timezone.now(),
    )


@role_required(Role.TRAINING_ADMINISTRATOR, hide=True)
def book_on_behalf(request: HttpRequest, pk: int) -> HttpResponse:
    session = _session(pk)
    form = BookOnBehalfForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            order = booking_on_behalf_create(
                session=session,
                attendee=form.spec(),
                agency=_agency(request, form),
                payment_method=data["payment_method"],
                purchase_order_number=data["purchase_order_number"],
                no_charge_reason=data["no_charge_reason"],
                capacity_override_reason=data["capacity_override_reason"],
                actor=request.user,
                now=timezone.now(),
            )
        except BookingError as error:
            form.add_error(None, str(error))
        else:
            booking = order.bookings.get()
            if booking.payment_method == PaymentMethod.CARD and booking.price:
                done = (
                    f"{booking.attendee_name} is booked, held while they pay "
                    f"{format_pounds(booking.price)}: we have emailed them a link to pay by card."
                )
            else:
                method = booking.get_payment_method_display().lower()
                done = f"{booking.attendee_name} is booked ({method}) and has been emailed."
            messages.success(request, f"{done} Reference {order.reference}.")
            return redirect("bookings:manage_session", session.pk)
    taken = places_taken(session.pk, timezone.now())
    return render(
        request,
        "bookings/book_on_behalf.html",
        {"session": session, "form": form, "places_left": max(0, session.capacity - taken)},
    )


@login_required
def walk_in(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Add someone who came" on the register: an attended place for a person not booked,
    by the administrator or one of the session's trainers (404 for anyone else)."""
    session = register_session_or_404(request.user, pk)
    if not can_add_walk_in(request.user, session):
        raise Http404("No such register.")
    form = WalkInForm(request.POST or None, may_waive=can_book_on_behalf(request.user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            booking = walk_in_add(
                session=session,
                attendee=form.spec(),
                agency=_agency(request, form),
                purchase_order_number=data["purchase_order_number"],
                waive_reason=data.get("waive_reason", ""),
                actor=request.user,
                now=timezone.now(),
            )
        except BookingError as error:
            form.add_error(None, str(error))
        else:
            charged: Any = (
                f"invoiced {format_pounds(booking.price)} to {booking.agency.name}"
                if booking.price
                else "no charge"
            )
            messages.success(
                request, f"{booking.attendee_name} is on the register as attended ({charged})."
            )
            return redirect(reverse("attendance:register", args=[session.pk]))
    return render(request, "bookings/walk_in.html", {"session": session, "form": form})
