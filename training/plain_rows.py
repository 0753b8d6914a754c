"""Model objects from the columns of a plain statement, as the ORM would have made them.

For the few reads every request or every booking makes, building and compiling the ORM's
query costs several times running it. A plain statement selects each model's concrete
columns (``Part.columns``); ``Part.build`` runs the values through each field's own converters
(the ORM's ``get_db_converters``) and makes the object with ``Model.from_db``, so it reads
exactly what a queryset would have given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Model


@dataclass
class Part:
    """One model of a read: its table's alias in the statement and where its columns are."""

    model: type[Model]
    alias: str
    start: int
    attnames: list[str]
    converters: list[tuple[Any, list[Callable[..., Any]]]]  # (column, its converters)
    pk_index: int
    columns: list[str]  # the quoted columns to select, in order

    def build(self, row: tuple[Any, ...], db: str, connection: Any) -> Model | None:
        values = list(row[self.start : self.start + len(self.attnames)])
        if values[self.pk_index] is None:
            return None  # a LEFT JOIN found no such row
        for index, (column, converters) in enumerate(self.converters):
            for converter in converters:
                values[index] = converter(values[index], column, connection)
        return self.model.from_db(db, self.attnames, values)


def converters_of(expression: Any, connection: Any) -> list[Callable[..., Any]]:
    """What the ORM runs a selected ``expression``'s value through, in its own order
    (``SQLCompiler.get_converters``): the backend's converters, then the field's."""
    return connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)


def part(model: type[Model], alias: str, start: int, connection: Any) -> Part:
    """``model``'s columns as ``alias`` in a statement, the first of them at ``start``."""
    fields = list(model._meta.concrete_fields)
    quote = connection.ops.quote_name
    columns = [field.get_col(alias) for field in fields]
    converters = [(column, converters_of(column, connection)) for column in columns]
    attnames = [field.attname for field in fields]
    return Part(
        model=model,
        alias=alias,
        start=start,
        attnames=attnames,
        converters=converters,
        pk_index=attnames.index(model._meta.pk.attname),
        columns=[f"{quote(alias)}.{quote(str(field.column))}" for field in fields],
    )
