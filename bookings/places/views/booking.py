"""The booking flow: choose attendees and payment, review the price, book, start paying."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from bookings.errors import BookingError, SessionFull
from bookings.models import (
    BookingStatus,
    Order,
    PaymentMethod,
    WaitingListEntry,
)
from bookings.money.gateways import GatewayError
from bookings.money.payments import checkout_failed, payment_start
from bookings.permissions import (
    agency_of,
    can_pay_order,
    can_see_session,
    is_booker_for,
    order_for_or_404,
    payment_methods_allowed,
)
from bookings.places.approvals import ManagerSpec
from bookings.places.booking import AttendeeSpec, booking_create
from bookings.places.forms import (
    AttendeeFormSet,
    BookingForm,
)
from bookings.places.pricing import (
    PriceChanged,
    Quote,
    agency_vouched_for,
    known_band,
    price_quote,
    subsidised_places_left,
)
from bookings.places.selectors import is_on_waiting_list
from bookings.places.session_read import session_to_confirm, sessions_to_book
from bookings.ratelimit import rate_limit
from training.auth import profile_of
from training.models import Agency, Session
from training.services import profile_line_manager_set

logger = logging.getLogger(__name__)


def _attendee_self(user: Any, access_needs: str = "") -> AttendeeSpec:
    profile = profile_of(user)
    return AttendeeSpec(
        name=user.get_full_name() or user.email,
        email=user.email,
        job_title=profile.job_title if profile else "",
        access_needs=access_needs,
    )


def _manager_initial(user: Any) -> dict[str, str]:
    profile = profile_of(user)
    if profile is None:
        return {}
    return {
        "line_manager_name": profile.line_manager_name,
        "line_manager_email": profile.line_manager_email,
    }


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
        # Booking for colleagues is a booker's (by grant for this agency), never a profile's.
        is_booker = is_booker_for(self.user, agency.pk)
        # An offer from the waiting list is one place for the person it was offered to.
        self.for_colleagues = is_booker and offer is None
        self.verified = agency_vouched_for(self.user, agency)
        self.unit_quote = price_quote(
            session=session,
            agency=agency,
            payment_method=PaymentMethod.CARD,
            places=1,
            booked_by=self.user,
        )
        self.free = self.unit_quote.payment_method == PaymentMethod.FREE
        self.subsidised_left = 0
        # Who may use which way of paying is the permission module's, and booking_create
        # asks it again; here it only decides what the form offers.
        allowed = payment_methods_allowed(self.user, agency)
        if self.free:
            self.methods = [PaymentMethod.FREE]
        else:
            self.methods = [PaymentMethod.CARD]
            if PaymentMethod.INVOICE in allowed and agency.approved:
                self.methods.append(PaymentMethod.INVOICE)
            if (
                PaymentMethod.SUBSIDISED in allowed
                and agency.subsidised_places_per_year
                and session.starts_at
            ):
                self.subsidised_left = subsidised_places_left(
                    agency, timezone.localdate(session.starts_at)
                )
                if self.subsidised_left > 0:
                    self.methods.append(PaymentMethod.SUBSIDISED)
        # A course that needs approval asks who the line manager is (remembered from the
        # last time), so there is a first page to fill in.
        self.needs_manager = session.course.needs_approval
        # With one way to pay, only oneself to book and no manager to name, there is
        # nothing to choose: the first page is already the confirmation.
        self.has_choices = self.for_colleagues or len(self.methods) > 1 or self.needs_manager

    @property
    def action_url(self) -> str:
        if self.offer is not None:
            return reverse("bookings:waitlist_claim", args=[self.offer.claim_token])
        return reverse("bookings:book", args=[self.session.pk])

    def booking_form(self, data: Any = None, initial: dict[str, Any] | None = None) -> BookingForm:
        return BookingForm(
            data,
            initial={**_manager_initial(self.user), **(initial or {})},
            needs_manager=self.needs_manager,
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
            "approval_days": settings.BOOKING_APPROVAL_WORKING_DAYS,
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
    quote: Quote,
    price_changed: str = "",
    error: str = "",
) -> HttpResponse:
    data = form.cleaned_data
    hidden: list[tuple[str, str]] = [
        ("payment_method", data["payment_method"]),
        ("purchase_order_number", data.get("purchase_order_number", "")),
    ]
    if flow.needs_manager:
        hidden += [
            ("line_manager_name", data.get("line_manager_name", "")),
            ("line_manager_email", data.get("line_manager_email", "")),
            ("manager_agreed", "on" if data.get("manager_agreed") else ""),
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
            manager=_manager_from(flow, form),
            access_needs=data.get("access_needs", ""),
        ),
    )


def _render_full(flow: _Flow, message: str) -> HttpResponse:
    """A full session is a normal answer: say so and offer the waiting list."""
    return render(
        flow.request,
        "bookings/session_full.html",
        flow.context(message=message, on_list=is_on_waiting_list(flow.session.pk, flow.user)),
    )


def _manager_from(flow: _Flow, form: BookingForm) -> ManagerSpec | None:
    if not flow.needs_manager:
        return None
    data = form.cleaned_data
    return ManagerSpec(
        name=data.get("line_manager_name", ""),
        email=data.get("line_manager_email", ""),
        agreed=bool(data.get("manager_agreed")),
    )


def _collect(flow: _Flow, form: BookingForm, formset: Any) -> list[AttendeeSpec] | None:
    """The attendees of a valid submission, or None with errors added to the form."""
    form_ok = form.is_valid()
    rows_ok = formset.is_valid() if formset is not None else True
    if not (form_ok and rows_ok):
        return None
    myself = _attendee_self(flow.user, form.cleaned_data.get("access_needs", ""))
    if not flow.for_colleagues:
        return [myself]
    attendees = [myself] if form.cleaned_data.get("include_myself") else []
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
            quote = price_quote(
                session=session,
                agency=agency,
                payment_method=flow.methods[0],
                places=1,
                booked_by=flow.user,
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
        quote = price_quote(
            session=session,
            agency=agency,
            payment_method=method,
            places=len(attendees),
            booked_by=flow.user,
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
        order = booking_create(
            session=session,
            attendees=attendees,
            agency=agency,
            booked_by=request.user,
            payment_method=method,
            purchase_order_number=form.cleaned_data.get("purchase_order_number", ""),
            quoted_total=quoted_total if quoted_total is not None else Decimal("-1"),
            waitlist_offer=offer,
            manager=_manager_from(flow, form),
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

    manager = _manager_from(flow, form)
    if manager is not None and not flow.for_colleagues:
        profile_line_manager_set(user=request.user, name=manager.name, email=manager.email)
    # Card places are held until paid; those awaiting approval are paid for once approved.
    if (
        order.payment_method == PaymentMethod.CARD
        and order.bookings.filter(status=BookingStatus.HELD).exists()
    ):
        return _start_payment(request, order, now)
    # The order page's confirmation panel says it is booked; no flash message on top.
    return redirect("bookings:order", order.reference)


def _start_payment(request: HttpRequest, order: Order, now: dt.datetime) -> HttpResponse:
    """Open the gateway's checkout for the held places (after the booking transaction)."""
    return_url = request.build_absolute_uri(reverse("bookings:order", args=[order.reference]))
    try:
        payment = payment_start(order=order, success_url=return_url, cancel_url=return_url, now=now)
    except BookingError as error:  # the hold ran out: nothing to pay for any more
        messages.error(request, str(error))
        return redirect("bookings:order", order.reference)
    except GatewayError as error:
        logger.error("Checkout for %s failed: %s", order.reference, error)
        checkout_failed(order=order, now=timezone.now())
        messages.error(
            request,
            "We could not reach the card payment service, so nothing has been charged and the "
            "places have been released. Please try again in a few minutes.",
        )
        return redirect("bookings:order", order.reference)
    return HttpResponseRedirect(payment.checkout_url)


@login_required
@require_POST
def order_pay(request: HttpRequest, reference: str) -> HttpResponse:
    """Start paying for places that were held once approved."""
    order = order_for_or_404(request.user, reference)
    if not can_pay_order(request.user, order):
        raise Http404("No such booking.")
    return _start_payment(request, order, timezone.now())


@login_required
@rate_limit(
    "booking",
    per_address="BOOKING_POSTS_PER_ADDRESS_PER_MINUTE",
    per_account="BOOKING_POSTS_PER_ACCOUNT_PER_MINUTE",
    methods=("POST",),
)
def book(request: HttpRequest, pk: int) -> HttpResponse:
    agency = agency_of(request.user)
    # The price of the person's band comes with the session (one statement, not three); only
    # someone unverified may pay a band that depends on the session's prices.
    band = known_band(booked_by=request.user, agency=agency)
    if band is not None and request.POST.get("action") == "confirm":
        # The hot path: only what a confirmed booking needs, in one plain statement.
        confirming = session_to_confirm(pk, band)
        if confirming is None:
            raise Http404("No such session.")
        session = confirming
    else:
        session = get_object_or_404(
            sessions_to_book(band, pages=request.POST.get("action") != "confirm"), pk=pk
        )
    if not can_see_session(request.user, session):
        raise Http404("No such session.")
    if agency is None:
        messages.info(
            request,
            "Tell us which agency you work for before you book: the price depends on it.",
        )
        return redirect(f"{reverse('training:profile')}?next={request.path}")
    now = timezone.now()
    if not session.is_open_for_booking(now):
        return render(request, "bookings/book_closed.html", {"session": session, "message": ""})
    return _booking_page(request, session=session, agency=agency, offer=None)


@login_required
@rate_limit("waitlist-claim", per_address=20, per_account=10)
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
    agency = agency_of(request.user)
    if agency is None:
        messages.info(
            request,
            "Tell us which agency you work for, then you can claim the place.",
        )
        return redirect(f"{reverse('training:profile')}?next={request.path}")
    return _booking_page(request, session=entry.session, agency=agency, offer=entry)
