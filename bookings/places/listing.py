"""The catalogue's rows for display: plain values, dates, prices and URLs formatted once.

The catalogue reads its sessions as ``values()`` rows (no model objects) and renders each
row's card here, in one pass of string formatting, because the template engine's per-row
variable lookups, filters, includes and URL reversals were most of the page's cost. What a
card shows is what ``catalogue.html`` rendered before, to the byte (compare the demo's pages):
dates as ``|date:"l j F Y, H:i"`` and ``|time:"H:i"`` in the current time zone, money as
``|pounds``, the price block as ``bookings/_price.html``, the URL as
``Session.get_absolute_url``; every text from the database is escaped.
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
from django.utils.html import conditional_escape, escape
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


def price_html(row: Mapping[str, Any], *, band_label: str | None) -> str:
    """The price block of ``bookings/_price.html`` for a row (``band_label``: the viewer's
    band's name in lower case, None for someone whose sector we do not know)."""
    if row["is_free"]:
        return '\n  <p class="govuk-body unit-price">Free</p>\n'
    if band_label is not None:
        if row["price"] is None:
            inner = '<p class="govuk-body">Price on request – contact the training team.</p>'
        else:
            inner = (
                f'<p class="govuk-body unit-price">{escape(row["price"])} '
                f'<span class="govuk-body-s">for {escape(band_label)} agencies</span></p>\n  '
            )
        return f"\n  {inner}\n"
    table_rows = "".join(
        '\n      <tr class="govuk-table__row">\n'
        f'        <th scope="row" class="govuk-table__header">{escape(name)}</th>\n'
        '        <td class="govuk-table__cell govuk-table__cell--numeric">'
        f"{escape(amount) if amount is not None else 'On request'}</td>\n"
        "      </tr>\n      "
        for name, amount in row["prices"]
    )
    return (
        '\n  <table class="govuk-table unit-price-table">\n'
        '    <caption class="govuk-table__caption govuk-table__caption--s">Price per place'
        "</caption>\n"
        '    <tbody class="govuk-table__body">\n      '
        f"{table_rows}\n    </tbody>\n  </table>\n"
    )


def _places_html(row: Mapping[str, Any]) -> str:
    if not row["open_for_booking"]:
        return "<strong>Booking closed</strong>"
    if row["places_left"] > 0:
        return f"{row['places_left']} of {row['capacity']}"
    return "<strong>Full</strong> – join the waiting list"


def card_html(row: Mapping[str, Any], *, band_label: str | None) -> SafeString:
    """One session's card on the catalogue, from a ``catalogue_rows`` row."""
    full = " unit-card--full" if row["places_left"] <= 0 else ""
    theme = (
        f'<span class="govuk-body-s">&nbsp;{escape(row["theme"])}</span>' if row["theme"] else ""
    )
    return mark_safe(
        f'\n<article class="unit-card{full}" aria-labelledby="session-{row["pk"]}">\n'
        f'  <h3 class="govuk-heading-m unit-card__title" id="session-{row["pk"]}">'
        f'<a class="govuk-link" href="{escape(row["url"])}">{escape(row["title"])}</a></h3>\n'
        f'  <strong class="govuk-tag govuk-tag--{row["colour"]}">{escape(row["kind"])}</strong>\n'
        f"  {theme}\n"
        '  <dl class="unit-meta govuk-body">\n'
        "    <dt>When</dt>\n"
        f"    <dd>{row['when']}</dd>\n"
        f"    <dt>Where</dt><dd>{escape(row['where'])}</dd>\n"
        "    <dt>Places left</dt>\n"
        f"    <dd>{_places_html(row)}</dd>\n"
        "  </dl>\n"
        "  \n"
        f"{price_html(row, band_label=band_label)}\n\n</article>\n"
    )


def catalogue_rows(
    sessions: Sequence[Mapping[str, Any]],
    *,
    band: PriceBand | None,
    bands: Sequence[PriceBand],
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """The catalogue's rows for ``sessions`` (``values(*row_fields(...))`` rows), each with
    its card's ``html``: the viewer's band's price, or every band's (``bands``) for someone
    whose sector we do not know."""
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
                "kind": str(KIND_LABELS.get(kind, kind)),
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
        rows[-1]["html"] = card_html(rows[-1], band_label=band.name.lower() if band else None)
    return rows
