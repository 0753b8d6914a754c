"""The administrator's view of payments, refunds, invoices and webhook events."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import cast

from django.contrib import admin, messages
from django.db.models import DecimalField, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from import_export import fields, resources
from import_export.admin import ExportMixin

from bookings.models import (
    ZERO,
    Invoice,
    InvoiceLine,
    Payment,
    Refund,
    WebhookEvent,
)
from bookings.money.invoices import invoice_mark_paid
from bookings.readonly import (
    PENNY,
    ReadOnlyInline,
    ReadOnlyMixin,
    ViewOnlyRowsMixin,
    _audit_history,
    _money,
)
from training.admin_filters import AnswerBadFiltersMixin


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ["amount", "status", "reason", "gateway_refund_id", "error", "created_at"]


@admin.register(Payment)
class PaymentAdmin(AnswerBadFiltersMixin, ViewOnlyRowsMixin, admin.ModelAdmin):
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
    readonly_fields = cast("list[str]", fields)  # plain field names, no groups
    inlines = [RefundInline]

    @admin.display(description="history")
    def history(self, payment: Payment) -> str:
        return _audit_history(payment)


@admin.register(Refund)
class RefundAdmin(AnswerBadFiltersMixin, ReadOnlyMixin, admin.ModelAdmin):
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
class InvoiceAdmin(AnswerBadFiltersMixin, ViewOnlyRowsMixin, ExportMixin, admin.ModelAdmin):
    resource_classes = [InvoiceResource]
    # Exported as settings.EXPORT_FORMATS: the safe CSV and XLSX of bookings.files.
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
    readonly_fields = cast("list[str]", fields)  # plain field names, no groups
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
            if invoice_mark_paid(invoice=invoice, paid_on=today, actor=request.user, now=now):
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


@admin.register(WebhookEvent)
class WebhookEventAdmin(AnswerBadFiltersMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["event_id", "event_type", "received_at", "processed_at", "outcome"]
    list_filter = ["event_type"]
    search_fields = ["event_id", "outcome"]
    date_hierarchy = "received_at"
    fields = ["event_id", "event_type", "received_at", "processed_at", "outcome", "payload_json"]
    readonly_fields = cast("list[str]", fields)  # plain field names, no groups

    @admin.display(description="payload")
    def payload_json(self, event: WebhookEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.payload, indent=2, sort_keys=True))
