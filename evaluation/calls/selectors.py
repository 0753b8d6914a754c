"""Reads of the calls that reports and pages share: outcomes counted, a member's open calls."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, QuerySet

from evaluation.models import CallStatus, FollowUpCall


def call_outcomes(*, month: dt.date | None = None) -> QuerySet:
    """Calls per status (for the month, or all): rows status, calls."""
    calls = FollowUpCall.objects.all()
    if month is not None:
        calls = calls.filter(month=month.replace(day=1))
    return calls.values("status").annotate(calls=Count("pk")).order_by("status")


def open_calls_for(member_id: int) -> QuerySet[FollowUpCall]:
    return FollowUpCall.objects.filter(assigned_to_id=member_id, status=CallStatus.OPEN)
