"""The administrator's view of orders, bookings and the waiting list."""

from __future__ import annotations

from typing import cast

from django.contrib import admin, messages
from django.db.models import Count, DecimalField, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone

from bookings.errors import BookingError
from bookings.models import (
    ZERO,
    Booking,
    Invoice,
    Order,
    Payment,
    WaitingListEntry,
)
from bookings.places.changes import booking_cancel
from bookings.places.waitlist import waitlist_offer_by_hand
from bookings.readonly import ReadOnlyInline, ViewOnlyRowsMixin, _audit_history, _money
from training.admin_filters import AnswerBadFiltersMixin


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
class OrderAdmin(AnswerBadFiltersMixin, ViewOnlyRowsMixin, admin.ModelAdmin):
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
    readonly_fields = cast("list[str]", fields)  # plain field names, no groups
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
class BookingAdmin(AnswerBadFiltersMixin, ViewOnlyRowsMixin, admin.ModelAdmin):
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
                booking_cancel(
                    booking=booking,
                    actor=request.user,
                    now=now,
                    reason="Cancelled by the training team",
                )
            except BookingError as error:
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
    readonly_fields = cast("list[str]", fields)  # plain field names, no groups
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
                waitlist_offer_by_hand(entry=entry, actor=request.user, now=now)
            except BookingError as error:
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
