"""The session a booking is confirmed on, read by the booking form in one plain statement
(``session_to_confirm``), and the queryset of its other steps (``sessions_to_book``).

Confirming a place reads the session with its course, the person's band price
(``pricing.band_price_sql``) and what the apps that hear of a confirmed place want to know of
it (``events.booking_session_facts``): the queryset the form uses for its other steps, where
building and compiling it cost the confirm about a millisecond, several times running it. The
statement is written once per process: the session and course columns from the models'
fields (``training.plain_rows``), each fact's expression compiled by the ORM against the
session table, as the queryset compiles it. The objects read the same as the queryset's
(tests/bookings/test_session_read.py holds them to it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connections, router
from django.db.models import DecimalField, QuerySet
from django.db.models.expressions import RawSQL

from bookings.events import booking_session_facts
from bookings.places.pricing import band_price_sql, with_band_price
from training.models import Course, PriceBand, Session
from training.plain_rows import Part, converters_of, part


@dataclass
class _Fact:
    name: str
    index: int
    converters: list[Any]
    expression: Any


@dataclass
class _Read:
    sql: str
    params: list[Any]  # the facts' own, after the band's two
    session: Part
    course: Part
    price_index: int
    price_converters: list[Any]
    price_expression: Any
    facts: list[_Fact]


@cache
def _read(db: str, facts: tuple[str, ...]) -> _Read:
    connection = connections[db]
    q = connection.ops.quote_name
    session_table, course_table = Session._meta.db_table, Course._meta.db_table
    session = part(Session, session_table, 0, connection)
    course = part(Course, course_table, len(session.columns), connection)
    columns = session.columns + course.columns
    price_expression = RawSQL(band_price_sql(), [], output_field=DecimalField())
    price_index = len(columns)
    columns.append(band_price_sql())
    # Each fact compiled as the queryset would compile its annotation: against the session
    # table under its own name, the alias the statement below gives it.
    query = Session.objects.all().query
    compiler = query.get_compiler(db)
    read_facts, params = [], []
    for name in facts:
        expression = booking_session_facts[name]().resolve_expression(query)
        sql, fact_params = compiler.compile(expression)
        read_facts.append(
            _Fact(name, len(columns), converters_of(expression, connection), expression)
        )
        columns.append(sql)
        params += list(fact_params)
    session_course = Session._meta.get_field("course").column
    sql = (
        f"SELECT {', '.join(columns)} FROM {q(session_table)} "
        f"INNER JOIN {q(course_table)} "
        f"ON {q(course_table)}.{q('id')} = {q(session_table)}.{q(session_course)} "
        f"WHERE {q(session_table)}.{q('id')} = %s"
    )
    return _Read(
        sql=sql,
        params=params,
        session=session,
        course=course,
        price_index=price_index,
        price_converters=converters_of(price_expression, connection),
        price_expression=price_expression,
        facts=read_facts,
    )


def session_to_confirm(pk: int, band: PriceBand) -> Session | None:
    """The session ``pk`` with its course, ``band``'s price and the facts, as
    ``with_band_price(Session.objects.select_related("course"), band)`` annotated with the
    facts reads it; None if there is no such session."""
    db = router.db_for_read(Session)
    connection = connections[db]
    low, high = connection.ops.integer_field_range(Session._meta.pk.get_internal_type())
    if not low <= pk <= high:  # no session has it, and the database would refuse it
        return None
    read = _read(db, tuple(booking_session_facts))
    with connection.cursor() as cursor:
        cursor.execute(read.sql, [band.pk, band.pk, *read.params, pk])
        row = cursor.fetchone()
    if row is None:
        return None
    session: Any = read.session.build(row, db, connection)
    course = read.course.build(row, db, connection)
    Session._meta.get_field("course").set_cached_value(session, course)
    price = row[read.price_index]
    for converter in read.price_converters:
        price = converter(price, read.price_expression, connection)
    session.priced_band_id = band.pk
    session.band_price = price
    for fact in read.facts:
        value = row[fact.index]
        for converter in fact.converters:
            value = converter(value, fact.expression, connection)
        setattr(session, fact.name, value)
    return session


def sessions_to_book(band: PriceBand | None, *, pages: bool) -> QuerySet[Session]:
    """The sessions as the booking form's steps read them (``session_to_confirm`` reads the
    same for the confirm of someone whose band is known); with what its ``pages`` show of
    where and when, which a confirmed booking (answered with a redirect) does not need."""
    sessions: QuerySet[Session] = Session.objects.select_related("course")
    if band is not None:
        sessions = with_band_price(sessions, band)
    else:
        sessions = sessions.prefetch_related("price_overrides", "course__prices")
    # What the apps that hear of a confirmed place want to know of its session comes too.
    sessions = sessions.annotate(**{name: fact() for name, fact in booking_session_facts.items()})
    if pages:
        sessions = sessions.select_related("venue").prefetch_related("parts")
    return sessions
