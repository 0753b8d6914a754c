"""Pages for booking, paying and managing places (being built out)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def dev_checkout(request: HttpRequest, checkout_id: str) -> HttpResponse:
    raise Http404


def order_detail(request: HttpRequest, reference: str) -> HttpResponse:
    raise Http404


def booking_detail(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404


def invoice_pdf(request: HttpRequest, number: str) -> HttpResponse:
    raise Http404
