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

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
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
    batch: _Batch | None = getattr(connection, "_rows_batch", None)
    if batch is not None:
        keys = None if keyed else batch.take(model, len(objs))
        if keyed or keys is not None:
            for obj, key in zip(objs, keys or [obj.pk for obj in objs], strict=True):
                obj.pk = key
            sql, fields = _statement(model, len(objs), True)
            batch.pending.append((sql, _params(objs, fields)))
            return _written(objs)
        batch.flush()  # no keys left for this model: written at once, after the others
    sql, fields = _statement(model, len(objs), keyed)
    params = _params(objs, fields)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = [row[0] for row in cursor.fetchall()]
    if not keyed:
        for obj, key in zip(objs, keys, strict=True):
            obj.pk = key
    return _written(objs)


def _params(objs: Sequence[Model], fields: Sequence[Field]) -> list[Any]:
    params = []
    for obj in objs:
        # A related row saved after it was assigned gives its key now, as in bulk_create.
        unsaved: Any = obj  # Django's own step of save() and bulk_create(), not in the stubs
        unsaved._prepare_related_fields_for_save(operation_name="rows_insert")
        params += [
            field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields
        ]
    return params


def _written[M: Model](objs: Sequence[M]) -> list[M]:
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return list(objs)


# --- several models' rows in one statement (PostgreSQL) --------------------------------------


@dataclass
class _Batch:
    """Rows waiting to be written, with primary keys the sequences gave them beforehand."""

    keys: dict[type[Model], list[int]]
    pending: list[tuple[str, list[Any]]] = field(default_factory=list)
    flushing: bool = False

    def take(self, model: type[Model], count: int) -> list[int] | None:
        keys = self.keys.get(model, [])
        if len(keys) < count:
            return None
        taken, self.keys[model] = keys[:count], keys[count:]
        return taken

    def flush(self) -> None:
        """Write every waiting row: one INSERT, or several as the parts of one WITH."""
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        if len(pending) == 1:
            sql, params = pending[0]
        else:
            parts = ", ".join(f"w{n} AS ({sql})" for n, (sql, _) in enumerate(pending))
            sql = f"WITH {parts} SELECT 1"  # PostgreSQL runs every part, read or not
            params = [param for _, part_params in pending for param in part_params]
        self.flushing = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
        finally:
            self.flushing = False

    def before_statement(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        # Any other statement, a read above all, comes after the waiting rows are written.
        if self.pending and not self.flushing:
            self.flush()
        return execute(sql, params, many, context)


def _reserved_keys(counts: Mapping[type[Model], int]) -> dict[type[Model], list[int]]:
    """``count`` new primary keys from each model's sequence, in one statement."""
    wanted = [(model, count) for model, count in counts.items() if count > 0]
    if not wanted:
        return {}
    quote = connection.ops.quote_name
    sql = " UNION ALL ".join(
        f"SELECT {n}, nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)"
        for n in range(len(wanted))
    )
    params: list[Any] = []
    for model, count in wanted:
        params += [quote(model._meta.db_table), cast(str, model._meta.pk.column), count]
    keys: dict[type[Model], list[int]] = {model: [] for model, _ in wanted}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for n, key in cursor.fetchall():
            if key is None:  # no sequence behind the key (a UUID, say): nothing to reserve
                raise ValueError(f"{wanted[n][0].__name__} has no sequence to reserve keys from")
            keys[wanted[n][0]].append(key)
    return keys


@contextmanager
def rows_batched(reserve: Mapping[type[Model], int]) -> Iterator[None]:
    """Inside a transaction on PostgreSQL: ``rows_insert`` gives rows keys reserved beforehand
    (``reserve``: how many of each model's may be needed) and writes them together, in one
    statement, just before the next other statement or at the end of the block, so that
    nothing ever reads the database without them. A model with no reserved key left, or
    none reserved, is written at once, after the rest. Elsewhere (SQLite has no ``WITH`` that
    writes, and outside a transaction nothing may wait) every insert is its own statement.
    The keys the sequences gave and no row took are left unused.
    """
    if (
        connection.vendor != "postgresql"
        or not connection.in_atomic_block
        or getattr(connection, "_rows_batch", None) is not None
    ):
        yield
        return
    batch = _Batch(keys=_reserved_keys(reserve))
    setattr(connection, "_rows_batch", batch)  # noqa: B010 (no such attribute in the stubs)
    try:
        with connection.execute_wrapper(batch.before_statement):
            yield
            batch.flush()
    finally:
        delattr(connection, "_rows_batch")  # noqa: B043
