"""Logs: a request id on every line, one JSON object per line in production, and no secrets.

``RequestLogMiddleware`` gives each request an id (the proxy's ``X-Request-ID`` when it sent a
sensible one, else a new one), returns it in the response's ``X-Request-ID`` header, and
writes one line per request when it ends: method, path, status, duration in ms, user id.
``RequestContextFilter`` adds the request id, user id and path to every line logged while the
request runs (Django's own ``django.request`` warnings included), and ``JsonFormatter`` writes
a record as one JSON object.

What never reaches a log: the query string (approval links carry signed tokens there), the
token in a personal link's path (survey, waiting-list claim, certificate code, checkout id,
allauth's email and password-reset keys: the path is logged with them replaced), the request
body (passwords, purchase orders), and anything in a message that looks like a card number,
a Stripe key or ``password=…`` (masked as a last guard; card details never reach this app,
Stripe Checkout takes them).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

request_logger = logging.getLogger("config.requests")

_current: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "current_request", default=None
)

# URL arguments that are secrets: a link that works without a password, or part of one.
SECRET_URL_ARGUMENTS = frozenset({"token", "key", "uidb36", "code", "checkout_id"})
REDACTED = "[redacted]"
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
SECRETS_IN_TEXT = (
    (re.compile(r"\b(?:\d[ -]?){12,18}\d\b"), "[card number]"),
    (re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]+"), "[stripe key]"),
    (re.compile(r"\bwhsec_[A-Za-z0-9_]+"), "[webhook secret]"),
    (re.compile(r"(?i)(password\w*['\"]?\s*[=:]\s*)(['\"]?)[^\s'\",&]+"), r"\1\2" + REDACTED),
)


def mask_secrets(text: str) -> str:
    for pattern, replacement in SECRETS_IN_TEXT:
        text = pattern.sub(replacement, text)
    return text


def loggable_path(request: HttpRequest) -> str:
    """The request's path with every secret URL argument replaced (no query string)."""
    path = request.path
    match = getattr(request, "resolver_match", None)
    if match is not None:
        for name, value in match.kwargs.items():
            if name in SECRET_URL_ARGUMENTS and value:
                path = path.replace(str(value), REDACTED)
    return path


def _user_id(request: HttpRequest) -> int | None:
    # Only a user already loaded by the view: logging must not cost a query, nor fail when
    # the database is down.
    user = getattr(request, "_cached_user", None)
    return getattr(user, "pk", None) if user is not None else None


class RequestContextFilter(logging.Filter):
    """Adds ``request_id``, ``user_id`` and ``path`` to every record, masking secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Django logs a 4xx or 5xx response after the middleware has returned, passing the
        # request along with the record.
        passed = getattr(record, "request", None)
        request = passed if isinstance(passed, HttpRequest) else _current.get()
        record.request_id = getattr(request, "request_id", None)
        record.user_id = _user_id(request) if request is not None else None
        message = record.getMessage()
        if request is not None:
            path = getattr(record, "path", None) or loggable_path(request)
            record.path = path
            if request.path != path:  # e.g. Django's "Not Found: /survey/<token>/"
                message = message.replace(request.path, path)
        masked = mask_secrets(message)
        if masked != record.getMessage():
            record.msg, record.args = masked, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the request's context."""

    FIELDS = ("request_id", "user_id", "path", "method", "status", "duration_ms")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in self.FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        if record.exc_info:
            entry["exception"] = mask_secrets(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """Development: a readable line, with the request id when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        record.context = f" [{request_id[:8]}]" if request_id else ""
        return super().format(record)


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        offered = request.headers.get("X-Request-ID", "")
        request.request_id = offered if REQUEST_ID.match(offered) else uuid.uuid4().hex  # type: ignore[attr-defined]
        token = _current.set(request)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
            request_logger.info(
                "%s %s %s",
                request.method,
                loggable_path(request),
                response.status_code,
                extra={
                    "method": request.method,
                    "path": loggable_path(request),
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
            return response
        finally:
            _current.reset(token)
