"""The catalogue's rows: read in two plain statements, dates, prices and URLs formatted once.

The catalogue reads its sessions as plain rows (``CatalogueSessions``: two plain statements,
no model objects) and renders each row's card here, in one pass of string formatting,
because the ORM's building of the query and the template engine's per-row variable
lookups, filters, includes and URL reversals were most of the page's cost. What a
card shows is what ``catalogue.html`` rendered before, to the byte (compare the demo's pages):
dates as ``|date:"l j F Y, H:i"`` and ``|time:"H:i"`` in the current time zone, money as
``|pounds``, the price block as the ``bookings/_price.html`` template did, the URL as
``Session.get_absolute_url``; every text from the database is escaped.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, overload

from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS, WEEKDAYS
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from bookings.models import (
    HOLDING_STATUSES,
    PLACE_STATUSES,
    Booking,
    WaitingListEntry,
    WaitlistStatus,
)
from bookings.places.pagecache import NEXT_CHANGE_FIELDS
from bookings.places.selectors import (
    amount_of,
    aware_datetime,
    band_price_name,
    moment_of,
    quoted_table,
)
from bookings.templatetags.money import format_pounds
from training.models import (
    Area,
    Course,
    CourseKind,
    CoursePrice,
    PriceBand,
    Session,
    SessionPart,
    SessionPrice,
    SessionStatus,
    Venue,
    is_open_for_booking,
)

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
    """The fields of a catalogue row whose prices are those of ``band_ids``."""
    return (*ROW_FIELDS, *NEXT_CHANGE_FIELDS, *(band_price_name(pk) for pk in band_ids))


@functools.cache
def _calendar_names(language: str | None) -> tuple[tuple[str, ...], dict[int, str]]:
    """The days of the week (Monday first) and the months, translated once per language."""
    return tuple(str(WEEKDAYS[day]) for day in range(7)), {
        month: str(name) for month, name in MONTHS.items()
    }


def escape(text: object) -> str:
    """``django.utils.html.escape`` without its lazy-text wrapper (the same characters, the
    same entities): it runs for every text of every card."""
    return html.escape(str(text))


class Calendar:
    """Dates and times as the pages show them, in the time zone and language of the request
    (read once, however many moments are formatted)."""

    def __init__(self) -> None:
        self.zone = timezone.get_current_timezone()
        self.weekdays, self.months = _calendar_names(get_language())

    def day(self, value: dt.date) -> str:
        """A date as ``|date:"l j F Y"``: "Monday 5 January 2027"."""
        return (
            f"{self.weekdays[value.weekday()]} {value.day} {self.months[value.month]} {value.year}"
        )

    def times(self, value: dt.datetime) -> tuple[str, str]:
        """``value`` in the current time zone as "Monday 5 January 2027, 09:30" and "09:30"."""
        local = value.astimezone(self.zone)
        clock = f"{local.hour:02d}:{local.minute:02d}"
        return f"{self.day(local)}, {clock}", clock

    def when_html(self, parts: Iterable[tuple[dt.datetime, dt.datetime]]) -> str:
        """A session's parts, one line each: "Monday 5 January 2027, 09:30–12:30"."""
        return "<br>".join(
            escape(f"{self.times(starts)[0]}–{self.times(ends)[1]}") for starts, ends in parts
        )


type Parts = list[tuple[dt.datetime, dt.datetime]]


def parts_by_session(session_ids: Sequence[int]) -> dict[int, Parts]:
    """Each session's parts, earliest first, in one plain statement."""
    found: dict[int, Parts] = defaultdict(list)
    if not session_ids:
        return found
    q = connection.ops.quote_name
    sql = (
        f"SELECT {q('session_id')}, {q('starts_at')}, {q('ends_at')}"
        f" FROM {quoted_table(SessionPart)}"
        f" WHERE {q('session_id')} IN ({', '.join(['%s'] * len(session_ids))})"
        f" ORDER BY {q('session_id')}, {q('starts_at')}, {q('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, list(session_ids))
        for session_id, starts_at, ends_at in cursor.fetchall():
            found[session_id].append((moment_of(starts_at), moment_of(ends_at)))
    return found


def _price_text(amount: Decimal | None) -> str | None:
    """A listed price as the page shows it; None when the band has no price set."""
    return None if amount is None else format_pounds(amount)


def price_html(row: Mapping[str, Any], *, band_label: str | None) -> str:
    """The price block (once ``bookings/_price.html``) for a row (``band_label``: the viewer's
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
    """The catalogue's rows for ``sessions`` (``CatalogueSessions`` rows), each with
    its card's ``html``: the viewer's band's price, or every band's (``bands``) for someone
    whose sector we do not know."""
    url_pattern = reverse("bookings:session", args=[URL_PK_MARK])
    calendar = Calendar()
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
                "when": calendar.when_html(parts.get(session["pk"], [])),
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


class CatalogueSessions:
    """The published sessions not yet started that match the catalogue's filters, as
    ``Paginator`` reads them: counted in one plain statement, and one page of rows (the
    fields of ``row_fields``: places left, each band's price and the catalogue's next
    changes) in another. Built through the ORM, the same query with its places count, a
    price subquery per band and the next-change subqueries cost several times what the
    database took to answer it, twice (the count and the page)."""

    def __init__(
        self,
        *,
        now: dt.datetime,
        band_ids: Sequence[int] = (),
        kind: str = "",
        theme: str = "",
        area: str = "",
        month: dt.date | None = None,
        with_places_only: bool = False,
    ) -> None:
        self.now = now
        self.band_ids = list(band_ids)
        q = connection.ops.quote_name
        at = connection.ops.adapt_datetimefield_value(now)
        placing = ", ".join(["%s"] * len(PLACE_STATUSES))
        holding = ", ".join(["%s"] * len(HOLDING_STATUSES))
        # The places taken: ``places_taken_q`` and ``open_offers_q`` (the statement of
        # ``bookings.capacity.places_and_places_of``), for each session row ``s``.
        self.taken = (
            f"((SELECT COUNT(*) FROM {quoted_table(Booking)} b"
            f" WHERE b.{q('session_id')} = s.{q('id')} AND (b.{q('status')} IN ({placing})"
            f" OR (b.{q('status')} IN ({holding}) AND b.{q('hold_expires_at')} > %s)))"
            f" + (SELECT COUNT(*) FROM {quoted_table(WaitingListEntry)} w"
            f" WHERE w.{q('session_id')} = s.{q('id')} AND w.{q('status')} = %s"
            f" AND w.{q('offer_expires_at')} > %s))"
        )
        self.taken_params: list[int | str | None] = [
            *(status.value for status in PLACE_STATUSES),
            *(status.value for status in HOLDING_STATUSES),
            at,
            WaitlistStatus.OFFERED.value,
            at,
        ]
        where = [f"s.{q('status')} = %s", f"s.{q('starts_at')} > %s"]
        params: list[int | str | None] = [SessionStatus.PUBLISHED.value, at]
        for column, value in ((f"c.{q('kind')}", kind), (f"c.{q('theme')}", theme)):
            if value:
                where.append(f"{column} = %s")
                params.append(value)
        if area:
            where.append(f"v.{q('area')} = %s")
            params.append(area)
        if month is not None:
            # The month in the current time zone, as ``starts_at__year`` and ``__month``.
            following = (month.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
            where.append(f"s.{q('starts_at')} >= %s AND s.{q('starts_at')} < %s")
            params += [
                connection.ops.adapt_datetimefield_value(_midnight(month.replace(day=1))),
                connection.ops.adapt_datetimefield_value(_midnight(following)),
            ]
        if with_places_only:
            where.append(f"s.{q('capacity')} - {self.taken} > 0")
            params += self.taken_params
        self.where = (
            f" FROM {quoted_table(Session)} s"
            f" INNER JOIN {quoted_table(Course)} c ON c.{q('id')} = s.{q('course_id')}"
            f" INNER JOIN {quoted_table(Venue)} v ON v.{q('id')} = s.{q('venue_id')}"
            f" WHERE {' AND '.join(where)}"
        )
        self.where_params = params
        self._count: int | None = None

    def count(self) -> int:
        if self._count is None:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*){self.where}", self.where_params)
                self._count = int(cursor.fetchone()[0])
        return self._count

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows(0, self.count()))

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, int):
            found = self.rows(index, index + 1) if index >= 0 else []
            if not found:
                raise IndexError(index)
            return found[0]
        if index.step not in (None, 1):
            raise ValueError("The catalogue's sessions are read in one window.")
        start = int(index.start or 0)
        return self.rows(start, self.count() if index.stop is None else int(index.stop))

    def rows(self, start: int, stop: int) -> list[dict[str, Any]]:
        """The rows from ``start`` to before ``stop``, in the catalogue's order."""
        if stop <= start:
            return []
        q = connection.ops.quote_name
        at = connection.ops.adapt_datetimefield_value(self.now)
        holding = ", ".join(["%s"] * len(HOLDING_STATUSES))
        prices = [
            f"COALESCE((SELECT o.{q('amount')} FROM {quoted_table(SessionPrice)} o"
            f" WHERE o.{q('session_id')} = s.{q('id')} AND o.{q('band_id')} = %s),"
            f" (SELECT l.{q('amount')} FROM {quoted_table(CoursePrice)} l"
            f" WHERE l.{q('course_id')} = s.{q('course_id')} AND l.{q('band_id')} = %s))"
            for _ in self.band_ids
        ]
        # The catalogue's next changes (``pagecache.next_change_annotations``), the same on
        # every row: the databases work out an uncorrelated subquery once.
        changes = [
            f"(SELECT MIN({q('hold_expires_at')}) FROM {quoted_table(Booking)}"
            f" WHERE {q('status')} IN ({holding}) AND {q('hold_expires_at')} > %s)",
            f"(SELECT MIN({q('offer_expires_at')}) FROM {quoted_table(WaitingListEntry)}"
            f" WHERE {q('status')} = %s AND {q('offer_expires_at')} > %s)",
            f"(SELECT MIN({q('starts_at')}) FROM {quoted_table(Session)}"
            f" WHERE {q('status')} = %s AND {q('starts_at')} > %s)",
        ]
        columns = [
            f"s.{q('id')}",
            f"s.{q('status')}",
            f"s.{q('starts_at')}",
            f"s.{q('booking_closes_working_days')}",
            f"s.{q('capacity')}",
            f"s.{q('capacity')} - {self.taken}",
            f"c.{q('title')}",
            f"c.{q('kind')}",
            f"c.{q('theme')}",
            f"v.{q('name')}",
            f"v.{q('area')}",
            *changes,
            *prices,
        ]
        params: list[int | str | None] = [
            *self.taken_params,
            *(status.value for status in HOLDING_STATUSES),
            at,
            WaitlistStatus.OFFERED.value,
            at,
            SessionStatus.PUBLISHED.value,
            at,
        ]
        for band_id in self.band_ids:
            params += [band_id, band_id]
        sql = (
            f"SELECT {', '.join(columns)}{self.where}"
            f" ORDER BY s.{q('starts_at')}, s.{q('id')} LIMIT {stop - start} OFFSET {start}"
        )
        names = row_fields(self.band_ids)
        with connection.cursor() as cursor:
            cursor.execute(sql, params + self.where_params)
            found = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        for row in found:
            row["starts_at"] = aware_datetime(row["starts_at"])
            for name in NEXT_CHANGE_FIELDS:
                row[name] = aware_datetime(row[name])
            for band_id in self.band_ids:
                row[band_price_name(band_id)] = amount_of(row[band_price_name(band_id)])
        return found


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))
