"""The error pages: page not found, not allowed, the CSRF check failed, something broke.

Each is the unit's own page (its header, a way back, no stack trace). A database that cannot
be reached (restarting, failing over) is a 503 "try again in a moment", not a 500: it is not
a bug, and it ends by itself once the database is back (Django opens a new connection on the
next request).
"""

from __future__ import annotations

import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

DATABASE_DOWN = (OperationalError, InterfaceError)


def _page(template: str, request: HttpRequest | None, status: int) -> HttpResponse:
    # Rendered without the request where the request may be what broke: no session, no user
    # and no database query is needed to show it.
    context = {
        "UNIT_NAME": settings.UNIT_NAME,
        "request_id": getattr(request, "request_id", ""),
    }
    return HttpResponse(render_to_string(template, context), status=status)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: called while the exception is being handled, so it can see what broke."""
    if isinstance(sys.exc_info()[1], DATABASE_DOWN):
        response = _page("503.html", request, 503)
        response["Retry-After"] = "30"
        return response
    return _page("500.html", request, 500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: most often a form left open past its session, or cookies blocked."""
    return HttpResponse(
        render_to_string("403_csrf.html", {"UNIT_NAME": settings.UNIT_NAME}, request=request),
        status=403,
    )
