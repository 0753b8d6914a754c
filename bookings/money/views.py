"""Money pages: the webhook endpoint, the development checkout, invoice PDFs, the invoice list."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bookings.errors import BookingError
from bookings.models import (
    ZERO,
    BookingStatus,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Payment,
    PaymentStatus,
)
from bookings.money import documents
from bookings.money.forms import InvoiceFilterForm, MarkPaidForm
from bookings.money.gateways import GatewayError, checkout_event, sign_payload
from bookings.money.invoices import invoice_mark_paid
from bookings.money.paylinks import pay_link_order
from bookings.money.payments import payment_start
from bookings.money.webhooks import WebhookRejected, webhook_handle
from bookings.permissions import agency_of, can_pay_order, invoice_for_or_404, is_booker_for
from training.roles import Role, role_required

logger = logging.getLogger(__name__)

PER_PAGE = 50


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


def dev_checkout(request: HttpRequest, checkout_id: str) -> HttpResponse:
    """The development gateway's stand-in for Stripe Checkout (never in production). Like
    Stripe's, it is for whoever booked, or whoever holds the order's payment link."""
    if settings.PAYMENT_GATEWAY != "development":
        raise Http404("No such page.")
    payment = get_object_or_404(
        Payment.objects.select_related("order"), checkout_session_id=checkout_id
    )
    order = payment.order
    link = request.GET.get("link", "")
    linked = bool(link) and getattr(pay_link_order(link), "pk", None) == order.pk
    if not linked and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not linked and not can_pay_order(request.user, order):
        raise Http404("No such payment.")
    back = (
        reverse("bookings:pay_link", args=[link])
        if linked
        else reverse("bookings:order", args=[order.reference])
    )
    open_payment = payment.status in (PaymentStatus.CREATED, PaymentStatus.PENDING)
    if request.method == "POST":
        if not open_payment:
            messages.info(request, "This payment has already been dealt with.")
            return redirect(back)
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
        return redirect(back)
    bookings = order.bookings.filter(status=BookingStatus.HELD).select_related("session__course")
    return render(
        request,
        "bookings/dev_checkout.html",
        {"payment": payment, "order": order, "bookings": bookings, "open_payment": open_payment},
    )


def order_pay(request: HttpRequest, token: str) -> HttpResponse:
    """Public: the person booked by phone pays for their held place by the emailed link."""
    order = pay_link_order(token)
    if order is None:
        raise Http404("This payment link is not valid.")
    now = timezone.now()
    bookings = list(order.bookings.select_related("session__course", "session__venue"))
    held = [b for b in bookings if b.status == BookingStatus.HELD and b.hold_expires_at]
    open_hold = [b for b in held if b.hold_expires_at and b.hold_expires_at > now]
    paying = order.payments.filter(status=PaymentStatus.PENDING).exists()
    if request.method == "POST" and open_hold and not paying:
        here = request.build_absolute_uri(reverse("bookings:pay_link", args=[token]))
        try:
            payment = payment_start(order=order, success_url=here, cancel_url=here, now=now)
        except BookingError as error:  # the hold ran out meanwhile: the page says so
            messages.error(request, str(error))
            return redirect("bookings:pay_link", token)
        except GatewayError as error:
            logger.error("Checkout for %s failed: %s", order.reference, error)
            messages.error(
                request,
                "We could not reach the card payment service, so nothing has been charged. "
                "Please try again in a few minutes.",
            )
            return redirect("bookings:pay_link", token)
        url = payment.checkout_url
        if payment.gateway == "development":
            url += ("&" if "?" in url else "?") + urlencode({"link": token})
        return HttpResponseRedirect(url)
    return render(
        request,
        "bookings/order_pay.html",
        {
            "order": order,
            "bookings": bookings,
            "open_hold": open_hold,
            "paying": paying,
            "amount": sum((b.price for b in open_hold), ZERO),
            "hold_until": min(
                (b.hold_expires_at for b in open_hold if b.hold_expires_at), default=None
            ),
            "confirmed": any(b.status == BookingStatus.CONFIRMED for b in bookings),
        },
    )


@login_required
def invoice_pdf(request: HttpRequest, number: str) -> HttpResponse:
    invoice = invoice_for_or_404(request.user, number)
    response = HttpResponse(documents.invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{invoice.number}.pdf"'
    return response


@login_required
def agency_invoices(request: HttpRequest) -> HttpResponse:
    """The agency booker's money: every invoice and credit note of their agency on one page."""
    agency = agency_of(request.user)
    if agency is None or not is_booker_for(request.user, agency.pk):
        raise Http404("No such page.")
    invoices = list(
        Invoice.objects.filter(agency=agency)
        .select_related("order", "credits")
        .prefetch_related("lines")
        .order_by("-issued_on", "-pk")
    )
    today = timezone.localdate()
    outstanding = [
        i for i in invoices if i.kind == InvoiceKind.INVOICE and i.status == InvoiceStatus.ISSUED
    ]
    return render(
        request,
        "bookings/agency_invoices.html",
        {
            "agency": agency,
            "invoices": invoices,
            "today": today,
            "outstanding_total": sum((i.total for i in outstanding), ZERO),
            "overdue": sum(1 for i in outstanding if i.due_on < today),
            "finance_email": settings.FINANCE_CONTACT_EMAIL,
            "bank_details": settings.INVOICE_BANK_DETAILS,
        },
    )


@role_required(Role.TRAINING_ADMINISTRATOR, hide=True)
def manage_invoices(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    if request.method == "POST":
        paid_form = MarkPaidForm(request.POST)
        if paid_form.is_valid():
            invoice = get_object_or_404(Invoice, pk=paid_form.cleaned_data["invoice"])
            if invoice_mark_paid(
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


@csrf_exempt  # Stripe cannot send a CSRF token; the signature authenticates the request.
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    try:
        outcome = webhook_handle(
            payload=request.body,
            signature=request.headers.get("Stripe-Signature", ""),
            now=timezone.now(),
        )
    except WebhookRejected as error:
        logger.warning("Webhook rejected: %s", error)
        return HttpResponseBadRequest("Invalid webhook")
    logger.info("Webhook processed: %s", outcome)
    return HttpResponse(outcome, content_type="text/plain")
