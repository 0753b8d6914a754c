"""Writing new rows in one plain INSERT: ``bulk_create`` without the ORM's statement building.

Every booking writes its order, invoice, invoice lines, audit entries and emails. Through
``bulk_create`` each insert cost about a millisecond of the web process's CPU to build, several
times what the database took to run it. ``rows_insert`` writes the same values (each field's
own ``pre_save`` and ``get_db_prep_save``, as Django does) in a statement written once per model
and sets the new primary keys, on SQLite and PostgreSQL alike (both speak ``RETURNING``).

Like ``bulk_create`` it sends no model signals and calls no ``save()``: it is for models no
signal or queryset method needs to hear about, or whose caller tells them itself. Bookings and
waiting-list entries tell the pages they changed through their querysets' ``bulk_create``; the
booking form writes its places here and calls ``pages_changed`` as that would.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, cast

from django.db import connection
from django.db.models import Field, Model


@cache
def _statement(model: type[Model], rows: int, keyed: bool) -> tuple[str, tuple[Field, ...]]:
    meta = model._meta
    fields = tuple(field for field in meta.concrete_fields if keyed or not field.primary_key)
    quote = connection.ops.quote_name
    # Concrete fields always have a column; the stubs allow None for the others.
    columns = ", ".join(quote(cast(str, field.column)) for field in fields)
    key = quote(cast(str, meta.pk.column))
    row = f"({', '.join(['%s'] * len(fields))})"
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "
        f"VALUES {', '.join([row] * rows)} RETURNING {key}"
    )
    return sql, fields


def rows_insert[M: Model](objs: Sequence[M]) -> list[M]:
    """Insert ``objs``, new rows of one model, in one statement, and give each the primary key
    the database made, as ``QuerySet.bulk_create(objs)`` does; or, when every row has its
    primary key already (a UUID made in Python), write those."""
    if not objs:
        return []
    model = type(objs[0])
    keyed = objs[0].pk is not None
    if any(
        type(obj) is not model or not obj._state.adding or (obj.pk is not None) is not keyed
        for obj in objs
    ):
        raise ValueError(
            "rows_insert writes new rows of one model, all with or all without primary keys."
        )
    sql, fields = _statement(model, len(objs), keyed)
    params = []
    for obj in objs:
        # A related row saved after it was assigned gives its key now, as in bulk_create.
        unsaved: Any = obj  # Django's own step of save() and bulk_create(), not in the stubs
        unsaved._prepare_related_fields_for_save(operation_name="rows_insert")
        params += [
            field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields
        ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = [row[0] for row in cursor.fetchall()]
    for obj, key in zip(objs, keys, strict=True):
        if not keyed:
            obj.pk = key
        obj._state.adding = False
        obj._state.db = connection.alias
    return list(objs)
