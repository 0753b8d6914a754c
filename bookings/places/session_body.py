"""The session page's shared part, rendered in one pass of string formatting.

What every viewer of one class sees of a session (``bookings.places.pagecache``), built from a
``selectors.SessionPage`` of plain values, because the template engine's lookups and filters
over model objects were a large part of the page's cost. It is, to the byte, what the
template it replaced (``bookings/session_detail.html``) rendered (compare the demo's pages):
dates as ``|date:"l j F Y"`` and ``|time:"H:i"`` in the current time zone, money as
``|pounds``, the price block as ``listing.price_html``; every text from the database is
escaped. The booking actions, different for each person, go between the two halves.
"""

from __future__ import annotations

from django.template.defaultfilters import linebreaksbr

from bookings.places.listing import KIND_LABELS, Calendar, escape, price_html
from bookings.places.selectors import SessionPage
from bookings.templatetags.money import format_pounds
from training.models import PriceBand, SafeguardingLevel, SessionStatus
from training.models.programme import booking_closes_on

LEVEL_LABELS = dict(SafeguardingLevel.choices)
CANCELLED = (
    '<div class="govuk-warning-text"><span class="govuk-warning-text__icon" aria-hidden="true">'
    '!</span><strong class="govuk-warning-text__text"><span class="govuk-visually-hidden">'
    "Warning</span>This session has been cancelled.</strong></div>"
)
ROW = '<div class="govuk-summary-list__row"><dt class="govuk-summary-list__key">'


def _duration_label(half_days: int) -> str:
    """``Course.duration_label``."""
    if half_days == 1:
        return "Half day"
    if half_days == 2:
        return "Full day"
    return f"{half_days / 2:g} days"


def _facts(page: SessionPage) -> str:
    calendar = Calendar()
    when = "<br>".join(
        f"{calendar.day(starts.astimezone(calendar.zone))}, {calendar.times(starts)[1]} to "
        f"{calendar.times(ends)[1]}"
        for starts, ends in page.parts
    )
    postcode = f"<br>{escape(page.venue_postcode)}" if page.venue_postcode else ""
    level = (
        f'{ROW}Safeguarding level</dt><dd class="govuk-summary-list__value">'
        f"{escape(LEVEL_LABELS.get(page.level, page.level))}</dd></div>"
        if page.level
        else ""
    )
    trainers = ", ".join(escape(name) for name in page.trainers) or "To be confirmed"
    places = (
        f"{page.places_left} of {page.capacity}"
        if page.places_left > 0
        else "None – this session is full"
    )
    closes_on = booking_closes_on(page.starts_at, page.booking_closes_working_days)
    closes = (
        f'{ROW}Booking closes</dt><dd class="govuk-summary-list__value">{calendar.day(closes_on)}'
        "</dd></div>"
        if closes_on
        else ""
    )
    return (
        '<div class="govuk-grid-row unit-session">\n'
        '  <div class="govuk-grid-column-two-thirds">\n'
        '    <dl class="govuk-summary-list">\n'
        f"      {ROW}When</dt>\n"
        f'        <dd class="govuk-summary-list__value">{when}</dd></div>\n'
        f"      {ROW}Where</dt>\n"
        f'        <dd class="govuk-summary-list__value">{escape(page.venue_name)}<br>'
        f"{linebreaksbr(page.venue_address)}{postcode}</dd></div>\n"
        f'      {ROW}Length</dt><dd class="govuk-summary-list__value">'
        f"{_duration_label(page.duration_half_days)}</dd></div>\n"
        f"      {level}\n"
        f'      {ROW}Trainers</dt><dd class="govuk-summary-list__value">{trainers}</dd></div>\n'
        f"      {ROW}Places left</dt>\n"
        '        <dd class="govuk-summary-list__value" data-testid="places-left">'
        f"{places}</dd></div>\n"
        f"      {closes}\n"
        "    </dl>\n"
        "  </div>\n"
    )


def _price_block(page: SessionPage, band: PriceBand | None) -> str:
    """The price block (``listing.price_html``) for the viewer's band, or every band's."""
    prices = [
        (name, None if amount is None else format_pounds(amount)) for name, amount in page.prices
    ]
    row = {
        "is_free": page.is_free,
        "price": prices[0][1] if band is not None and prices else None,
        "prices": prices,
    }
    return f"\n{price_html(row, band_label=band.name.lower() if band else None)}\n"


def _about(page: SessionPage) -> str:
    kind = str(KIND_LABELS.get(page.kind, page.kind))
    about = (
        f'<h2 class="govuk-heading-m">About this {escape(kind.lower())}</h2>'
        f'<p class="govuk-body">{linebreaksbr(page.description)}</p>'
        if page.description
        else ""
    )
    outcomes = (
        '\n    <h2 class="govuk-heading-m">You will be able to</h2>\n'
        '    <ul class="govuk-list govuk-list--bullet">'
        + "".join(f"<li>{escape(text)}</li>" for text in page.outcomes)
        + "</ul>\n    "
        if page.outcomes
        else ""
    )
    notes = f'<div class="govuk-inset-text">{linebreaksbr(page.notes)}</div>' if page.notes else ""
    return (
        '  <div class="govuk-grid-column-two-thirds">\n'
        f"    {about}\n"
        f"    {outcomes}\n"
        f"    {notes}\n"
        "  </div>\n"
        "</div>\n"
    )


def session_body_html(page: SessionPage, *, band: PriceBand | None) -> tuple[str, str]:
    """The page's shared part for a viewer of ``band`` (None: every band's price), in two
    halves: the booking actions go between them."""
    kind = str(KIND_LABELS.get(page.kind, page.kind))
    theme = f" · {escape(page.theme)}" if page.theme else ""
    cancelled = CANCELLED if page.status == SessionStatus.CANCELLED else ""
    before = (
        f'\n<span class="govuk-caption-l">{escape(kind)}{theme}</span>\n'
        f'<h1 class="govuk-heading-xl">{escape(page.title)}</h1>\n'
        f"{cancelled}\n\n\n"
        f"{_facts(page)}"
        '  <div class="govuk-grid-column-one-third">\n'
        '    <h2 class="govuk-heading-m">Price</h2>\n'
        f"    {_price_block(page, band)}\n"
        "    "
    )
    after = f"\n  </div>\n{_about(page)}"
    return before, after
