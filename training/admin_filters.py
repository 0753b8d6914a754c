"""Admin change lists and exports that answer impossible filters with a message, not a 500.

Django's change list turns a filter it cannot apply into a redirect to ``?e=1``, except for
two cases that reached people as server errors:

- the date hierarchy's next period past the calendar's end (``?starts_at__year=9999`` asks
  for up to 1 January 10000; ``&starts_at__month=12`` overflows the same way);
- django-import-export's export page, which builds the change list's queryset but does not
  catch the filters' ``IncorrectLookupParameters`` (``export/?issued_on__lt=10000-01-01``).

Every ModelAdmin of training and bookings that has a date hierarchy, date filters or an export
mixes this in first.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

logger = logging.getLogger(__name__)


class BoundedDatesChangeList(ChangeList):
    def get_filters(self, request: HttpRequest) -> Any:
        try:
            return super().get_filters(request)
        except (OverflowError, ValueError) as error:
            # The date hierarchy computes the end of the chosen year, month or day after
            # checking the date itself; past 31 December 9999 there is none.
            raise IncorrectLookupParameters(error) from error


class AnswerBadFiltersMixin:
    """First in a ModelAdmin's bases: bad filter values are a message, never a 500."""

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return BoundedDatesChangeList

    def export_action(self, request: HttpRequest) -> HttpResponse:
        try:
            return super().export_action(request)  # type: ignore[misc]
        except IncorrectLookupParameters as error:
            logger.info("Export refused for %s: %s", request.get_full_path(), error)
            messages.error(
                request,
                "Those filters cannot be applied (a date out of range or a value of the wrong "
                "kind), so nothing was exported. Choose the filters again from the list.",
            )
            opts = self.model._meta  # type: ignore[attr-defined]
            return HttpResponseRedirect(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
            )
