"""Pages for booking, paying for and changing places, and the administrator's booking area.

Every view that shows one booking, order or invoice checks that the person may see it and
answers 404 otherwise, so nobody learns that someone else's booking exists. Changes go through
``bookings.services``; a ``BookingError`` becomes a form error or a message, never a 500.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.error
import urllib.request
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from bookings import services
from bookings.forms import (
    AttendeeFormSet,
    BookingForm,
    BookingSearchForm,
    CancelForm,
    InvoiceFilterForm,
    MarkPaidForm,
    SessionCancelForm,
    SessionCapacityForm,
    TransferForm,
)
from bookings.models import (
    Booking,
    BookingStatus,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Order,
    Payment,
    PaymentMethod,
    PaymentStatus,
    WaitingListEntry,
    WaitlistStatus,
)
from bookings.payments import GatewayError, checkout_event, sign_payload
from bookings.selectors import (
    bookings_for_agency,
    bookings_for_person,
    is_on_waiting_list,
    places_taken,
)
from bookings.services import AttendeeSpec, BookingError, PriceChanged, SessionFull
from training.auth import profile_of
from training.models import Agency, Session, SessionStatus
from training.roles import Role, has_role, role_required

logger = logging.getLogger(__name__)

PER_PAGE = 50


# --- who may see what ---------------------------------------------------------------------------


def _agency_of(user: Any) -> Agency | None:
    """The agency on the person's profile (loaded with the user: see training.auth)."""
    profile = profile_of(user)
    return profile.agency if profile else None


def _is_admin(user: Any) -> bool:
    return has_role(user, Role.TRAINING_ADMINISTRATOR)


def _is_booker_for(user: Any, agency_id: int) -> bool:
    """An agency booker sees and changes every booking of their own agency."""
    if not has_role(user, Role.AGENCY_BOOKER):
        return False
    agency = _agency_of(user)
    return agency is not None and agency.pk == agency_id


def _can_see_booking(user: Any, booking: Booking) -> bool:
    return (
        _is_admin(user)
        or booking.attendee_id == user.pk
        or booking.order.booked_by_id == user.pk
        or _is_booker_for(user, booking.agency_id)
    )


def _can_see_order(user: Any, order: Order) -> bool:
    return (
        _is_admin(user)
        or order.booked_by_id == user.pk
        or _is_booker_for(user, order.agency_id)
        or order.bookings.filter(attendee_id=user.pk).exists()
    )


def _can_see_invoice(user: Any, invoice: Invoice) -> bool:
    return (
        _is_admin(user)
        or (invoice.order is not None and invoice.order.booked_by_id == user.pk)
        or _is_booker_for(user, invoice.agency_id)
    )


def _booking_for(user: Any, pk: int) -> Booking:
    booking = get_object_or_404(
        Booking.objects.select_related(
            "session__course", "session__venue", "order__booked_by", "agency", "attendee"
        ),
        pk=pk,
    )
    if not _can_see_booking(user, booking):
        # 404, not 403: do not confirm that someone else's booking exists.
        raise Http404("No such booking.")
    return booking


def _order_for(user: Any, reference: str) -> Order:
    order = get_object_or_404(
        Order.objects.select_related("agency", "booked_by"), reference=reference
    )
    if not _can_see_order(user, order):
        raise Http404("No such order.")
    return order


# --- booking ---------------------------------------------------------------------------------


def _attendee_self(user: Any) -> AttendeeSpec:
    profile = profile_of(user)
    return AttendeeSpec(
        name=user.get_full_name() or user.email,
        email=user.email,
        job_title=profile.job_title if profile else "",
    )


class _Flow:
    """What this person may choose when booking this session."""

    def __init__(
        self,
        request: HttpRequest,
        session: Session,
        agency: Agency,
        now: dt.datetime,
        offer: WaitingListEntry | None,
    ) -> None:
        self.request = request
        self.user: Any = request.user
        self.session = session
        self.agency = agency
        self.now = now
        self.offer = offer
        is_booker = has_role(self.user, Role.AGENCY_BOOKER)
        # An offer from the waiting list is one place for the person it was offered to.
        self.for_colleagues = is_booker and offer is None
        self.unit_quote = services.price_quote(
            session=session, agency=agency, payment_method=PaymentMethod.CARD, places=1
        )
        self.free = self.unit_quote.payment_method == PaymentMethod.FREE
        self.subsidised_left = 0
        if self.free:
            self.methods = [PaymentMethod.FREE]
        else:
            self.methods = [PaymentMethod.CARD]
            if is_booker and agency.approved:
                self.methods.append(PaymentMethod.INVOICE)
            if is_booker and agency.subsidised_places_per_year and session.starts_at:
                self.subsidised_left = services.subsidised_places_left(
                    agency, timezone.localdate(session.starts_at)
                )
                if self.subsidised_left > 0:
                    self.methods.append(PaymentMethod.SUBSIDISED)
        # With one way to pay and only oneself to book, there is nothing to choose:
        # the first page is already the confirmation.
        self.has_choices = self.for_colleagues or len(self.methods) > 1

    @property
    def action_url(self) -> str:
        if self.offer is not None:
            return reverse("bookings:waitlist_claim", args=[self.offer.claim_token])
        return reverse("bookings:book", args=[self.session.pk])

    def booking_form(self, data: Any = None, initial: dict[str, Any] | None = None) -> BookingForm:
        return BookingForm(
            data,
            initial=initial,
            methods=self.methods,
            purchase_order_required=self.agency.purchase_order_required,
            for_colleagues=self.for_colleagues,
            subsidised_left=self.subsidised_left,
            myself=self.user.get_full_name() or self.user.email,
        )

    def formset(self, data: Any = None, initial: list[dict[str, str]] | None = None) -> Any:
        if not self.for_colleagues:
            return None
        return AttendeeFormSet(data, initial=initial, prefix="attendees")

    def context(self, **extra: Any) -> dict[str, Any]:
        return {
            "flow": self,
            "session": self.session,
            "agency": self.agency,
            "unit_price": self.unit_quote.unit_price,
            "band": self.unit_quote.band,
            "me": _attendee_self(self.user),
            "offer": self.offer,
            "cutoff_days": settings.BOOKING_CANCELLATION_CUTOFF_WORKING_DAYS,
            "invoice_due_days": settings.INVOICE_DUE_DAYS,
            **extra,
        }


def _rows_from_post(data: Any) -> list[dict[str, str]]:
    try:
        total = min(int(data.get("attendees-TOTAL_FORMS", "0")), 30)
    except ValueError:
        total = 0
    return [
        {
            key: data.get(f"attendees-{index}-{key}", "").strip()
            for key in ("name", "email", "job_title")
        }
        for index in range(total)
    ]


def _render_step_one(
    flow: _Flow, *, form: BookingForm, formset: Any, status: int = 200
) -> HttpResponse:
    return render(
        flow.request,
        "bookings/book.html",
        flow.context(form=form, formset=formset),
        status=status,
    )


def _render_review(
    flow: _Flow,
    *,
    form: BookingForm,
    attendees: list[AttendeeSpec],
    quote: services.Quote,
    price_changed: str = "",
    error: str = "",
) -> HttpResponse:
    data = form.cleaned_data
    hidden: list[tuple[str, str]] = [
        ("payment_method", data["payment_method"]),
        ("purchase_order_number", data.get("purchase_order_number", "")),
    ]
    if flow.for_colleagues:
        hidden.append(("include_myself", "on" if data.get("include_myself") else ""))
        colleagues = attendees[1:] if data.get("include_myself") else attendees
        hidden += [
            ("attendees-TOTAL_FORMS", str(len(colleagues))),
            ("attendees-INITIAL_FORMS", "0"),
            ("attendees-MIN_NUM_FORMS", "0"),
            ("attendees-MAX_NUM_FORMS", "30"),
        ]
        for index, person in enumerate(colleagues):
            hidden += [
                (f"attendees-{index}-name", person.name),
                (f"attendees-{index}-email", person.email),
                (f"attendees-{index}-job_title", person.job_title),
            ]
    return render(
        flow.request,
        "bookings/book_review.html",
        flow.context(
            form=form,
            attendees=attendees,
            quote=quote,
            method=quote.payment_method,
            method_label=PaymentMethod(quote.payment_method).label,
            purchase_order_number=data.get("purchase_order_number", ""),
            hidden=hidden,
            price_changed=price_changed,
            error=error,
            invoice_to=flow.agency.invoice_contact_email or flow.user.email,
        ),
    )


def _render_full(flow: _Flow, message: str) -> HttpResponse:
    """A full session is a normal answer: say so and offer the waiting list."""
    return render(
        flow.request,
        "bookings/session_full.html",
        flow.context(message=message, on_list=is_on_waiting_list(flow.session.pk, flow.user)),
    )


def _collect(flow: _Flow, form: BookingForm, formset: Any) -> list[AttendeeSpec] | None:
    """The attendees of a valid submission, or None with errors added to the form."""
    form_ok = form.is_valid()
    rows_ok = formset.is_valid() if formset is not None else True
    if not (form_ok and rows_ok):
        return None
    if not flow.for_colleagues:
        return [_attendee_self(flow.user)]
    attendees = [_attendee_self(flow.user)] if form.cleaned_data.get("include_myself") else []
    attendees += formset.attendees()
    if not attendees:
        form.add_error(None, "Add at least one person to book a place for.")
        return None
    return attendees


def _booking_page(
    request: HttpRequest, *, session: Session, agency: Agency, offer: WaitingListEntry | None
) -> HttpResponse:
    now = timezone.now()
    try:
        flow = _Flow(request, session, agency, now, offer)
    except BookingError as error:
        return render(
            request, "bookings/book_closed.html", {"session": session, "message": str(error)}
        )
    if request.method != "POST":
        if not flow.has_choices:
            form = flow.booking_form({"payment_method": flow.methods[0]})
            form.is_valid()
            quote = services.price_quote(
                session=session, agency=agency, payment_method=flow.methods[0], places=1
            )
            return _render_review(
                flow, form=form, attendees=[_attendee_self(flow.user)], quote=quote
            )
        return _render_step_one(flow, form=flow.booking_form(), formset=flow.formset())

    action = request.POST.get("action", "review")
    if action in ("add", "edit") and flow.has_choices:
        rows = _rows_from_post(request.POST)
        if action == "edit":
            rows = [row for row in rows if any(row.values())]
        initial = {
            "payment_method": request.POST.get("payment_method", ""),
            "purchase_order_number": request.POST.get("purchase_order_number", ""),
            "include_myself": bool(request.POST.get("include_myself")),
        }
        return _render_step_one(
            flow, form=flow.booking_form(initial=initial), formset=flow.formset(initial=rows)
        )

    form = flow.booking_form(request.POST)
    formset = flow.formset(request.POST)
    attendees = _collect(flow, form, formset)
    if attendees is None:
        return _render_step_one(flow, form=form, formset=formset)
    method = form.cleaned_data["payment_method"]
    try:
        quote = services.price_quote(
            session=session, agency=agency, payment_method=method, places=len(attendees)
        )
    except BookingError as error:
        form.add_error(None, str(error))
        return _render_step_one(flow, form=form, formset=formset)
    if method == PaymentMethod.SUBSIDISED and len(attendees) > flow.subsidised_left:
        form.add_error(
            "payment_method",
            f"{agency.name} has {flow.subsidised_left} subsidised place"
            f"{'s' if flow.subsidised_left != 1 else ''} left this financial year, "
            f"not enough for {len(attendees)} people. Pay by card or invoice instead.",
        )
        return _render_step_one(flow, form=form, formset=formset)

    if action != "confirm":
        return _render_review(flow, form=form, attendees=attendees, quote=quote)

    quoted_total = form.cleaned_data.get("quoted_total")
    try:
        order = services.booking_create(
            session=session,
            attendees=attendees,
            agency=agency,
            booked_by=request.user,
            payment_method=method,
            purchase_order_number=form.cleaned_data.get("purchase_order_number", ""),
            quoted_total=quoted_total if quoted_total is not None else Decimal("-1"),
            waitlist_offer=offer,
            now=now,
        )
    except PriceChanged as changed:
        return _render_review(
            flow, form=form, attendees=attendees, quote=changed.quote, price_changed=str(changed)
        )
    except SessionFull as full:
        return _render_full(flow, str(full))
    except BookingError as error:
        if flow.has_choices:
            form.add_error(None, str(error))
            return _render_step_one(flow, form=form, formset=formset)
        return _render_review(flow, form=form, attendees=attendees, quote=quote, error=str(error))

    if order.payment_method == PaymentMethod.CARD:  # card places are held until paid
        return _start_payment(request, order, now)
    # The order page's confirmation panel says it is booked; no flash message on top.
    return redirect("bookings:order", order.reference)


def _start_payment(request: HttpRequest, order: Order, now: dt.datetime) -> HttpResponse:
    """Open the gateway's checkout for the held places (after the booking transaction)."""
    return_url = request.build_absolute_uri(reverse("bookings:order", args=[order.reference]))
    try:
        payment = services.payment_start(
            order=order, success_url=return_url, cancel_url=return_url, now=now
        )
    except GatewayError as error:
        logger.error("Checkout for %s failed: %s", order.reference, error)
        services.checkout_failed(order=order, now=timezone.now())
        messages.error(
            request,
            "We could not reach the card payment service, so nothing has been charged and the "
            "places have been released. Please try again in a few minutes.",
        )
        return redirect("bookings:order", order.reference)
    return HttpResponseRedirect(payment.checkout_url)


@login_required
def book(request: HttpRequest, pk: int) -> HttpResponse:
    sessions = Session.objects.select_related("course").prefetch_related(
        "price_overrides", "course__prices"
    )
    if request.POST.get("action") != "confirm":
        # Only the pages show where and when; a confirmed booking answers with a redirect.
        sessions = sessions.select_related("venue").prefetch_related("parts")
    session = get_object_or_404(sessions, pk=pk)
    if session.status != SessionStatus.PUBLISHED and not _is_admin(request.user):
        raise Http404("No such session.")
    agency = _agency_of(request.user)
    if agency is None:
        messages.info(
            request,
            "Tell us which agency you work for before you book: the price depends on it.",
        )
        return redirect("training:profile")
    now = timezone.now()
    if not session.is_open_for_booking(now):
        return render(request, "bookings/book_closed.html", {"session": session, "message": ""})
    return _booking_page(request, session=session, agency=agency, offer=None)


# --- orders and payment --------------------------------------------------------------------------


def _order_state(order: Order, now: dt.datetime) -> dict[str, Any]:
    bookings = list(order.bookings.select_related("session__course").order_by("pk"))
    waiting = (
        any(
            b.status == BookingStatus.HELD and b.hold_expires_at and b.hold_expires_at > now
            for b in bookings
        )
        or order.payments.filter(status=PaymentStatus.PENDING).exists()
    )
    return {"bookings": bookings, "waiting": waiting}


@login_required
def order_detail(request: HttpRequest, reference: str) -> HttpResponse:
    order = _order_for(request.user, reference)
    now = timezone.now()
    state = _order_state(order, now)
    payment = order.payments.order_by("-created_at").first()
    can_pay = (
        state["waiting"]
        and payment is not None
        and payment.status == PaymentStatus.CREATED
        and order.booked_by_id == request.user.pk
    )
    invoices = list(order.invoices.prefetch_related("lines").order_by("created_at"))
    show_invoices = _can_see_invoice(request.user, invoices[0]) if invoices else False
    return render(
        request,
        "bookings/order.html",
        {
            "order": order,
            "bookings": state["bookings"],
            "waiting": state["waiting"],
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
    order = _order_for(request.user, reference)
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


def _deliver_webhook(request: HttpRequest, event: dict[str, Any]) -> bool:
    """Send a signed event to our own webhook endpoint over HTTP, as Stripe would."""
    body = json.dumps(event).encode()
    url = request.build_absolute_uri(reverse("bookings:stripe_webhook"))
    outgoing = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": sign_payload(body, settings.STRIPE_WEBHOOK_SECRET),
        },
    )
    try:
        with urllib.request.urlopen(outgoing, timeout=20) as response:  # noqa: S310 (our own URL)
            response.read()
    except (urllib.error.URLError, TimeoutError) as error:
        logger.error("Development webhook delivery to %s failed: %s", url, error)
        return False
    return True


@login_required
def dev_checkout(request: HttpRequest, checkout_id: str) -> HttpResponse:
    """The development gateway's stand-in for Stripe Checkout (never in production)."""
    if settings.PAYMENT_GATEWAY != "development":
        raise Http404("No such page.")
    payment = get_object_or_404(
        Payment.objects.select_related("order"), checkout_session_id=checkout_id
    )
    order = payment.order
    if order.booked_by_id != request.user.pk:
        raise Http404("No such payment.")
    open_payment = payment.status in (PaymentStatus.CREATED, PaymentStatus.PENDING)
    if request.method == "POST":
        if not open_payment:
            messages.info(request, "This payment has already been dealt with.")
            return redirect("bookings:order", order.reference)
        if request.POST.get("action") == "pay":
            event = checkout_event("checkout.session.completed", payment, paid=True)
        else:
            event = checkout_event("checkout.session.expired", payment, paid=False)
        if not _deliver_webhook(request, event):
            messages.error(
                request,
                "The test payment could not be confirmed: the webhook endpoint did not answer.",
            )
        # Otherwise the order page itself says what happened.
        return redirect("bookings:order", order.reference)
    bookings = order.bookings.filter(status=BookingStatus.HELD).select_related("session__course")
    return render(
        request,
        "bookings/dev_checkout.html",
        {"payment": payment, "order": order, "bookings": bookings, "open_payment": open_payment},
    )


# --- one booking: details, calendar, cancel, transfer -------------------------------------------


@login_required
def booking_detail(request: HttpRequest, pk: int) -> HttpResponse:
    booking = _booking_for(request.user, pk)
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
            "free_cancellation": booking.is_free_cancellation(now),
            "cutoff": booking.cancellation_cutoff(),
            "invoices": [i for i in invoices if _can_see_invoice(request.user, i)],
            "refunds": booking.refunds.all(),
        },
    )


@login_required
def booking_ics(request: HttpRequest, pk: int) -> HttpResponse:
    from bookings import documents

    booking = _booking_for(request.user, pk)
    if booking.status != BookingStatus.CONFIRMED:
        raise Http404("Only confirmed places go in a calendar.")
    when = timezone.localdate(booking.session.starts_at) if booking.session.starts_at else ""
    filename = f"{slugify(booking.session.course.title)}-{when}.ics"
    response = HttpResponse(documents.booking_ics(booking), content_type="text/calendar")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def booking_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    booking = _booking_for(request.user, pk)
    now = timezone.now()
    if not booking.is_cancellable(now):
        messages.info(request, "This place can no longer be cancelled.")
        return redirect(booking)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            cancelled = services.booking_cancel(
                booking=booking, actor=request.user, now=now, reason=form.cleaned_data["reason"]
            )
        except BookingError as error:
            form.add_error(None, str(error))
        else:
            text = f"{booking.attendee_name}'s place has been cancelled."
            if cancelled.late_cancellation and cancelled.price:
                text += " It was after the cut-off, so the fee stands."
            elif cancelled.payment_method == PaymentMethod.CARD and cancelled.price:
                text += f" The £{cancelled.price} is being refunded to the card."
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
    booking = _booking_for(request.user, pk)
    now = timezone.now()
    if not booking.is_transferable(now):
        messages.info(request, "This place can no longer be transferred.")
        return redirect(booking)
    form = TransferForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            booking = services.booking_transfer(
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
            if _can_see_booking(request.user, booking):
                return redirect(booking)
            return redirect("bookings:my_bookings")
    return render(request, "bookings/booking_transfer.html", {"booking": booking, "form": form})


@login_required
def invoice_pdf(request: HttpRequest, number: str) -> HttpResponse:
    from bookings import documents

    invoice = get_object_or_404(Invoice.objects.select_related("order", "agency"), number=number)
    if not _can_see_invoice(request.user, invoice):
        raise Http404("No such invoice.")
    response = HttpResponse(documents.invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{invoice.number}.pdf"'
    return response


# --- lists ---------------------------------------------------------------------------------------


def _split_by_time(
    bookings: QuerySet[Booking], now: dt.datetime
) -> tuple[list[Booking], list[Booking]]:
    upcoming, past = [], []
    for booking in bookings:
        starts = booking.session.starts_at
        (upcoming if starts is None or starts > now else past).append(booking)
    upcoming.reverse()  # soonest first
    return upcoming, past


@login_required
def my_bookings(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    upcoming, past = _split_by_time(bookings_for_person(request.user.pk), now)
    entries = (
        WaitingListEntry.objects.filter(
            person=request.user, status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED]
        )
        .select_related("session__course", "session__venue")
        .order_by("session__starts_at")
    )
    return render(
        request,
        "bookings/my_bookings.html",
        {"upcoming": upcoming, "past": past, "entries": entries, "now": now},
    )


@role_required(Role.AGENCY_BOOKER, hide=True)
def agency_bookings(request: HttpRequest) -> HttpResponse:
    agency = _agency_of(request.user)
    if agency is None:
        messages.info(request, "Choose your agency first: then you can see its bookings.")
        return redirect("training:profile")
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
        {"agency": agency, "page": page, "when": when, "now": now},
    )


# --- waiting list ---------------------------------------------------------------------------


@login_required
@require_POST
def waitlist_join(request: HttpRequest, pk: int) -> HttpResponse:
    session = get_object_or_404(Session, pk=pk, status=SessionStatus.PUBLISHED)
    try:
        services.waitlist_join(session=session, person=request.user, now=timezone.now())
    except BookingError as error:
        messages.info(request, str(error))
    else:
        messages.success(
            request,
            "You are on the waiting list. If a place comes free we will email you a link "
            f"to claim it, and hold it for you for {settings.WAITLIST_OFFER_HOURS} hours.",
        )
    return redirect("training:session", session.pk)


@login_required
@require_POST
def waitlist_leave(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(WaitingListEntry, pk=pk, person=request.user)
    services.waitlist_leave(entry=entry, actor=request.user, now=timezone.now())
    messages.success(request, "You have left the waiting list.")
    return redirect("bookings:my_bookings")


@login_required
def waitlist_claim(request: HttpRequest, token: str) -> HttpResponse:
    entry = get_object_or_404(
        WaitingListEntry.objects.select_related("session__course", "session__venue"),
        claim_token=token,
    )
    if entry.person_id != request.user.pk:
        raise Http404("No such offer.")
    now = timezone.now()
    if not entry.is_open_offer(now):
        return render(request, "bookings/waitlist_offer_gone.html", {"entry": entry, "now": now})
    agency = _agency_of(request.user)
    if agency is None:
        messages.info(
            request,
            "Tell us which agency you work for, then open the link in the email again.",
        )
        return redirect("training:profile")
    return _booking_page(request, session=entry.session, agency=agency, offer=entry)


# --- the administrator's area -------------------------------------------------------------------


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
        booking.payment_label = payment_label(booking)
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
                services.waitlist_offer_by_hand(entry=entry, actor=request.user, now=now)
                messages.success(request, f"A place has been offered to {entry.name} by email.")
                return redirect("bookings:manage_session", session.pk)
            if action == "capacity":
                capacity_form = SessionCapacityForm(request.POST)
                if capacity_form.is_valid():
                    services.session_capacity_set(
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
                    count = services.session_cancel(
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
        session.bookings.select_related("agency", "order")
        .annotate(**_payment_status_annotations())
        .order_by("attendee_name")
    )
    rows = list(bookings)
    for booking in rows:
        booking.payment_label = payment_label(booking)
    taken = places_taken(session.pk, now)
    return render(
        request,
        "bookings/manage_session.html",
        {
            "session": session,
            "bookings": rows,
            "entries": session.waiting_list.order_by("joined_at", "pk"),
            "taken": taken,
            "places_left": max(0, session.capacity - taken),
            "capacity_form": capacity_form,
            "cancel_form": cancel_form,
            "now": now,
        },
    )


@role_required(Role.TRAINING_ADMINISTRATOR, hide=True)
def manage_invoices(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    if request.method == "POST":
        paid_form = MarkPaidForm(request.POST)
        if paid_form.is_valid():
            invoice = get_object_or_404(Invoice, pk=paid_form.cleaned_data["invoice"])
            if services.invoice_mark_paid(
                invoice=invoice,
                paid_on=paid_form.cleaned_data["paid_on"],
                actor=request.user,
                now=now,
            ):
                messages.success(request, f"Invoice {invoice.number} is marked paid.")
            else:
                messages.info(request, f"Invoice {invoice.number} was not waiting for payment.")
        else:
            messages.error(request, "Enter the date the invoice was paid, like 2026-03-27.")
        return redirect(request.get_full_path())
    form = InvoiceFilterForm(request.GET or None)
    invoices = (
        Invoice.objects.select_related("agency", "order", "credits")
        .prefetch_related("lines")
        .order_by("-created_at")
    )
    if form.is_valid():
        if form.cleaned_data["status"]:
            invoices = invoices.filter(status=form.cleaned_data["status"])
        if form.cleaned_data["q"]:
            q = form.cleaned_data["q"].strip()
            invoices = invoices.filter(
                Q(number__iexact=q)
                | Q(agency__name__icontains=q)
                | Q(purchase_order_number__icontains=q)
            )
    page = Paginator(invoices, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "bookings/manage_invoices.html",
        {
            "form": form,
            "page": page,
            "today": timezone.localdate(now),
            "querystring": query.urlencode(),
        },
    )
