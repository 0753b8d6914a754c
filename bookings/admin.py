"""The administrator's view of bookings: the outbox and the audit trail here, and the
sub-domains' admin pages registered by importing them (Django looks only for ``bookings.admin``)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from bookings import jobs
from bookings.attendance import admin as attendance_admin
from bookings.models import (
    AuditEntry,
    OutgoingEmail,
)
from bookings.money import admin as money_admin
from bookings.outbox import emails_retry
from bookings.places import admin as places_admin
from bookings.readonly import ReadOnlyMixin
from training.admin_filters import AnswerBadFiltersMixin

# The sub-domains' admin pages, registered when imported.
SUB_DOMAIN_ADMINS = (attendance_admin, money_admin, places_admin)


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(AnswerBadFiltersMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["kind", "to", "send_after", "claimed_at", "sent_at", "attempts", "has_error"]
    list_filter = ["kind", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["to", "kind"]
    date_hierarchy = "send_after"
    actions = ["try_again"]

    @admin.action(description="Try sending the selected unsent emails again")
    def try_again(self, request: HttpRequest, queryset: QuerySet[OutgoingEmail]) -> None:
        ids = list(queryset.filter(sent_at=None).values_list("pk", flat=True))
        count = emails_retry(ids, now=timezone.now())
        if ids:
            jobs.enqueue_on_commit("send_emails", ids)
        self.message_user(
            request, f"{count} email{'s' if count != 1 else ''} will be tried again now."
        )

    @admin.display(description="error", boolean=True)
    def has_error(self, email: OutgoingEmail) -> bool:
        return bool(email.error)


@admin.register(AuditEntry)
class AuditEntryAdmin(AnswerBadFiltersMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["at", "object_type", "object_id", "action", "actor_label"]
    list_filter = ["object_type"]
    search_fields = ["object_id", "action", "actor_label"]
    date_hierarchy = "at"
