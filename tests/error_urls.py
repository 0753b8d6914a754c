"""The project's URLs plus two views that break, for the error-page tests."""

from __future__ import annotations

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import handler500
from config.urls import urlpatterns as project_urlpatterns


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug with a secret in its message: sk_live_abc")


def database_down(request: HttpRequest) -> HttpResponse:
    raise OperationalError("server closed the connection unexpectedly")


urlpatterns = [
    path("broken/", broken),
    path("database-down/", database_down),
    *project_urlpatterns,
]
__all__ = ["handler500", "urlpatterns"]
