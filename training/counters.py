"""Counting up under a key in one statement, shared by every process through the database."""

from __future__ import annotations

import datetime as dt

from django.db import connection

# The table of ``training.models.Counter``, named here so that this module needs no model
# (the pages' version, which the models' querysets bump, counts here).
TABLE = "training_counter"
_TABLE = f'"{TABLE}"'  # quoted alike by SQLite and PostgreSQL
# An upsert that returns the new count: SQLite (3.35 and later) and PostgreSQL both take it,
# and either database makes two processes counting the same key wait for each other, so no
# count is lost.
_INCREMENT = (
    f'INSERT INTO {_TABLE} ("key", "value", "expires_at") VALUES (%s, 1, %s) '
    f'ON CONFLICT ("key") DO UPDATE SET "value" = {_TABLE}."value" + 1 RETURNING "value"'
)
_READ = f'SELECT "value" FROM {_TABLE} WHERE "key" = %s'


def counter_increment(*, key: str, expires_at: dt.datetime | None = None) -> int:
    """Count one more under ``key`` (starting from none) and return the count. ``expires_at``
    is kept from the first count: housekeeping deletes the key after it."""
    with connection.cursor() as cursor:
        cursor.execute(_INCREMENT, [key, connection.ops.adapt_datetimefield_value(expires_at)])
        row = cursor.fetchone()
    return int(row[0])


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
