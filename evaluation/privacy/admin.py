"""Admin for the retention policy: one row, read and changed by the administrator."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from evaluation.models import RetentionPolicy


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    fields = [
        "contact_years",
        "free_text_years",
        "call_notes_years",
        "unverified_account_days",
        "audit_actor_years",
        "updated_at",
    ]
    readonly_fields = ["updated_at"]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # There is one policy: its list is its page (created from the settings' defaults).
        policy = RetentionPolicy.current()
        return HttpResponseRedirect(
            reverse("admin:evaluation_retentionpolicy_change", args=[policy.pk])
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: RetentionPolicy, form: Any, change: bool
    ) -> None:
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)
