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

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Field, Model
from django.db.models.fields import AutoFieldMixin


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
    batch = _current_batch()
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
    # The connection itself, not django.db.connection: that proxy looks the connection up
    # again on every use, and a booking's rows use it about a hundred times.
    db = connections[DEFAULT_DB_ALIAS]
    for obj in objs:
        # A related row saved after it was assigned gives its key now, as in bulk_create.
        unsaved: Any = obj  # Django's own step of save() and bulk_create(), not in the stubs
        unsaved._prepare_related_fields_for_save(operation_name="rows_insert")
        params += [field.get_db_prep_save(field.pre_save(obj, True), db) for field in fields]
    return params


def _written[M: Model](objs: Sequence[M]) -> list[M]:
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return list(objs)


# --- riders: small work that goes along in another statement (PostgreSQL) --------------------


@dataclass
class Rider:
    """Work that rides in another statement's round trip: columns of that statement's first
    row, and a part of its ``WITH`` (a write, which PostgreSQL only takes there).

    The statement's owner writes riders in (``riders_with``, ``riders_columns``) and hands
    back their columns' values (``riders_take``); the rider's owner reads ``values`` after it,
    and does the work in a statement of its own if they are missing (the statement never ran).
    """

    columns: tuple[str, ...]
    params: tuple[Any, ...] = ()
    with_part: str = ""  # "name AS (…)"
    with_params: tuple[Any, ...] = ()
    values: tuple[Any, ...] | None = None


def riders_with(riders: Sequence[Rider]) -> tuple[str, list[Any]]:
    """The ``WITH`` to open the statement with (or nothing), and its parameters, which come
    before all of the statement's others."""
    parts = [rider for rider in riders if rider.with_part]
    if not parts:
        return "", []
    return (
        f"WITH {', '.join(rider.with_part for rider in parts)} ",
        [param for rider in parts for param in rider.with_params],
    )


def riders_columns(riders: Sequence[Rider]) -> tuple[list[str], list[Any]]:
    """The columns to add after the statement's own (and their parameters, which come after
    those of the statement's own columns)."""
    return (
        [column for rider in riders for column in rider.columns],
        [param for rider in riders for param in rider.params],
    )


def riders_take(riders: Sequence[Rider], values: Sequence[Any]) -> None:
    """Give each rider its columns' values, from ``values``: the row's values after the
    statement's own columns."""
    start = 0
    for rider in riders:
        rider.values = tuple(values[start : start + len(rider.columns)])
        start += len(rider.columns)
    if start != len(values):
        raise ValueError(f"{len(values)} values for riders with {start} columns")


# --- several models' rows in one statement (PostgreSQL) --------------------------------------

# One array of new keys from a model's sequence: a rider's column, or a reservation's own.
_KEYS_SQL = "ARRAY(SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s))"


@dataclass
class _Batch:
    """Rows waiting to be written, with primary keys the sequences gave them beforehand."""

    wanted: dict[type[Model], int]
    keys: dict[type[Model], list[int]] | None = None  # None until reserved
    rider: Rider | None = None
    pending: list[tuple[str, list[Any]]] = field(default_factory=list)
    flushing: bool = False

    def keys_rider(self) -> Rider | None:
        if self.keys is not None or self.rider is not None or not self.wanted:
            return None
        self.rider = _keys_rider(self.wanted)
        return self.rider

    def take(self, model: type[Model], count: int) -> list[int] | None:
        if self.keys is None:
            # Reserved along with another statement (``keys_rider``) or, if none took the
            # rider, now, in a statement of their own.
            if self.rider is not None and self.rider.values is not None:
                arrays = list(self.rider.values)
            else:
                arrays = _reserved_arrays(self.wanted)
            self.keys = _keys_checked(self.wanted, arrays)
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


def _keys_rider(wanted: Mapping[type[Model], int]) -> Rider:
    """One column per model: an array of ``wanted`` new keys from its sequence."""
    params: list[Any] = []
    for model, count in wanted.items():
        params += [
            connection.ops.quote_name(model._meta.db_table),
            cast(str, model._meta.pk.column),
            count,
        ]
    return Rider(columns=(_KEYS_SQL,) * len(wanted), params=tuple(params))


def _reserved_arrays(wanted: Mapping[type[Model], int]) -> list[Any]:
    """``wanted`` new primary keys from each model's sequence, in one statement of their own:
    the rider's columns, selected alone."""
    rider = _keys_rider(wanted)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(rider.columns)}", rider.params)
        return list(cursor.fetchone() or ())


def _keys_checked(
    wanted: Mapping[type[Model], int], arrays: Sequence[Any]
) -> dict[type[Model], list[int]]:
    keys: dict[type[Model], list[int]] = {}
    for (model, count), array in zip(wanted.items(), arrays, strict=True):
        if len(array) != count or any(key is None for key in array):
            # No sequence behind the key (made some other way): nothing could be reserved.
            raise ValueError(f"{model.__name__} has no sequence to reserve keys from")
        keys[model] = list(array)
    return keys


def _current_batch() -> _Batch | None:
    batch: _Batch | None = getattr(connection, "_rows_batch", None)
    return batch


def rows_keys_rider() -> Rider | None:
    """Inside ``rows_batched`` on PostgreSQL, before any row is written: the rider that
    reserves the batch's keys, for the caller to put in a statement it runs anyway. ``None``
    when there is nothing to reserve that way (no batch, keys reserved, the rider taken)."""
    batch = _current_batch()
    return batch.keys_rider() if batch is not None else None


def _has_sequence(model: type[Model]) -> bool:
    return isinstance(model._meta.pk, AutoFieldMixin)


@contextmanager
def rows_batched(reserve: Mapping[type[Model], int]) -> Iterator[None]:
    """Inside a transaction on PostgreSQL: ``rows_insert`` gives rows keys reserved beforehand
    (``reserve``: how many of each model's may be needed) and writes them together, in one
    statement, just before the next other statement or at the end of the block, so that
    nothing ever reads the database without them. A model with no reserved key left, or
    none reserved, is written at once, after the rest. Elsewhere (SQLite has no ``WITH`` that
    writes, and outside a transaction nothing may wait) every insert is its own statement.

    The keys are reserved when the first row needs them, or before, along with a statement
    the caller runs anyway (``rows_keys_rider``). The keys no row took are left unused.
    """
    if (
        connection.vendor != "postgresql"
        or not connection.in_atomic_block
        or _current_batch() is not None
    ):
        yield
        return
    without = [model.__name__ for model in reserve if not _has_sequence(model)]
    if without:
        raise ValueError(f"{', '.join(without)} has no sequence to reserve keys from")
    batch = _Batch(wanted={model: count for model, count in reserve.items() if count > 0})
    connection._rows_batch = batch  # type: ignore[attr-defined]
    try:
        with connection.execute_wrapper(batch.before_statement):
            yield
            batch.flush()
    finally:
        del connection._rows_batch  # type: ignore[attr-defined]
