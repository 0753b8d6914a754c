"""Erasure and retention on the whole demo: after both, every report is the same, cell for
cell, and no name, email address or phone number of an anonymised person is left anywhere."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import models
from django.utils import timezone

from bookings.models import AuditEntry, Booking, Invoice, Payment, WaitingListEntry
from bookings.places.reservations import UNNAMED
from evaluation.models import FollowUpCall, Response
from evaluation.privacy.erasure import person_erase, person_erase_refusals
from evaluation.privacy.people import ANONYMISED_NAME, people_all
from evaluation.reports.attendance import attendance_by_sector
from evaluation.reports.exports import table_csv, tables_csv
from evaluation.reports.impact import evaluation_and_impact
from evaluation.reports.income import income_and_cost_recovery
from evaluation.reports.periods import Period, financial_years_with_sessions
from evaluation.reports.summary import year_summary
from training.models import CourseKind, Profile

# The loader really commits (its email tasks run on commit); serialized_rollback keeps the
# seeded reference data for the tests after this one.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)


def every_report_as_csv(today: dt.date) -> dict[str, str]:
    """Every board report, for every financial year with sessions and for all time, as CSV."""
    periods = [Period.financial_year(year) for year in financial_years_with_sessions(today)]
    periods.append(Period(dt.date(2000, 1, 1), dt.date(2040, 12, 31)))
    reports: dict[str, str] = {}
    for period in periods:
        for kind in CourseKind:
            table = attendance_by_sector(period, kind.value).table
            reports[f"attendance-{kind.value}-{period.slug}"] = table_csv(table)
        reports[f"income-{period.slug}"] = tables_csv(income_and_cost_recovery(period).tables())
        reports[f"impact-{period.slug}"] = tables_csv(evaluation_and_impact(period).tables())
        reports[f"summary-{period.slug}"] = tables_csv(year_summary(period).tables())
    return reports


def personal_data() -> tuple[set[str], set[str], set[str]]:
    """Everyone's names, email addresses and phone numbers, from where the unit keeps them."""
    User = get_user_model()
    names = {f"{u.first_name} {u.last_name}".strip() for u in User.objects.all()}
    # A reserved place nobody was named for has a placeholder, not a person's name.
    names |= set(
        Booking.objects.exclude(attendee_name=UNNAMED, attendee_email="").values_list(
            "attendee_name", flat=True
        )
    )
    names |= set(WaitingListEntry.objects.values_list("name", flat=True))
    emails = {email.lower() for email in User.objects.values_list("email", flat=True)}
    emails |= set(Booking.objects.values_list("attendee_email", flat=True))
    phones = set(Profile.objects.values_list("phone", flat=True))
    phones |= set(FollowUpCall.objects.values_list("phone", flat=True))
    return (
        {name.lower() for name in names if name and name != ANONYMISED_NAME},
        {email for email in emails if email},
        {phone for phone in phones if phone},
    )


def every_text_value() -> list[str]:
    """Every value of every text and JSON column of every table (Django's and allauth's too)."""
    values: list[str] = []
    for model in apps.get_models():
        columns = [
            field.attname for field in model._meta.concrete_fields if isinstance(field, TEXT_FIELDS)
        ]
        if not columns:
            continue
        for row in model._default_manager.values_list(*columns):
            for value in row:
                if value in (None, "", {}, []):
                    continue
                values.append(value if isinstance(value, str) else json.dumps(value))
    return values


def left_behind(names: set[str], emails: set[str], phones: set[str]) -> dict[str, set[str]]:
    values = every_text_value()
    found_emails = {match.lower() for value in values for match in EMAIL.findall(value)}
    text = "\x00".join(values).lower()
    return {
        "emails": found_emails & emails,
        "names": {name for name in names if name in text},
        "phones": {phone for phone in phones if phone.lower() in text},
    }


def test_ten_years_on_the_reports_are_unchanged_and_nobody_is_named_anywhere() -> None:
    call_command("demo", quiet_logins=True, stdout=io.StringIO())
    today = timezone.localdate()
    before = every_report_as_csv(today)
    names, emails, phones = personal_data()
    counts = {
        "bookings": Booking.objects.count(),
        "payments": Payment.objects.count(),
        "invoices": Invoice.objects.count(),
        "responses": Response.objects.count(),
        "attended": Booking.objects.filter(attendance="attended").count(),
    }
    assert len(emails) > 1000 and phones and names
    assert left_behind(names, emails, phones)["emails"], "the search must find what is there"

    # Erasure on request first, for a few dozen people: the reports do not move either.
    erasable = [
        person
        for person in people_all()
        if not person_erase_refusals(person=person, now=timezone.now())
        and Booking.objects.filter(attendee_email__in=person.emails).exists()
    ][:40]
    for person in erasable:
        person_erase(person=person, actor=None, now=timezone.now())
    assert len(erasable) == 40
    erased = every_report_as_csv(today)
    for name, csv_text in before.items():
        assert erased[name].splitlines() == csv_text.splitlines(), name

    output = io.StringIO()
    call_command(
        "apply_retention", as_of=(today + dt.timedelta(days=3653)).isoformat(), stdout=output
    )

    assert "people anonymised" in output.getvalue()
    after = every_report_as_csv(today)
    assert after.keys() == before.keys()
    for name, csv_text in before.items():
        assert after[name].splitlines() == csv_text.splitlines(), name
    assert {
        "bookings": Booking.objects.count(),
        "payments": Payment.objects.count(),
        "invoices": Invoice.objects.count(),
        "responses": Response.objects.count(),
        "attended": Booking.objects.filter(attendance="attended").count(),
    } == counts
    assert left_behind(names, emails, phones) == {"emails": set(), "names": set(), "phones": set()}
    anonymised = AuditEntry.objects.filter(action="personal data anonymised (retention)")
    assert anonymised.count() > 1000
    assert all(
        isinstance(number, int) for entry in anonymised[:50] for number in entry.changes.values()
    )
