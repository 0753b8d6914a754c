"""The public catalogue and session pages, with places left and the viewer's price."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from bookings.permissions import can_see_session_of_status
from bookings.places.frame import framed
from bookings.places.listing import CatalogueSessions, catalogue_rows
from bookings.places.pagecache import (
    next_change_at,
    next_change_of,
    page_get,
    page_key,
    page_store,
    viewer_class,
)
from bookings.places.pricing import band_for
from bookings.places.selectors import (
    catalogue_themes,
    is_on_waiting_list,
    place_held_by,
    price_bands,
    session_page,
)
from bookings.places.session_body import session_body_html
from training.auth import profile_of
from training.forms import CatalogueFilterForm
from training.models import PriceBand, SessionStatus, is_open_for_booking

SESSIONS_PER_PAGE = 25


def viewer_band(user: Any) -> PriceBand | None:
    """The price band the signed-in person books at (their agency's once it is verified, the
    individual's before), if they have told us their agency."""
    profile = profile_of(user)
    if profile is None or profile.agency is None:
        return None
    return band_for(booked_by=user, agency=profile.agency)


def _catalogue_context(
    query: QueryDict, now: dt.datetime, band: PriceBand | None
) -> dict[str, Any]:
    form = CatalogueFilterForm(
        query or None, themes=catalogue_themes(), today=timezone.localdate(now)
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
    # Prices come with the sessions, computed by the database: the viewer's band only, or
    # every band's for someone whose sector we do not know.
    bands = [] if band else price_bands()
    band_ids = [band.pk] if band else [each.pk for each in bands]
    sessions = CatalogueSessions(now=now, band_ids=band_ids, **filters)
    page = Paginator(sessions, SESSIONS_PER_PAGE).get_page(query.get("page"))
    rows = catalogue_rows(list(page.object_list), band=band, bands=bands, now=now)
    others = query.copy()
    others.pop("page", None)
    return {
        "form": form,
        "rows": rows,
        "page": page,
        "band": band,
        "bands": bands,
        "querystring": others.urlencode(),
        "valid_until": next_change_of(rows[0]["next_changes"], now)
        if rows
        else next_change_at(now),
    }


def catalogue(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    band = viewer_band(request.user)
    signed_in = request.user.is_authenticated
    key = page_key(
        "catalogue",
        query=request.GET.urlencode(),
        viewer=viewer_class(signed_in=signed_in, band=band),
    )
    entry, version = page_get(key, now=now)
    if entry is None:
        # Rendered without the request: nothing of the person (their name, a CSRF token,
        # messages) can reach what other viewers of their class are then served.
        context = {**_catalogue_context(request.GET, now, band), "signed_in": signed_in}
        entry = {"body": render_to_string("bookings/catalogue.html", context)}
        page_store(key, entry, version=version, valid_until=context["valid_until"], now=now)
    return framed(request, "bookings/catalogue_page.html", entry["body"])


def _session_entry(
    request: HttpRequest, pk: int, band: PriceBand | None, now: dt.datetime
) -> dict[str, Any]:
    """The session page's shared part, rendered afresh (and whether it may be cached)."""
    # Only what the page shows, in plain statements: the viewer's band's price, or every
    # band's for someone whose sector we do not know.
    page = session_page(pk, now=now, band_id=band.pk if band else None)
    if page is None or not can_see_session_of_status(request.user, page.status):
        raise Http404("No such session.")
    before, after = session_body_html(page, band=band)
    return {
        "title": page.title,
        "body_before": before,
        "body_after": after,
        "session_id": page.pk,
        "places_left": page.places_left,
        "open_for_booking": is_open_for_booking(
            status=page.status,
            starts_at=page.starts_at,
            closes_working_days=page.booking_closes_working_days,
            now=now,
        ),
        "has_started": page.starts_at is not None and page.starts_at <= now,
        # Only a published session is the same for everyone who may see it.
        "public": page.status == SessionStatus.PUBLISHED,
        "valid_until": next_change_of(page.next_changes, now),
    }


def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    now = timezone.now()
    band = viewer_band(request.user)
    key = page_key(
        f"session-{pk}",
        query="",
        viewer=viewer_class(signed_in=request.user.is_authenticated, band=band),
    )
    entry, version = page_get(key, now=now)
    if entry is None:
        entry = _session_entry(request, pk, band, now)
        if entry["public"]:
            page_store(
                key,
                entry,
                version=version,
                valid_until=entry["valid_until"],
                now=now,
            )
    # The person's own: their place or hold, and whether they wait for one.
    my_place = place_held_by(pk, request.user, now)
    return render(
        request,
        "bookings/session_page.html",
        {
            **entry,
            "body_before": mark_safe(entry["body_before"]),
            "body_after": mark_safe(entry["body_after"]),
            "my_place": my_place,
            "on_waiting_list": my_place is None
            and entry["places_left"] <= 0
            and is_on_waiting_list(pk, request.user),
        },
    )
