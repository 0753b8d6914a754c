"""The audit trail page: filters, pages of entries, and the same entries as CSV."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from bookings.audit import ACTION_LABELS, action_code, action_label
from bookings.files.spreadsheets import spreadsheet_response
from bookings.models import AuditEntry
from bookings.records.selectors import audit_entries
from training.roles import Role, role_required

PAGE_SIZE = 50
OBJECT_TYPES = [
    ("", "Any"),
    ("bookings.booking", "Booking"),
    ("bookings.order", "Order"),
    ("bookings.invoice", "Invoice"),
    ("bookings.payment", "Payment"),
    ("bookings.refund", "Refund"),
    ("bookings.register", "Register"),
    ("bookings.waitinglistentry", "Waiting-list entry"),
    ("auth.user", "Person's account"),
]


class DateInput(forms.DateInput):
    input_type = "date"

    def format_value(self, value: Any) -> str | None:
        return value.isoformat() if isinstance(value, dt.date) else value


class AuditFilterForm(forms.Form):
    person = forms.IntegerField(label="Person (account number)", required=False, min_value=1)
    object_type = forms.ChoiceField(label="Kind of record", choices=OBJECT_TYPES, required=False)
    object_id = forms.CharField(label="Record number", required=False, max_length=50)
    code = forms.ChoiceField(
        label="Action",
        required=False,
        choices=[("", "Any"), *sorted(ACTION_LABELS.items(), key=lambda item: item[1])],
    )
    who = forms.CharField(label="Who (name, email or 'system')", required=False, max_length=100)
    date_from = forms.DateField(label="From", required=False, widget=DateInput)
    date_to = forms.DateField(label="To (included)", required=False, widget=DateInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        return data


def _row(entry: AuditEntry) -> dict[str, Any]:
    code = entry.code or action_code(entry.action)
    return {
        "entry": entry,
        "code": code,
        "label": action_label(code),
        "changes": json.dumps(entry.changes, ensure_ascii=False) if entry.changes else "",
    }


@role_required(Role.TRAINING_ADMINISTRATOR, hide=True)
@require_GET
def audit_trail(request: HttpRequest) -> HttpResponse:
    """Who changed what and when, for the administrator: filtered, paged, exportable."""
    form = AuditFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        filters = {
            key: value for key, value in form.cleaned_data.items() if value not in (None, "")
        }
    entries = audit_entries(**filters) if not form.errors else AuditEntry.objects.none()
    if request.GET.get("format") == "csv" and not form.errors:
        return spreadsheet_response(
            headers=["at", "record", "record_number", "code", "action", "details", "who"],
            rows=(
                [
                    entry.at,
                    entry.object_type,
                    entry.object_id,
                    row["code"],
                    entry.action,
                    row["changes"],
                    entry.actor_label,
                ]
                for entry in entries.iterator()
                for row in [_row(entry)]
            ),
            file_format="csv",
            filename="audit-trail",
            title="Audit trail",
        )
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return render(
        request,
        "records/audit.html",
        {
            "form": form,
            "page": page,
            "rows": [_row(entry) for entry in page.object_list],
            "query": query.urlencode(),
        },
        status=400 if form.errors else 200,
    )
