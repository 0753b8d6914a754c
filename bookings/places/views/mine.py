"""A person's and an agency's places: one booking, its calendar entry, cancel, transfer."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from bookings.errors import BookingError
from bookings.files import calendar
from bookings.models import (
    Booking,
    BookingStatus,
    InvoiceLine,
    PaymentMethod,
    PlaceReservation,
    WaitingListEntry,
    WaitlistStatus,
)
from bookings.permissions import (
    booker_agency,
    booking_for_or_404,
    can_edit_access_needs,
    can_see_access_needs,
    can_see_booking,
    can_see_invoice,
    can_see_joining_link,
)
from bookings.places import changes, moves, waitlist
from bookings.places.forms import (
    AccessNeedsForm,
    CancelForm,
    MoveForm,
    TransferForm,
)
from bookings.places.selectors import (
    bookings_for_agency,
    bookings_for_person,
    reservations_with_unnamed,
)
from bookings.templatetags.money import format_pounds
from training.models import Session, SessionStatus

if TYPE_CHECKING:
    from django.contrib.auth.models import User

PER_PAGE = 50


@login_required
def booking_detail(request: HttpRequest, pk: int) -> HttpResponse:
    booking = booking_for_or_404(request.user, pk)
    now = timezone.now()
    invoice_lines = list(
        InvoiceLine.objects.filter(booking=booking).select_related("invoice").order_by("pk")
    )
    invoices = [line.invoice for line in invoice_lines]
    return render(
        request,
        "bookings/booking_detail.html",
        {
            "booking": booking,
            "now": now,
            "cancellable": booking.is_cancellable(now),
            "transferable": booking.is_transferable(now),
            "movable": moves.can_move(booking=booking, user=request.user, now=now),
            "free_cancellation": booking.is_free_cancellation(now),
            "cutoff": booking.cancellation_cutoff(),
            "invoices": [i for i in invoices if can_see_invoice(request.user, i)],
            "refunds": booking.refunds.all(),
            "show_needs": can_see_access_needs(request.user, booking),
            "needs_editable": can_edit_access_needs(request.user, booking),
            "show_joining": can_see_joining_link(request.user, booking),
        },
    )


@login_required
def booking_needs(request: HttpRequest, pk: int) -> HttpResponse:
    """The attendee gives or changes their access and dietary needs for one place."""
    booking = booking_for_or_404(request.user, pk)
    if not can_edit_access_needs(request.user, booking):
        # A booker may see the place but not the attendee's needs: no hint they exist.
        raise Http404("No such page.")
    form = AccessNeedsForm(
        request.POST if request.method == "POST" else None,
        initial={"access_needs": booking.access_needs},
    )
    if request.method == "POST" and form.is_valid():
        changes.access_needs_set(
            booking=booking,
            access_needs=form.cleaned_data["access_needs"],
            actor=request.user,
            now=timezone.now(),
        )
        messages.success(request, "Your access and dietary needs have been saved.")
        return redirect(booking)
    return render(request, "bookings/booking_needs.html", {"booking": booking, "form": form})


@login_required
def booking_ics(request: HttpRequest, pk: int) -> HttpResponse:
    booking = booking_for_or_404(request.user, pk)
    if booking.status != BookingStatus.CONFIRMED:
        raise Http404("Only confirmed places go in a calendar.")
    when = timezone.localdate(booking.session.starts_at) if booking.session.starts_at else ""
    filename = f"{slugify(booking.session.course.title)}-{when}.ics"
    response = HttpResponse(calendar.booking_ics(booking), content_type="text/calendar")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def booking_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    booking = booking_for_or_404(request.user, pk)
    now = timezone.now()
    if not booking.is_cancellable(now):
        messages.info(request, "This place can no longer be cancelled.")
        return redirect(booking)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            cancelled = changes.booking_cancel(
                booking=booking, actor=request.user, now=now, reason=form.cleaned_data["reason"]
            )
        except BookingError as error:
            form.add_error(None, str(error))
        else:
            text = f"{booking.attendee_name}'s place has been cancelled."
            if cancelled.late_cancellation and cancelled.price:
                text += " It was after the cut-off, so the fee stands."
            elif cancelled.payment_method == PaymentMethod.CARD and cancelled.price:
                text += f" The {format_pounds(cancelled.price)} is being refunded to the card."
            elif cancelled.payment_method == PaymentMethod.INVOICE and cancelled.price:
                text += " A credit note is on its way to your finance contact."
            messages.success(request, text)
            return redirect(booking)
    return render(
        request,
        "bookings/booking_cancel.html",
        {
            "booking": booking,
            "form": form,
            "cutoff": booking.cancellation_cutoff(),
            "free_cancellation": booking.is_free_cancellation(now),
        },
    )


@login_required
def booking_transfer(request: HttpRequest, pk: int) -> HttpResponse:
    booking = booking_for_or_404(request.user, pk)
    now = timezone.now()
    if not booking.is_transferable(now):
        messages.info(request, "This place can no longer be transferred.")
        return redirect(booking)
    form = TransferForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            booking = changes.booking_transfer(
                booking=booking,
                to_name=form.cleaned_data["name"],
                to_email=form.cleaned_data["email"],
                to_job_title=form.cleaned_data["job_title"],
                actor=request.user,
                now=now,
            )
        except BookingError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                f"The place is now {booking.attendee_name}'s. We have emailed them the details.",
            )
            booking = Booking.objects.select_related("order").get(pk=booking.pk)
            if can_see_booking(request.user, booking):
                return redirect(booking)
            return redirect("bookings:my_bookings")
    return render(request, "bookings/booking_transfer.html", {"booking": booking, "form": form})


@login_required
def booking_move(request: HttpRequest, pk: int) -> HttpResponse:
    booking = booking_for_or_404(request.user, pk)
    now = timezone.now()
    if not moves.can_move(booking=booking, user=request.user, now=now):
        messages.info(request, "This place can no longer be moved to another date.")
        return redirect(booking)
    targets = moves.move_targets(booking=booking, user=request.user, now=now)
    form = MoveForm(request.POST or None, targets=targets)
    if request.method == "POST" and form.is_valid():
        target = next(s for s in targets if s.pk == form.cleaned_data["session"])
        try:
            booking = moves.booking_move(
                booking=booking, to_session=target, actor=request.user, now=now
            )
        except BookingError as error:
            form.add_error("session", str(error))
        else:
            messages.success(
                request,
                f"{booking.attendee_name}'s place is now on {booking.session}. "
                "We have emailed the new details.",
            )
            return redirect(booking)
    context = {"booking": booking, "form": form, "targets": targets}
    return render(request, "bookings/booking_move.html", context)


def _split_by_time(
    bookings: QuerySet[Booking], now: dt.datetime
) -> tuple[list[Booking], list[Booking]]:
    upcoming: list[Booking] = []
    past: list[Booking] = []
    for booking in bookings:
        starts = booking.session.starts_at
        (upcoming if starts is None or starts > now else past).append(booking)
    upcoming.reverse()  # soonest first
    return upcoming, past


@login_required
def my_bookings(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    user = cast("User", request.user)  # login_required: never anonymous here
    upcoming, past = _split_by_time(bookings_for_person(user.pk), now)
    entries = (
        WaitingListEntry.objects.filter(
            person=user, status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED]
        )
        .select_related("session__course", "session__venue")
        .order_by("session__starts_at")
    )
    return render(
        request,
        "bookings/my_bookings.html",
        {"upcoming": upcoming, "past": past, "entries": entries, "now": now},
    )


@login_required
def agency_bookings(request: HttpRequest) -> HttpResponse:
    # The agency whose bookings these are is the one the viewer holds a grant for, never the
    # one their profile names; nobody else learns the page exists.
    agency = booker_agency(request.user)
    if agency is None:
        raise Http404("No such page.")
    now = timezone.now()
    when = request.GET.get("when", "upcoming")
    if when not in ("upcoming", "past", "all"):
        when = "upcoming"
    bookings = bookings_for_agency(agency.pk)
    if when == "upcoming":
        bookings = bookings.filter(session__starts_at__gt=now).order_by(
            "session__starts_at", "attendee_name"
        )
    elif when == "past":
        bookings = bookings.filter(session__starts_at__lte=now)
    page = Paginator(bookings, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "bookings/agency_bookings.html",
        {
            "agency": agency,
            "page": page,
            "when": when,
            "now": now,
            "reservations": reservations_with_unnamed(
                PlaceReservation.objects.filter(agency=agency, session__starts_at__gt=now)
            ).order_by("session__starts_at", "pk"),
        },
    )


@login_required
@require_POST
def waitlist_join(request: HttpRequest, pk: int) -> HttpResponse:
    session = get_object_or_404(Session, pk=pk, status=SessionStatus.PUBLISHED)
    try:
        waitlist.waitlist_join(session=session, person=request.user, now=timezone.now())
    except BookingError as error:
        messages.info(request, str(error))
    else:
        messages.success(
            request,
            "You are on the waiting list. If a place comes free we will email you a link "
            f"to claim it, and hold it for you for {settings.WAITLIST_OFFER_HOURS} hours.",
        )
    return redirect("bookings:session", session.pk)


@login_required
@require_POST
def waitlist_leave(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(WaitingListEntry, pk=pk, person=request.user)
    waitlist.waitlist_leave(entry=entry, actor=request.user, now=timezone.now())
    messages.success(request, "You have left the waiting list.")
    return redirect("bookings:my_bookings")
