"""The catalogue's rows for display: plain values, dates, prices and URLs formatted once.

The catalogue reads its sessions as ``values()`` rows (no model objects) and hands the
template strings it only has to place, so rendering 25 rows does no lookups, includes, filters
or URL reversals of its own. What each row reads is what the template used to compute, to the
byte: dates as ``|date:"l j F Y, H:i"`` and ``|time:"H:i"`` in the current time zone, money as
``|pounds``, the session's URL as ``Session.get_absolute_url``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS, WEEKDAYS
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from bookings.places.pagecache import NEXT_CHANGE_FIELDS
from bookings.places.selectors import band_price_name
from bookings.templatetags.money import format_pounds
from training.models import Area, CourseKind, PriceBand, SessionPart, is_open_for_booking

# What a catalogue row reads from the database (besides each band's price and the moments
# the page cache needs, ``NEXT_CHANGE_FIELDS``).
ROW_FIELDS = (
    "pk",
    "status",
    "starts_at",
    "booking_closes_working_days",
    "capacity",
    "places_left_count",
    "course__title",
    "course__kind",
    "course__theme",
    "venue__name",
    "venue__area",
)

KIND_COLOURS = {CourseKind.MAPIG: "green", CourseKind.CONFERENCE: "purple"}
KIND_LABELS = dict(CourseKind.choices)
AREA_LABELS = dict(Area.choices)
# Any number that cannot appear in the URL otherwise: the session URL is reversed once per
# page and each row's made from it.
URL_PK_MARK = 987654321


def row_fields(band_ids: Sequence[int]) -> tuple[str, ...]:
    """The ``values()`` fields of a catalogue row whose prices are those of ``band_ids``."""
    return (*ROW_FIELDS, *NEXT_CHANGE_FIELDS, *(band_price_name(pk) for pk in band_ids))


def part_times(value: dt.datetime) -> tuple[str, str]:
    """``value`` in the current time zone as "Monday 5 January 2027, 09:30" and "09:30"."""
    local = timezone.localtime(value)
    clock = f"{local.hour:02d}:{local.minute:02d}"
    day = f"{WEEKDAYS[local.weekday()]} {local.day} {MONTHS[local.month]} {local.year}"
    return f"{day}, {clock}", clock


def when_html(parts: Iterable[tuple[dt.datetime, dt.datetime]]) -> SafeString:
    """A session's parts, one line each: "Monday 5 January 2027, 09:30–12:30"."""
    lines = [f"{part_times(starts)[0]}–{part_times(ends)[1]}" for starts, ends in parts]
    return mark_safe("<br>".join(str(conditional_escape(line)) for line in lines))


type Parts = list[tuple[dt.datetime, dt.datetime]]


def parts_by_session(session_ids: Sequence[int]) -> dict[int, Parts]:
    """Each session's parts, earliest first, in one query."""
    found: dict[int, Parts] = defaultdict(list)
    parts = (
        SessionPart.objects.filter(session_id__in=session_ids)
        .order_by("session_id", "starts_at", "pk")
        .values_list("session_id", "starts_at", "ends_at")
    )
    for session_id, starts_at, ends_at in parts:
        found[session_id].append((starts_at, ends_at))
    return found


def _price_text(amount: Decimal | None) -> str | None:
    """A listed price as the page shows it; None when the band has no price set."""
    return None if amount is None else format_pounds(amount)


def catalogue_rows(
    sessions: Sequence[Mapping[str, Any]],
    *,
    band: PriceBand | None,
    bands: Sequence[PriceBand],
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """The template's rows for ``sessions`` (``values(*row_fields(...))`` rows): the viewer's
    band's price, or every band's (``bands``) for someone whose sector we do not know."""
    url_pattern = reverse("bookings:session", args=[URL_PK_MARK])
    parts = parts_by_session([session["pk"] for session in sessions])
    rows = []
    for session in sessions:
        kind = session["course__kind"]
        is_free = kind == CourseKind.MAPIG
        rows.append(
            {
                "pk": session["pk"],
                "url": url_pattern.replace(str(URL_PK_MARK), str(session["pk"])),
                "title": session["course__title"],
                "kind": KIND_LABELS.get(kind, kind),
                "colour": KIND_COLOURS.get(kind, "blue"),
                "theme": session["course__theme"],
                "when": when_html(parts.get(session["pk"], [])),
                "where": f"{session['venue__name']}, "
                f"{AREA_LABELS.get(session['venue__area'], session['venue__area'])}",
                "capacity": session["capacity"],
                "places_left": session["places_left_count"],
                "open_for_booking": is_open_for_booking(
                    status=session["status"],
                    starts_at=session["starts_at"],
                    closes_working_days=session["booking_closes_working_days"],
                    now=now,
                ),
                "is_free": is_free,
                "price": _price_text(session[band_price_name(band.pk)]) if band else None,
                "prices": [
                    (each.name, _price_text(session[band_price_name(each.pk)])) for each in bands
                ],
                "next_changes": [session[name] for name in NEXT_CHANGE_FIELDS],
            }
        )
    return rows
