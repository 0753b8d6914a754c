"""The public catalogue and session pages, with places left and the viewer's price."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from bookings.permissions import can_see_session
from bookings.places.pricing import band_for
from bookings.places.selectors import (
    SessionWithPlaces,
    band_price_name,
    catalogue_sessions,
    catalogue_themes,
    is_on_waiting_list,
    price_bands,
    sessions_with_places,
)
from training.auth import profile_of
from training.forms import CatalogueFilterForm
from training.models import ZERO, PriceBand

SESSIONS_PER_PAGE = 25


def viewer_band(user: Any) -> PriceBand | None:
    """The price band the signed-in person books at (their agency's once it is verified, the
    individual's before), if they have told us their agency."""
    profile = profile_of(user)
    if profile is None or profile.agency is None:
        return None
    return band_for(booked_by=user, agency=profile.agency)


def _listed_price(session: Any, band_id: int) -> Decimal | None:
    """The price ``catalogue_sessions`` computed for this band (free courses cost nothing)."""
    if session.course.is_free:
        return ZERO
    price: Decimal | None = getattr(session, band_price_name(band_id))
    return price


def catalogue(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    form = CatalogueFilterForm(
        request.GET or None, themes=catalogue_themes(), today=timezone.localdate(now)
    )
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        filters = {
            "kind": form.cleaned_data["kind"],
            "theme": form.cleaned_data["theme"],
            "area": form.cleaned_data["area"],
            "month": form.month_start(),
            "with_places_only": form.cleaned_data["places"],
        }
    band = viewer_band(request.user)
    # Prices come with the sessions, computed by the database: the viewer's band only, or
    # every band's for someone whose sector we do not know.
    bands = [] if band else price_bands()
    band_ids = [band.pk] if band else [each.pk for each in bands]
    sessions = catalogue_sessions(now=now, band_ids=band_ids, **filters)
    page = Paginator(sessions, SESSIONS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        {
            "session": session,
            "price": _listed_price(session, band.pk) if band else None,
            "prices": None if band else [(each, _listed_price(session, each.pk)) for each in bands],
            "open_for_booking": session.is_open_for_booking(now),
        }
        for session in page.object_list
    ]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "bookings/catalogue.html",
        {
            "form": form,
            "rows": rows,
            "page": page,
            "band": band,
            "bands": bands,
            "querystring": query.urlencode(),
        },
    )


def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    now = timezone.now()
    # Annotated: get_object_or_404 drops the annotations from the type django-stubs infers.
    session: SessionWithPlaces = get_object_or_404(
        sessions_with_places(now)
        .select_related("course", "venue")
        .prefetch_related(
            "parts", "trainers", "price_overrides", "course__prices", "course__outcomes"
        ),
        pk=pk,
    )
    if not can_see_session(request.user, session):
        raise Http404("No such session.")
    band = viewer_band(request.user)
    bands = price_bands()
    # Who is waiting belongs to bookings; asked here only so a full session does not offer
    # the waiting list to someone already on it.

    return render(
        request,
        "bookings/session_detail.html",
        {
            "on_waiting_list": session.places_left_count <= 0
            and is_on_waiting_list(session.pk, request.user),
            "session": session,
            "band": band,
            "price": session.price_for_band(band.pk) if band else None,
            "price_table": session.price_table(bands),
            "open_for_booking": session.is_open_for_booking(now),
            "has_started": session.starts_at is not None and session.starts_at <= now,
        },
    )
