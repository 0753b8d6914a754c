"""The cache of the rendered catalogue and session pages, kept under the pages' version.

What is cached is the part of a page every viewer of one class sees alike: anonymous
visitors, signed-in people whose sector we do not know, and each price band. The header
with the person's name, messages, CSRF tokens and a person's own note are rendered around
it on every request. An entry is served only while the version it was rendered under is
the current one (``training.page_version``: every booking, cancellation, release and change
of a session, course, venue or price bumps it) and until the first moment time alone would
change the page: a hold or a waiting-list offer expiring, a session starting, or midnight
(booking closes by the day), read with the rows the page shows. One round trip reads both
the version and the entry from a memory or Redis cache (two small statements from the
database).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from bookings.models import HOLDING_STATUSES, Booking, WaitingListEntry, open_offers_q
from training.models import PriceBand, Session, SessionStatus
from training.page_version import pages_version_and


def viewer_class(*, signed_in: bool, band: PriceBand | None) -> str:
    """Who sees the same page: the anonymous, the signed-in of unknown sector, each band."""
    if band is not None:
        return f"band-{band.pk}"
    return "signed-in" if signed_in else "anonymous"


def page_key(page: str, *, query: str, viewer: str) -> str:
    digest = hashlib.sha256(f"{page}\n{query}\n{viewer}".encode()).hexdigest()[:40]
    return f"pages:{digest}"


def page_get(key: str, *, now: dt.datetime) -> tuple[dict[str, Any] | None, int]:
    """The entry under ``key`` if it is current and not past its time, and the version to
    store a freshly rendered one under (read before rendering, so a change committed while
    rendering leaves the new entry already out of date)."""
    if settings.PAGE_CACHE_SECONDS == 0:
        return None, 0  # the cache is off: not even an entry stored before is served
    version, entry = pages_version_and(key)
    if (
        isinstance(entry, dict)
        and entry.get("version") == version
        and (entry["valid_until"] is None or now < entry["valid_until"])
    ):
        return entry, version
    return None, version


def page_store(
    key: str, entry: dict[str, Any], *, version: int, valid_until: dt.datetime, now: dt.datetime
) -> None:
    seconds = min(settings.PAGE_CACHE_SECONDS, (valid_until - now).total_seconds())
    if seconds < 1:
        return
    cache.set(key, {**entry, "version": version, "valid_until": valid_until}, timeout=seconds)


# Annotated on the rows a page shows: the next hold and offer to expire and the next
# published session to start, each the first of its kind after now.
NEXT_CHANGE_FIELDS = ("next_hold_expires_at", "next_offer_expires_at", "next_session_starts_at")


def next_change_annotations(now: dt.datetime, *, of_session: bool = False) -> dict[str, Subquery]:
    """For a Session queryset: the moments after ``now`` when time alone changes a page. Of
    the session itself (``of_session``: its holds and offers, and its start) or of the whole
    catalogue (the same on every row; the databases work out an uncorrelated subquery once).
    """
    holds = Booking.objects.filter(status__in=HOLDING_STATUSES, hold_expires_at__gt=now)
    offers = WaitingListEntry.objects.filter(open_offers_q(now))
    starts = Session.objects.filter(status=SessionStatus.PUBLISHED, starts_at__gt=now)
    if of_session:
        holds = holds.filter(session=OuterRef("pk"))
        offers = offers.filter(session=OuterRef("pk"))
        starts = starts.filter(pk=OuterRef("pk"))
    return {
        "next_hold_expires_at": Subquery(
            holds.order_by("hold_expires_at").values("hold_expires_at")[:1]
        ),
        "next_offer_expires_at": Subquery(
            offers.order_by("offer_expires_at").values("offer_expires_at")[:1]
        ),
        "next_session_starts_at": Subquery(starts.order_by("starts_at").values("starts_at")[:1]),
    }


def next_change_of(moments: Iterable[dt.datetime | None], now: dt.datetime) -> dt.datetime:
    """The first of ``moments`` (a row's ``next_change_annotations``) and the next midnight
    (booking closes by the day, and the catalogue's months start from today)."""
    today = timezone.localdate(now)
    midnight = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), dt.time()))
    return min([midnight, *(moment for moment in moments if moment is not None)])


def next_changes(row: Any) -> list[dt.datetime | None]:
    return [getattr(row, name) for name in NEXT_CHANGE_FIELDS]


def next_change_at(now: dt.datetime) -> dt.datetime:
    """The catalogue's next change when the page shows no row to read it from."""
    row = (
        Session.objects.annotate(**next_change_annotations(now))
        .order_by()
        .values_list(*NEXT_CHANGE_FIELDS)
        .first()
    )
    # No session at all: only midnight changes anything.
    return next_change_of(row or (), now)
