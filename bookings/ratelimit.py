"""Rate limits for the pages that take tokens or guesses: a clear 429 page when exceeded.

Counts live in the database (``training.counters``: one statement each, shared by every
worker and instance), in fixed windows, per client address (allauth's reading of it, so
``TRUSTED_PROXY_COUNT`` / ``TRUSTED_CLIENT_IP_HEADER`` decide which address counts behind a
proxy) and, for a signed-in person, per account too. Housekeeping deletes ended windows.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.account.adapter import get_adapter
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from training.counters import counters_increment

View = Callable[..., HttpResponse]


def rate_limited_response(request: HttpRequest, *, retry_after: int) -> HttpResponse:
    body = render_to_string(
        "bookings/rate_limited.html", {"retry_after": retry_after}, request=request
    )
    response = HttpResponse(body, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def _limit(value: int | str) -> int:
    """A limit given as a number, or as the name of the setting that holds it (read on each
    request, so a unit can change it without a release and tests can override it)."""
    return getattr(settings, value) if isinstance(value, str) else value


def rate_limit(
    scope: str,
    *,
    per_address: int | str,
    per_account: int | str | None = None,
    window_seconds: int = 60,
    methods: tuple[str, ...] = ("GET", "POST"),
) -> Callable[[View], View]:
    """Allow ``per_address`` requests per window from one client address (and ``per_account``
    from one signed-in account) to the decorated view; answer the rest with a 429 page.
    Either limit may be a setting's name instead of a number."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method in methods:
                now = int(time.time())
                window = now // window_seconds
                retry_after = window_seconds - now % window_seconds
                address = get_adapter(request).get_client_ip(request)
                limits = {f"ratelimit:{scope}:ip:{address}:{window}": _limit(per_address)}
                user = getattr(request, "user", None)
                if per_account is not None and getattr(user, "is_authenticated", False):
                    key = f"ratelimit:{scope}:user:{user.pk}:{window}"  # type: ignore[union-attr]
                    limits[key] = _limit(per_account)
                # Both counted in one atomic upsert, shared by every worker and instance.
                counts = counters_increment(
                    keys=list(limits),
                    expires_at=dt.datetime.fromtimestamp((window + 1) * window_seconds, tz=dt.UTC),
                )
                if any(counts[key] > limit for key, limit in limits.items()):
                    return rate_limited_response(request, retry_after=retry_after)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
