"""The version of what the public pages show: bumped whenever places, sessions or prices change.

The catalogue and session pages are cached under this version (``bookings.places.pagecache``);
anything that changes what they show calls ``pages_changed()``. The bump that matters comes
after the transaction commits: a page another request rendered from the rows as they were
before the commit was stored under the version before the bump, and is never served again.
Memory and Redis caches are bumped at once too, so the rest of the transaction (and a test,
which runs inside one) sees the change. With the database cache the version is a counter row
(``training.counters``) bumped only after the commit: it is written through the same
connection, so a bump inside the transaction would lock the row until the commit and make
every booking wait for every other.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.db import connection, models, transaction

from training.counters import counter_increment, counter_value

VERSION_KEY = "pages:version"


def _in_the_database() -> bool:
    """Whether the shared cache is the database's: then the version is a counter of its own
    (``training.counters``), bumped in one statement instead of the cache's dozen."""
    return isinstance(caches[DEFAULT_CACHE_ALIAS], DatabaseCache)


def pages_version() -> int:
    """The current version (0 until anything has changed since the cache was emptied)."""
    if _in_the_database():
        return counter_value(key=VERSION_KEY)
    value = cache.get(VERSION_KEY)
    return int(value) if value is not None else 0


def pages_version_and(key: str) -> tuple[int, Any]:
    """The current version and the cache's entry under ``key``: one round trip to a memory
    or Redis cache, two small statements to the database."""
    if _in_the_database():
        return counter_value(key=VERSION_KEY), cache.get(key)
    found = cache.get_many([VERSION_KEY, key])
    return int(found.get(VERSION_KEY) or 0), found.get(key)


def _bump_cache() -> None:
    # add() then incr(): incr() refuses a key that is missing (an emptied or evicted cache);
    # no timeout, so the version outlives every page stored under it.
    cache.add(VERSION_KEY, 0, timeout=None)
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # evicted between the two calls: start again from one
        cache.set(VERSION_KEY, 1, timeout=None)


def _bump_counter() -> None:
    counter_increment(key=VERSION_KEY)


def pages_changed(**_: Any) -> None:
    """Places, a session or a price changed: no cached page from before is served again.

    Takes and ignores keyword arguments so that it can be connected to model signals as is.
    """
    bump = _bump_counter if _in_the_database() else _bump_cache
    if not connection.in_atomic_block:
        bump()
        return
    if bump is _bump_cache:
        bump()
    # One bump after commit per transaction, however many rows it changes: a booking saves
    # an order, places, an invoice… Django drops the callback with a rolled-back savepoint,
    # so a later change queues it anew.
    if not any(entry[1] is bump for entry in connection.run_on_commit):
        transaction.on_commit(bump)


class PagesChangingQuerySet[M: models.Model](models.QuerySet[M]):
    """A queryset whose bulk writes (``update``, ``bulk_create``, ``bulk_update``), which send
    no model signals, still tell the pages that what they show may have changed."""

    def update(self, **kwargs: Any) -> int:
        changed = super().update(**kwargs)
        if changed:
            pages_changed()
        return changed

    def bulk_create(self, objs: Iterable[M], *args: Any, **kwargs: Any) -> list[M]:
        created = super().bulk_create(objs, *args, **kwargs)
        if created:
            pages_changed()
        return created

    def bulk_update(self, objs: Iterable[M], *args: Any, **kwargs: Any) -> int:
        changed = super().bulk_update(objs, *args, **kwargs)
        if changed:
            pages_changed()
        return changed
