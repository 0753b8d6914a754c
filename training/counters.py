"""Counting up under a key in one statement, shared by every process through the database."""

from __future__ import annotations

import datetime as dt

from django.db import connection

# The table of ``training.models.Counter``, named here so that this module needs no model
# (the pages' version, which the models' querysets bump, counts here).
TABLE = "training_counter"
_TABLE = f'"{TABLE}"'  # quoted alike by SQLite and PostgreSQL
# An upsert that returns the new counts: SQLite (3.35 and later) and PostgreSQL both take it,
# and either database makes two processes counting the same key wait for each other, so no
# count is lost.
_UPSERT = (
    f'INSERT INTO {_TABLE} ("key", "value", "expires_at") VALUES {{rows}} '
    f'ON CONFLICT ("key") DO UPDATE SET "value" = {_TABLE}."value" + 1 '
    'RETURNING "key", "value"'
)
_READ = f'SELECT "value" FROM {_TABLE} WHERE "key" = %s'


def counters_increment(*, keys: list[str], expires_at: dt.datetime | None = None) -> dict[str, int]:
    """Count one more under each of ``keys`` (distinct; each starting from none), in one
    statement, and return their counts. ``expires_at`` is kept from a key's first count:
    housekeeping deletes the key after it."""
    expires = connection.ops.adapt_datetimefield_value(expires_at)
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT.format(rows=", ".join(["(%s, 1, %s)"] * len(keys))),
            [value for key in keys for value in (key, expires)],
        )
        return {key: int(value) for key, value in cursor.fetchall()}


def counter_increment(*, key: str, expires_at: dt.datetime | None = None) -> int:
    """Count one more under ``key`` (starting from none) and return the count."""
    return counters_increment(keys=[key], expires_at=expires_at)[key]


def counter_value(*, key: str) -> int:
    """The count under ``key``; 0 when nothing has been counted (or it was deleted)."""
    with connection.cursor() as cursor:
        cursor.execute(_READ, [key])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def counters_delete_expired(*, now: dt.datetime) -> int:
    """Delete the counts whose time has passed (old rate-limit windows); returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM {_TABLE} WHERE "expires_at" < %s',
            [connection.ops.adapt_datetimefield_value(now)],
        )
        return cursor.rowcount
