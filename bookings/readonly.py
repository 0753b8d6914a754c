"""Admin building blocks: read-only rows and inlines, the audit history, money columns."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from bookings.models import (
    ZERO,
    AuditEntry,
)
from bookings.templatetags.money import format_pounds

PENNY = Decimal("0.01")


def _money(amount: Decimal | None) -> str:
    return format_pounds(amount if amount is not None else ZERO)


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
        # A mixin: the ModelAdmin it is mixed into has the method.
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
        # Read-only inlines list plain field names, never fieldset groups.
        return list(cast("list[str]", self.fields or []))
