"""The training administrator's view of bookings, money and messages.

Every change of a place, a payment or an invoice must go through ``bookings.services`` so that
it is audited and its emails and refunds follow; so these pages show rows read-only, and the
changes an administrator makes here are admin actions that call those services.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count, DecimalField, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from import_export import fields, resources
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, XLSX

from bookings import services
from bookings.models import (
    ZERO,
    AuditEntry,
    Booking,
    Invoice,
    InvoiceLine,
    Order,
    OutgoingEmail,
    Payment,
    Refund,
    WaitingListEntry,
    WebhookEvent,
)

PENNY = Decimal("0.01")


def _money(amount: Decimal | None) -> str:
    return f"£{amount if amount is not None else ZERO:,.2f}"


def _audit_history(obj: Any) -> str:
    entries = AuditEntry.objects.filter(
        object_type=obj._meta.label_lower, object_id=str(obj.pk)
    ).order_by("at", "pk")
    if not entries:
        return "No changes recorded."
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                timezone.localtime(entry.at).strftime("%d/%m/%Y %H:%M"),
                entry.actor_label,
                entry.action,
            )
            for entry in entries
        ),
    )
    return format_html(
        "<table><thead><tr><th>When</th><th>Who</th><th>What</th></tr></thead>"
        "<tbody>{}</tbody></table>",
        rows,
    )


class ViewOnlyRowsMixin:
    """Rows can be viewed but not added, edited or deleted here; admin actions that call the
    services still run (they check the change permission without a particular row)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None:
            return False
        return super().has_change_permission(request)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyMixin:
    """Records of what happened (webhooks, emails, audit): only ever viewed."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(ReadOnlyMixin, admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return list(self.fields or [])


# --- orders and bookings ------------------------------------------------------------------------


class BookingInline(ReadOnlyInline):
    model = Booking
    fields = ["attendee_name", "attendee_email", "session", "status", "price", "attendance"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Booking]:
        return super().get_queryset(request).select_related("session__course")


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ["gateway", "amount", "status", "checkout_session_id", "created_at", "completed_at"]


class InvoiceInline(ReadOnlyInline):
    model = Invoice
    fk_name = "order"
    fields = ["number", "kind", "status", "issued_on", "due_on", "paid_on"]


@admin.register(Order)
class OrderAdmin(ViewOnlyRowsMixin, admin.ModelAdmin):
    list_display = [
        "reference",
        "agency",
        "booked_by",
        "payment_method",
        "places",
        "total_price",
        "created_at",
    ]
    list_filter = ["payment_method", "created_at"]
    search_fields = ["reference", "agency__name", "booked_by__email", "purchase_order_number"]
    list_select_related = ["agency", "booked_by"]
    date_hierarchy = "created_at"
    fields = [
        "reference",
        "agency",
        "booked_by",
        "payment_method",
        "purchase_order_number",
        "created_at",
    ]
    readonly_fields = fields
    inlines = [BookingInline, PaymentInline, InvoiceInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                place_count=Count("bookings"),
                price_total=Coalesce(
                    Sum("bookings__price"), Value(ZERO), output_field=DecimalField()
                ),
            )
        )

    @admin.display(description="places", ordering="place_count")
    def places(self, order: Order) -> int:
        return order.place_count  # type: ignore[attr-defined]

    @admin.display(description="total", ordering="price_total")
    def total_price(self, order: Order) -> str:
        return _money(order.price_total)  # type: ignore[attr-defined]


@admin.register(Booking)
class BookingAdmin(ViewOnlyRowsMixin, admin.ModelAdmin):
    list_display = [
        "attendee_and_email",
        "session",
        "agency",
        "sector",
        "status",
        "payment_method",
        "price",
        "attendance",
    ]
    list_filter = [
        "status",
        "payment_method",
        "attendance",
        "late_cancellation",
        "sector",
        "session__course",
    ]
    search_fields = [
        "attendee_name",
        "attendee_email",
        "order__reference",
        "agency__name",
        "session__course__title",
    ]
    list_select_related = ["session__course", "agency", "sector"]
    date_hierarchy = "session__starts_at"
    actions = ["cancel_bookings"]
    fieldsets = [
        (None, {"fields": ["order", "session", "status", "attendance"]}),
        (
            "Attendee",
            {
                "fields": [
                    "attendee_name",
                    "attendee_email",
                    "attendee_job_title",
                    "attendee",
                    "agency",
                    "sector",
                ]
            },
        ),
        ("Price", {"fields": ["price_band", "price", "in_kind_value", "payment_method"]}),
        (
            "Dates",
            {
                "fields": [
                    "created_at",
                    "hold_expires_at",
                    "confirmed_at",
                    "cancelled_at",
                    "cancellation_reason",
                    "late_cancellation",
                ]
            },
        ),
        ("History", {"fields": ["history"]}),
    ]
    readonly_fields = [
        "order",
        "session",
        "status",
        "attendance",
        "attendee_name",
        "attendee_email",
        "attendee_job_title",
        "attendee",
        "agency",
        "sector",
        "price_band",
        "price",
        "in_kind_value",
        "payment_method",
        "created_at",
        "hold_expires_at",
        "confirmed_at",
        "cancelled_at",
        "cancellation_reason",
        "late_cancellation",
        "history",
    ]

    # Not "attendee": that is the model's own field (the attendee's account, often empty).
    @admin.display(description="attendee", ordering="attendee_name")
    def attendee_and_email(self, booking: Booking) -> str:
        return f"{booking.attendee_name} <{booking.attendee_email}>"

    @admin.display(description="history")
    def history(self, booking: Booking) -> str:
        return _audit_history(booking)

    @admin.action(
        description="Cancel selected bookings (refund per policy)", permissions=["change"]
    )
    def cancel_bookings(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        now = timezone.now()
        cancelled = 0
        for booking in queryset.select_related("order").order_by("pk"):
            try:
                services.booking_cancel(
                    booking=booking,
                    actor=request.user,
                    now=now,
                    reason="Cancelled by the training team",
                )
            except services.BookingError as error:
                self.message_user(
                    request,
                    f"{booking.attendee_name} ({booking.order.reference}): {error}",
                    messages.ERROR,
                )
            else:
                cancelled += 1
        if cancelled:
            self.message_user(
                request,
                f"{cancelled} booking{'s' if cancelled != 1 else ''} cancelled. Places "
                "cancelled before the cut-off are refunded in full; after it the fee stands.",
                messages.SUCCESS,
            )


# --- money ---------------------------------------------------------------------------------------


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ["amount", "status", "reason", "gateway_refund_id", "error", "created_at"]


@admin.register(Payment)
class PaymentAdmin(ViewOnlyRowsMixin, admin.ModelAdmin):
    list_display = ["order", "gateway", "amount", "status", "created_at", "completed_at"]
    list_filter = ["status", "gateway"]
    search_fields = ["order__reference", "checkout_session_id", "payment_intent_id"]
    list_select_related = ["order"]
    date_hierarchy = "created_at"
    fields = [
        "order",
        "gateway",
        "amount",
        "status",
        "checkout_session_id",
        "checkout_url",
        "payment_intent_id",
        "created_at",
        "completed_at",
        "history",
    ]
    readonly_fields = fields
    inlines = [RefundInline]

    @admin.display(description="history")
    def history(self, payment: Payment) -> str:
        return _audit_history(payment)


@admin.register(Refund)
class RefundAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["payment", "booking", "amount", "status", "reason", "created_at"]
    list_filter = ["status"]
    search_fields = ["payment__order__reference", "booking__attendee_name", "gateway_refund_id"]
    list_select_related = ["payment__order", "booking__session__course"]
    date_hierarchy = "created_at"


class InvoiceResource(resources.ModelResource):
    """What finance needs from each invoice and credit note: one row each, with its status."""

    kind = fields.Field(column_name="kind")
    agency = fields.Field(attribute="agency__name", column_name="agency")
    status = fields.Field(column_name="status")
    total = fields.Field(column_name="total")
    credits = fields.Field(attribute="credits__number", column_name="credits")

    class Meta:
        model = Invoice
        fields = [
            "number",
            "kind",
            "agency",
            "purchase_order_number",
            "issued_on",
            "due_on",
            "status",
            "paid_on",
            "total",
            "credits",
        ]
        export_order = fields

    def get_queryset(self) -> QuerySet[Invoice]:
        return with_totals(super().get_queryset().select_related("agency", "credits"))

    def dehydrate_kind(self, invoice: Invoice) -> str:
        return invoice.get_kind_display()

    def dehydrate_status(self, invoice: Invoice) -> str:
        return invoice.get_status_display()

    def dehydrate_total(self, invoice: Invoice) -> Decimal:
        # Annotated by the admin's queryset (one query for the whole export); a credit note's
        # total is negative, so the column sums to what is owed.
        total = getattr(invoice, "line_total", None)
        return (total if total is not None else invoice.total).quantize(PENNY)


def with_totals(queryset: QuerySet[Invoice]) -> QuerySet[Invoice]:
    return queryset.annotate(
        line_total=Coalesce(Sum("lines__amount"), Value(ZERO), output_field=DecimalField())
    )


class InvoiceLineInline(ReadOnlyInline):
    model = InvoiceLine
    fields = ["description", "amount", "booking"]
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[InvoiceLine]:
        return super().get_queryset(request).select_related("booking__session__course")


@admin.register(Invoice)
class InvoiceAdmin(ViewOnlyRowsMixin, ExportMixin, admin.ModelAdmin):
    resource_classes = [InvoiceResource]
    formats = [CSV, XLSX]
    list_display = [
        "number",
        "kind",
        "agency",
        "total",
        "status",
        "issued_on",
        "due_on",
        "paid_on",
        "purchase_order_number",
        "credits",
    ]
    list_filter = ["kind", "status", "issued_on", "due_on"]
    search_fields = [
        "number",
        "agency__name",
        "purchase_order_number",
        "billing_name",
        "billing_email",
        "order__reference",
    ]
    list_select_related = ["agency", "credits"]
    date_hierarchy = "issued_on"
    actions = ["mark_paid_today"]
    fields = [
        "number",
        "kind",
        "pdf",
        "status",
        "agency",
        "order",
        "credits",
        "purchase_order_number",
        "billing_name",
        "billing_address",
        "billing_email",
        "issued_on",
        "due_on",
        "paid_on",
        "history",
    ]
    readonly_fields = fields
    inlines = [InvoiceLineInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Invoice]:
        return with_totals(super().get_queryset(request))

    @admin.display(description="total", ordering="line_total")
    def total(self, invoice: Invoice) -> str:
        return _money(invoice.line_total)  # type: ignore[attr-defined]

    @admin.display(description="PDF")
    def pdf(self, invoice: Invoice) -> str:
        url = reverse("bookings:invoice_pdf", args=[invoice.number])
        return format_html('<a href="{}">{}.pdf</a>', url, invoice.number)

    @admin.display(description="history")
    def history(self, invoice: Invoice) -> str:
        return _audit_history(invoice)

    @admin.action(description="Mark as paid today", permissions=["change"])
    def mark_paid_today(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        now = timezone.now()
        today = timezone.localdate(now)
        marked, skipped = 0, []
        for invoice in queryset.order_by("pk"):
            if services.invoice_mark_paid(
                invoice=invoice, paid_on=today, actor=request.user, now=now
            ):
                marked += 1
            else:
                skipped.append(invoice.number)
        if marked:
            self.message_user(
                request,
                f"{marked} invoice{'s' if marked != 1 else ''} marked as paid on {today:%d/%m/%Y}.",
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                f"Not changed (only unpaid invoices can be marked paid; credit notes never): "
                f"{', '.join(skipped)}.",
                messages.WARNING,
            )


# --- waiting list -------------------------------------------------------------------------------


@admin.register(WaitingListEntry)
class WaitingListEntryAdmin(ViewOnlyRowsMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "email",
        "session",
        "status",
        "joined_at",
        "offered_at",
        "offer_expires_at",
    ]
    list_filter = ["status", "session__course"]
    search_fields = ["name", "email", "session__course__title"]
    list_select_related = ["session__course"]
    fields = [
        "session",
        "person",
        "name",
        "email",
        "status",
        "joined_at",
        "offered_at",
        "offer_expires_at",
        "history",
    ]
    readonly_fields = fields
    actions = ["offer_place_now"]

    @admin.display(description="history")
    def history(self, entry: WaitingListEntry) -> str:
        return _audit_history(entry)

    @admin.action(description="Offer a place now", permissions=["change"])
    def offer_place_now(self, request: HttpRequest, queryset: QuerySet[WaitingListEntry]) -> None:
        now = timezone.now()
        offered = 0
        for entry in queryset.order_by("joined_at", "pk"):
            try:
                services.waitlist_offer_by_hand(entry=entry, actor=request.user, now=now)
            except services.BookingError as error:
                self.message_user(request, f"{entry.name}: {error}", messages.ERROR)
            else:
                offered += 1
        if offered:
            self.message_user(
                request,
                f"Offered a place to {offered} {'people' if offered != 1 else 'person'}; "
                "each has been emailed a claim link.",
                messages.SUCCESS,
            )


# --- records of what happened -------------------------------------------------------------------


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["event_id", "event_type", "received_at", "processed_at", "outcome"]
    list_filter = ["event_type"]
    search_fields = ["event_id", "outcome"]
    date_hierarchy = "received_at"
    fields = ["event_id", "event_type", "received_at", "processed_at", "outcome", "payload_json"]
    readonly_fields = fields

    @admin.display(description="payload")
    def payload_json(self, event: WebhookEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.payload, indent=2, sort_keys=True))


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["kind", "to", "send_after", "claimed_at", "sent_at", "attempts", "has_error"]
    list_filter = ["kind", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["to", "kind"]
    date_hierarchy = "send_after"
    actions = ["try_again"]

    @admin.action(description="Try sending the selected unsent emails again")
    def try_again(self, request: HttpRequest, queryset: QuerySet[OutgoingEmail]) -> None:
        from bookings.emails import emails_retry
        from bookings.tasks import send_emails

        ids = list(queryset.filter(sent_at=None).values_list("pk", flat=True))
        count = emails_retry(ids, now=timezone.now())
        if ids:
            transaction.on_commit(lambda: send_emails.enqueue(ids))
        self.message_user(
            request, f"{count} email{'s' if count != 1 else ''} will be tried again now."
        )

    @admin.display(description="error", boolean=True)
    def has_error(self, email: OutgoingEmail) -> bool:
        return bool(email.error)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["at", "object_type", "object_id", "action", "actor_label"]
    list_filter = ["object_type"]
    search_fields = ["object_id", "action", "actor_label"]
    date_hierarchy = "at"


from bookings import admin_attendance  # noqa: F401,E402
