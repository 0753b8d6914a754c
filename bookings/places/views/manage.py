"""The administrator's booking pages: every booking, and one session's places, capacity,
dates and venue."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import OuterRef, Q, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from bookings.capacity import places_taken
from bookings.errors import BookingError
from bookings.models import (
    ZERO,
    Booking,
    BookingStatus,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    NonAttendanceCharge,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Register,
    WaitingListEntry,
)
from bookings.places.forms import (
    BookingSearchForm,
    SessionCancelForm,
    SessionCapacityForm,
    SessionMessageForm,
    SessionMoveForm,
)
from bookings.places.reschedule import session_move_recipients, session_reschedule
from bookings.places.selectors import reservations_with_unnamed, session_sector_mix
from bookings.places.session_messages import session_message_recipients, session_message_send
from bookings.places.sessions import session_cancel, session_capacity_set
from bookings.places.waitlist import waitlist_offer_by_hand
from training.models import Session, SessionStatus
from training.roles import Role, role_required

PER_PAGE = 50


def _on_or_after_first_day(session: Session, now: Any) -> bool:
    """The register can be marked from the morning of the first day."""
    return session.starts_at is not None and timezone.localdate(now) >= timezone.localdate(
        session.starts_at
    )


def _payment_status_annotations() -> dict[str, Any]:
    latest_payment = Payment.objects.filter(order=OuterRef("order")).order_by("-created_at")
    invoice_line = InvoiceLine.objects.filter(
        booking=OuterRef("pk"), invoice__kind=InvoiceKind.INVOICE
    ).order_by("pk")
    return {
        "card_status": Subquery(latest_payment.values("status")[:1]),
        "invoice_status": Subquery(invoice_line.values("invoice__status")[:1]),
        "invoice_number": Subquery(invoice_line.values("invoice__number")[:1]),
    }


def payment_label(booking: Any) -> str:
    if booking.payment_method == PaymentMethod.CARD:
        status = getattr(booking, "card_status", None)
        return PaymentStatus(status).label if status else "No payment started"
    if booking.payment_method == PaymentMethod.INVOICE:
        status = getattr(booking, "invoice_status", None)
        return f"Invoice {InvoiceStatus(status).label.lower()}" if status else "No invoice"
    return "Nothing to pay"


@role_required(Role.TRAINING_ADMINISTRATOR, hide=True)
def manage_bookings(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    form = BookingSearchForm(request.GET or None)
    bookings = (
        Booking.objects.select_related("session__course", "agency", "order")
        .annotate(**_payment_status_annotations())
        .order_by("-created_at")
    )
    session_id = request.GET.get("session", "")
    if session_id.isdigit():
        bookings = bookings.filter(session_id=int(session_id))
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            q = data["q"].strip()
            bookings = bookings.filter(
                Q(attendee_name__icontains=q)
                | Q(attendee_email__icontains=q)
                | Q(order__reference__iexact=q)
                | Q(agency__name__icontains=q)
            )
        if data["status"]:
            bookings = bookings.filter(status=data["status"])
        if data["payment_method"]:
            bookings = bookings.filter(payment_method=data["payment_method"])
        if data["when"] == "upcoming":
            bookings = bookings.filter(session__starts_at__gt=now)
        elif data["when"] == "past":
            bookings = bookings.filter(session__starts_at__lte=now)
    page = Paginator(bookings, PER_PAGE).get_page(request.GET.get("page"))
    for booking in page.object_list:
        # Set on the instance for the template only.
        booking.payment_label = payment_label(booking)  # type: ignore[attr-defined]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "bookings/manage_bookings.html",
        {"form": form, "page": page, "querystring": query.urlencode()},
    )


@role_required(Role.TRAINING_ADMINISTRATOR, hide=True)
def manage_session(request: HttpRequest, pk: int) -> HttpResponse:
    session = get_object_or_404(Session.objects.select_related("course", "venue"), pk=pk)
    now = timezone.now()
    capacity_form = SessionCapacityForm(initial={"capacity": session.capacity})
    cancel_form = SessionCancelForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "offer":
                entry = get_object_or_404(
                    WaitingListEntry, pk=request.POST.get("entry"), session=session
                )
                waitlist_offer_by_hand(entry=entry, actor=request.user, now=now)
                messages.success(request, f"A place has been offered to {entry.name} by email.")
                return redirect("bookings:manage_session", session.pk)
            if action == "capacity":
                capacity_form = SessionCapacityForm(request.POST)
                if capacity_form.is_valid():
                    session_capacity_set(
                        session=session,
                        capacity=capacity_form.cleaned_data["capacity"],
                        actor=request.user,
                        now=now,
                    )
                    messages.success(
                        request,
                        f"The capacity has been saved: {capacity_form.cleaned_data['capacity']} "
                        "places. Any new place is offered to the waiting list in order.",
                    )
                    return redirect("bookings:manage_session", session.pk)
            elif action == "cancel":
                cancel_form = SessionCancelForm(request.POST)
                if cancel_form.is_valid():
                    count = session_cancel(
                        session=session,
                        actor=request.user,
                        now=now,
                        reason=cancel_form.cleaned_data["reason"],
                    )
                    messages.success(
                        request,
                        f"The session has been cancelled. {count} booking"
                        f"{'s were' if count != 1 else ' was'} cancelled and refunded, "
                        "and everyone is being emailed.",
                    )
                    return redirect("bookings:manage_session", session.pk)
        except BookingError as error:
            messages.error(request, str(error))
            if action == "capacity":
                capacity_form.add_error("capacity", str(error))
            elif action == "cancel":
                cancel_form.add_error("reason", str(error))
            elif action == "offer":
                return redirect("bookings:manage_session", session.pk)
    session.refresh_from_db()
    bookings = (
        session.bookings.select_related("agency", "sector", "order")
        .annotate(**_payment_status_annotations())
        .order_by("attendee_name")
    )
    rows = list(bookings)
    for booking in rows:
        # Set on the instance for the template only.
        booking.payment_label = payment_label(booking)  # type: ignore[attr-defined]
    taken = places_taken(session.pk, now)
    register = Register.objects.filter(session=session).first()
    started = session.starts_at is not None and session.starts_at <= now
    active = [b for b in rows if b.status == BookingStatus.CONFIRMED]
    charges = list(
        NonAttendanceCharge.objects.filter(booking__session=session, waived_at=None)
        .select_related("invoice_line__invoice", "booking")
        .order_by("booking__attendee_name")
    )
    return render(
        request,
        "bookings/manage_session.html",
        {
            "register": register,
            "register_open": register is not None or _on_or_after_first_day(session, now),
            "started": started,
            "sector_mix": session_sector_mix(session),
            "agency_count": len({b.agency_id for b in active}),
            "charges": charges,
            "charges_total": sum((c.amount for c in charges), ZERO),
            "session": session,
            "bookings": rows,
            "entries": session.waiting_list.order_by("joined_at", "pk"),
            "reservations": reservations_with_unnamed(session.reservations.all()),
            "taken": taken,
            "places_left": max(0, session.capacity - taken),
            "capacity_form": capacity_form,
            "cancel_form": cancel_form,
            "now": now,
        },
    )


@role_required(Role.TRAINING_ADMINISTRATOR, hide=True)
def move_session(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a session to other dates, times or a venue, and choose whether to tell people."""
    session = get_object_or_404(Session.objects.select_related("course", "venue"), pk=pk)
    now = timezone.now()
    parts = list(session.parts.order_by("starts_at", "pk"))
    recipients = session_move_recipients(session)
    form = SessionMoveForm(request.POST or None, parts=parts, initial={"venue": session.venue_id})
    if request.method == "POST" and form.is_valid():
        tell = form.cleaned_data["tell"] == "yes"
        try:
            told = session_reschedule(
                session=session,
                parts=form.new_parts(),
                venue=form.cleaned_data["venue"],
                tell_people=tell,
                actor=request.user,
                now=now,
            )
        except BookingError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                f"The session has been moved. {told} {'person is' if told == 1 else 'people are'}"
                " being emailed the new details."
                if tell
                else "The session has been moved. Nobody has been told.",
            )
            return redirect("bookings:manage_session", session.pk)
    started = session.starts_at is not None and session.starts_at <= now
    return render(
        request,
        "bookings/move_session.html",
        {
            "session": session,
            "form": form,
            "recipients": recipients,
            "movable": session.status != SessionStatus.CANCELLED and not started,
        },
    )


@role_required(Role.TRAINING_ADMINISTRATOR, hide=True)
def message_session(request: HttpRequest, pk: int) -> HttpResponse:
    """Write one message to everyone on a session: its confirmed attendees, their bookers and,
    if chosen, its trainers."""
    session = get_object_or_404(Session.objects.select_related("course", "venue"), pk=pk)
    form = SessionMessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sent = session_message_send(
                session=session,
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                include_trainers=form.cleaned_data["include_trainers"],
                actor=request.user,
                now=timezone.now(),
            )
        except BookingError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                f"Your message is being emailed to {sent} {'person' if sent == 1 else 'people'}.",
            )
            return redirect("bookings:manage_session", session.pk)
    everyone = session_message_recipients(session=session, include_trainers=True)
    counts = {
        role: sum(1 for r in everyone if r.role == role)
        for role in ("attendee", "booker", "trainer")
    }
    return render(
        request,
        "bookings/message_session.html",
        {"session": session, "form": form, "counts": counts},
    )
