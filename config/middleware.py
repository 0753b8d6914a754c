"""Requests carrying characters no page can use are answered 400 before any view sees them.

PostgreSQL refuses NUL in text, so a ``%00`` in a URL token (``/survey/%00/``), a query
parameter (an admin filter) or a form field reached the database and came back a 500, on
every page that looks a value up. One guard here, ahead of every view, the admin's and
allauth's included, is simpler and surer than a converter or a validator on each of them:

- the path may not hold control characters (no URL of the site has one);
- query-string and form values may not hold NUL (newlines and tabs are ordinary in a text
  area, so only NUL, which no text needs, is refused).

Form fields are refused here rather than left to Django's ``ProhibitNullCharactersValidator``
because not every value goes through a form's CharField: admin filters and views that read
``request.GET`` or ``request.POST`` directly hand the value to the database as it came.

JSON bodies (the Stripe webhook) are the view's to check.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _has_nul(data: object) -> bool:
    lists = getattr(data, "lists", None)
    if lists is None:
        return False
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in lists())


def invalid_input(request: HttpRequest) -> str | None:
    """What in the request no page can take, in words for the person; None if nothing."""
    if CONTROL_CHARACTER.search(request.path):
        return "The address contains a character that is not allowed in web addresses."
    if _has_nul(request.GET):
        return "The address contains a character that is not allowed (a null character)."
    if request.method == "POST" and request.content_type in FORM_CONTENT_TYPES:
        if _has_nul(request.POST):
            return "The form contains a character that is not allowed (a null character)."
    return None


class RefuseInvalidCharactersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = invalid_input(request)
        if problem is not None:
            logger.info("Refused %s %r: %s", request.method, request.path, problem)
            # Rendered without the request: the session and the signed-in user are not read
            # for a request that is refused.
            page = render_to_string(
                "bad_input.html", {"message": problem, "UNIT_NAME": settings.UNIT_NAME}
            )
            return HttpResponseBadRequest(page)
        return self.get_response(request)
