"""The reserved places pages: reserve unnamed places, see a reservation, name its places."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from bookings.errors import BookingError
from bookings.models import Booking, BookingStatus, PlaceReservation
from bookings.permissions import (
    booker_agency,
    can_name_reserved_place,
    can_reserve_places,
    is_admin,
    order_for_or_404,
)
from bookings.places.forms import NamePlaceForm, ReservePlacesForm
from bookings.places.reservations import places_reserve, reserved_place_name
from training.models import CourseKind, Session, SessionStatus


def _reservable_sessions(request: HttpRequest) -> QuerySet[Session]:
    now = timezone.now()
    sessions = (
        Session.objects.filter(status=SessionStatus.PUBLISHED, starts_at__gt=now)
        .select_related("course")
        .order_by("starts_at", "pk")
    )
    if not is_admin(request.user):
        # A booker reserves while the session takes bookings, priced courses only (the free
        # MAPIG sessions and conferences need no invoice and no reservation).
        sessions = sessions.filter(course__kind=CourseKind.COURSE)
    return sessions


@login_required
def reserve(request: HttpRequest) -> HttpResponse:
    """Reserve unnamed places: a booker for their own agency, the administrator for any."""
    admin = is_admin(request.user)
    agency = None if admin else booker_agency(request.user)
    if not admin and agency is None:
        raise Http404("No such page.")
    initial: dict[str, int] = {}
    if request.GET.get("session", "").isdigit():
        initial["session"] = int(request.GET["session"])
    form = ReservePlacesForm(
        request.POST or None,
        initial=initial,
        sessions=_reservable_sessions(request),
        choose_agency=admin,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        chosen = data["agency"] if admin else agency
        assert chosen is not None  # a booker's own agency, or the administrator's choice
        if not can_reserve_places(request.user, chosen):
            raise Http404("No such page.")
        try:
            reservation = places_reserve(
                session=data["session"],
                agency=chosen,
                places=data["places"],
                booked_by=request.user,
                purchase_order_number=data["purchase_order_number"],
                now=timezone.now(),
            )
        except BookingError as error:
            form.add_error(None, str(error))
        else:
            deadline = reservation.naming_deadline()
            messages.success(
                request,
                f"{reservation.places} place{'s' if reservation.places != 1 else ''} reserved "
                f"for {chosen.name} and invoiced. Name the people by {deadline:%A %-d %B %Y}.",
            )
            return redirect("bookings:reservation", reservation.order.reference)
    return render(
        request,
        "bookings/reserve.html",
        {
            "form": form,
            "agency": agency,
            "is_admin": admin,
            # What the deadline means for the money (RESERVED_PLACES_UNNAMED), said before
            # anyone commits to it.
            "unnamed_charged": settings.RESERVED_PLACES_UNNAMED == "charge",
        },
    )


@login_required
def reservation_detail(request: HttpRequest, reference: str) -> HttpResponse:
    order = order_for_or_404(request.user, reference)
    reservation = get_object_or_404(
        PlaceReservation.objects.select_related("session__course", "session__venue", "agency"),
        order=order,
    )
    now = timezone.now()
    places = list(order.bookings.order_by("pk"))
    return render(
        request,
        "bookings/reservation.html",
        {
            "reservation": reservation,
            "order": order,
            "places": places,
            "unnamed": [place for place in places if place.status == BookingStatus.RESERVED],
            "deadline": reservation.naming_deadline(),
            "open": reservation.is_open_for_naming(now),
            "may_name": can_reserve_places(request.user, reservation.agency),
        },
    )


@login_required
def name_place(request: HttpRequest, pk: int) -> HttpResponse:
    """Name the colleague taking one reserved place."""
    place = get_object_or_404(
        Booking.objects.select_related("session__course", "agency", "order__reservation"),
        pk=pk,
        status=BookingStatus.RESERVED,
    )
    if not can_name_reserved_place(request.user, place):
        raise Http404("No such place.")
    form = NamePlaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            named = reserved_place_name(
                booking=place, attendee=form.spec(), actor=request.user, now=timezone.now()
            )
        except BookingError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                f"{named.attendee_name} has the place and has been emailed their confirmation.",
            )
            return redirect("bookings:reservation", place.order.reference)
    return render(
        request,
        "bookings/reserved_place_name.html",
        {"place": place, "form": form, "reservation": place.order.reservation},
    )
