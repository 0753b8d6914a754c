"""The in-kind ledger page: every partner for the administrator, their own agency for a booker."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from bookings.permissions import can_see_in_kind_ledger, is_admin, is_booker_for
from evaluation.ledger.selectors import ledger_for_year
from training.dates import financial_year_label, financial_year_start

FIRST_YEAR = 2010


@login_required
def ledger_page(request: HttpRequest) -> HttpResponse:
    # A booker is whoever holds a grant for their agency (the link is on their agency's
    # pages), whether or not they were also given the booker role.
    if not can_see_in_kind_ledger(request.user):
        raise PermissionDenied("You do not have access to this page.")
    today = timezone.localdate()
    this_year = financial_year_start(today).year
    years = list(range(this_year, FIRST_YEAR - 1, -1))  # none that has not begun
    value = request.GET.get("year", "")
    year = int(value) if value.isdigit() and int(value) in years else this_year
    ledger = ledger_for_year(dt.date(year, 4, 1))
    if not is_admin(request.user):
        # Asked per agency of the ledger, so booker rights granted per agency are honoured.
        ledger = ledger.visible_to(lambda agency_id: is_booker_for(request.user, agency_id))
    return render(
        request,
        "evaluation/ledger/ledger.html",
        {
            "ledger": ledger,
            "year": year,
            "year_label": financial_year_label(ledger.year_start),
            "years": [(option, financial_year_label(dt.date(option, 4, 1))) for option in years],
            "everyone": is_admin(request.user),
        },
    )
