"""A person's copy of everything held about them (subject access): JSON and CSV in one ZIP."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q

from bookings.files.spreadsheets import rows_to_csv
from bookings.models import (
    AuditEntry,
    Booking,
    Invoice,
    Order,
    OutgoingEmail,
    Payment,
    WaitingListEntry,
)
from evaluation.models import Answer, CallAttempt, FollowUpCall, Response
from evaluation.privacy.people import Person, person_bookings
from training.models import Profile

Rows = list[dict[str, Any]]


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _rows(queryset: Any, fields: list[str]) -> Rows:
    return [{key: _plain(value) for key, value in row.items()} for row in queryset.values(*fields)]


def _profile(person: Person) -> Rows:
    User = get_user_model()
    rows = _rows(
        User.objects.filter(pk__in=person.user_ids),
        ["id", "email", "first_name", "last_name", "date_joined", "last_login"],
    )
    profiles = {
        row["user_id"]: row
        for row in _rows(
            Profile.objects.filter(user_id__in=person.user_ids),
            ["user_id", "job_title", "phone", "agency__name", "consent_to_calls"],
        )
    }
    for row in rows:
        extra = profiles.get(row["id"], {})
        row.update({key: value for key, value in extra.items() if key != "user_id"})
    return rows


def person_export_sections(*, person: Person) -> dict[str, Rows]:
    """Everything held about ``person``, section by section (a list of plain rows each)."""
    bookings = Booking.objects.filter(person_bookings(person))
    orders = Order.objects.filter(Q(booked_by_id__in=person.user_ids) | Q(bookings__in=bookings))
    invoices = Invoice.objects.filter(
        Q(order__in=orders) | Q(billing_email__in=person.emails) | Q(lines__booking__in=bookings)
    )
    calls = FollowUpCall.objects.filter(Q(person_id__in=person.user_ids) | Q(booking__in=bookings))
    responses = Response.objects.filter(booking__in=bookings)
    about = (
        Q(object_type="bookings.booking", object_id__in=_ids(bookings))
        | Q(object_type="bookings.order", object_id__in=_ids(orders))
        | Q(object_type="bookings.invoice", object_id__in=_ids(invoices))
        | Q(object_type="auth.user", object_id__in=[str(pk) for pk in person.user_ids])
        | Q(actor_id__in=person.user_ids)
    )
    return {
        "profile": _profile(person),
        "bookings": _rows(
            bookings.order_by("created_at"),
            [
                "id",
                "order__reference",
                "session__course__title",
                "session__starts_at",
                "attendee_name",
                "attendee_email",
                "attendee_job_title",
                "agency__name",
                "sector__name",
                "price",
                "payment_method",
                "status",
                "created_at",
                "confirmed_at",
                "cancelled_at",
                "cancellation_reason",
            ],
        ),  # fmt: skip
        "attendance": _rows(
            bookings.exclude(attendance="").order_by("session__starts_at"),
            ["id", "session__course__title", "session__starts_at", "attendance"],
        ),
        "certificates": _rows(
            bookings.filter(attendance="attended").order_by("session__starts_at"),
            ["id", "session__course__title", "session__starts_at", "certificate_code"],
        ),
        "orders": _rows(
            orders.distinct().order_by("created_at"),
            ["reference", "created_at", "payment_method", "purchase_order_number", "agency__name"],
        ),
        "payments": _rows(
            Payment.objects.filter(order__in=orders).distinct().order_by("created_at"),
            ["order__reference", "gateway", "amount", "status", "created_at", "completed_at"],
        ),
        "invoices": _rows(
            invoices.distinct().order_by("created_at"),
            [
                "number",
                "kind",
                "order__reference",
                "billing_name",
                "billing_email",
                "issued_on",
                "due_on",
                "status",
                "paid_on",
            ],
        ),  # fmt: skip
        "waiting_list": _rows(
            WaitingListEntry.objects.filter(
                Q(person_id__in=person.user_ids) | Q(email__in=person.emails)
            ).order_by("joined_at"),
            [
                "session__course__title",
                "session__starts_at",
                "name",
                "email",
                "status",
                "joined_at",
            ],
        ),
        "survey_answers": _rows(
            Answer.objects.filter(response__in=responses).order_by("response_id", "pk"),
            [
                "response__survey__title",
                "response__submitted_at",
                "question__text",
                "outcome__text",
                "moment",
                "scale",
                "yes_no",
                "choice",
                "text",
            ],
        ),  # fmt: skip
        "survey_quotes": _rows(
            responses.exclude(quote="").order_by("submitted_at"),
            ["survey__title", "submitted_at", "good_practice", "quote_consent", "quote"],
        ),
        "call_records": _rows(
            calls.order_by("created_at"),
            ["id", "month", "phone", "status", "created_at", "closed_at", "close_reason"],
        ),
        "call_attempts": _rows(
            CallAttempt.objects.filter(call__in=calls).order_by("call_id", "number"),
            ["call_id", "number", "outcome", "attempted_at", "call_back_at"],
        ),
        "audit_entries": _rows(
            AuditEntry.objects.filter(about).order_by("at", "pk"),
            ["at", "object_type", "object_id", "action", "actor_label", "changes"],
        ),
        "emails_sent": _rows(
            OutgoingEmail.objects.filter(to__in=person.emails).order_by("created_at"),
            ["kind", "to", "created_at", "sent_at"],
        ),
    }


def _ids(queryset: Any) -> list[str]:
    return [str(pk) for pk in queryset.values_list("pk", flat=True)]


def person_export(*, person: Person, now: dt.datetime) -> bytes:
    """The ZIP: ``data.json`` with every section, and one CSV per section."""
    sections = person_export_sections(person=person)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        document = {"exported_at": now.isoformat(), **sections}
        archive.writestr("data.json", json.dumps(document, indent=2, default=str))
        for name, rows in sections.items():
            headers = list(rows[0]) if rows else ["(nothing held)"]
            values = [[row[key] for key in headers] for row in rows]
            archive.writestr(f"{name}.csv", rows_to_csv(headers, values))
    return buffer.getvalue()
