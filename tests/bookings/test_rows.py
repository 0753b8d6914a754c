"""Rows written in one plain insert read back as bulk_create would have written them."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings.models import AuditEntry, Invoice, InvoiceLine, Order, PaymentMethod
from bookings.rows import riders_columns, riders_take, rows_batched, rows_insert, rows_keys_rider
from training.models import Agency

pytestmark = pytest.mark.django_db

AT = timezone.make_aware(dt.datetime(2030, 5, 1, 9, 30))


def test_new_rows_get_their_keys_and_read_back_the_same(school: Agency, agency_booker: Any) -> None:
    order = Order(booked_by=agency_booker, agency=school, payment_method=PaymentMethod.INVOICE)
    (written,) = rows_insert([order])
    assert written is order and order.pk is not None and not order._state.adding
    stored = Order.objects.get(pk=order.pk)
    assert (stored.reference, stored.booked_by_id, stored.agency_id, stored.created_at) == (
        order.reference,
        agency_booker.pk,
        school.pk,
        order.created_at,
    )

    entries = [
        AuditEntry(
            object_type="bookings.order",
            object_id=str(order.pk),
            action=f"step {n}",
            code="other",
            actor=agency_booker,
            actor_label="booker",
            at=AT,
            changes={"n": n, "price": "65.00", "people": ["a", "b"]},
        )
        for n in range(3)
    ]
    rows_insert(entries)
    assert [entry.pk for entry in entries] == sorted(entry.pk for entry in entries)
    assert [
        (entry.action, entry.changes, entry.at)
        for entry in AuditEntry.objects.filter(pk__in=[e.pk for e in entries]).order_by("pk")
    ] == [(f"step {n}", {"n": n, "price": "65.00", "people": ["a", "b"]}, AT) for n in range(3)]


def test_a_related_row_saved_after_it_was_assigned_gives_its_key(school: Agency) -> None:
    invoice = Invoice(number="INV-TEST-1", agency=school, issued_on=AT.date(), due_on=AT.date())
    line = InvoiceLine(invoice=invoice, description="One place", amount=Decimal("65.50"))
    rows_insert([invoice])
    rows_insert([line])
    assert InvoiceLine.objects.get(pk=line.pk).invoice_id == invoice.pk
    assert InvoiceLine.objects.get(pk=line.pk).amount == Decimal("65.50")


def test_only_new_rows_of_one_model_are_written(school: Agency) -> None:
    order = Order(agency=school, payment_method=PaymentMethod.CARD)
    rows_insert([order])
    with pytest.raises(ValueError):
        rows_insert([order])
    assert Order.objects.count() == 1


def test_rows_with_their_own_keys_are_written_with_them() -> None:
    """A task's row has its UUID before it is written (the queue's own ``id_function``)."""
    from django_tasks_db.models import DBTaskResult

    rows: list[DBTaskResult[Any, Any]] = [
        DBTaskResult(
            id=uuid.uuid4(),
            args_kwargs={"args": [n], "kwargs": {}},
            task_path="bookings.tasks.send_emails",
            queue_name="default",
            backend_name="default",
            run_after=AT,
        )
        for n in (1, 2)
    ]
    first, second = rows
    keys = (first.pk, second.pk)
    rows_insert([first, second])
    assert (first.pk, second.pk) == keys and not first._state.adding
    assert {row.pk: row.args_kwargs for row in DBTaskResult.objects.filter(pk__in=keys)} == {
        keys[0]: {"args": [1], "kwargs": {}},
        keys[1]: {"args": [2], "kwargs": {}},
    }
    with pytest.raises(ValueError):
        rows_insert([first])  # already written
    mixed: list[Any] = [
        DBTaskResult(id=uuid.uuid4(), task_path="x", queue_name="default", backend_name="default"),
        Order(payment_method=PaymentMethod.CARD),
    ]
    with pytest.raises(ValueError):
        rows_insert(mixed)


def _audit(order: Order, step: str) -> AuditEntry:
    return AuditEntry(
        object_type="bookings.order",
        object_id=str(order.pk),
        action=step,
        code="other",
        actor_label="unit",
        at=AT,
        changes={},
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_batched_rows_are_written_together_and_before_any_read(school: Agency) -> None:
    """On PostgreSQL: keys reserved in one statement, rows written in one more, and a read in
    the block sees them. On SQLite every insert is its own statement, as outside a batch."""
    postgresql = connection.vendor == "postgresql"
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            with rows_batched({Order: 1, AuditEntry: 2}):
                (order,) = rows_insert([Order(agency=school, payment_method="card")])
                assert order.pk is not None and not order._state.adding
                rows_insert([_audit(order, "one"), _audit(order, "two")])
                assert len(queries) == (1 if postgresql else 2)  # reserved; nothing written
                # A read comes after the rows it might look for: they are written first.
                assert AuditEntry.objects.filter(object_id=str(order.pk)).count() == 2
                # No key reserved for a third entry: written at once.
                (third,) = rows_insert([_audit(order, "three")])
                assert third.pk is not None
        statements = [query["sql"] for query in queries.captured_queries]
        if postgresql:
            assert len(statements) == 4, statements  # reserve, WITH (order, 2), read, third
            assert statements[1].startswith("WITH")
        else:
            assert len(statements) == 4, statements  # order, entries, read, third
    assert list(
        AuditEntry.objects.filter(object_id=str(order.pk)).order_by("pk").values_list("action")
    ) == [("one",), ("two",), ("three",)]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_keys_are_reserved_along_with_a_statement_the_caller_runs(school: Agency) -> None:
    """The batch's keys ride in a statement the caller runs anyway (as the booking's count);
    a rider handed out but never run leaves them to be reserved on their own."""
    postgresql = connection.vendor == "postgresql"
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        with rows_batched({Order: 1, AuditEntry: 2}):
            rider = rows_keys_rider()
            assert (rider is not None) is postgresql  # SQLite batches nothing
            assert rows_keys_rider() is None  # one rider per batch
            if rider is not None:
                columns, params = riders_columns([rider])
                with connection.cursor() as cursor:
                    cursor.execute(f"SELECT 1, {', '.join(columns)}", params)
                    riders_take([rider], cursor.fetchone()[1:])
            (order,) = rows_insert([Order(agency=school, payment_method="card")])
            rows_insert([_audit(order, "one"), _audit(order, "two")])
        statements = [query["sql"] for query in queries.captured_queries]
        if rider is not None:
            assert rider.values is not None and order.pk == rider.values[0][0]
            assert len(statements) == 2 and statements[1].startswith("WITH"), statements
        else:
            assert len(statements) == 2, statements  # the order, then the entries
    assert AuditEntry.objects.filter(object_id=str(order.pk)).count() == 2

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        with rows_batched({Order: 1}):
            rows_keys_rider()  # never put in a statement
            (again,) = rows_insert([Order(agency=school, payment_method="card")])
        assert len(queries) == (2 if postgresql else 1)  # reserved on their own, then written
    assert Order.objects.filter(pk=again.pk).exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_batched_rows_roll_back_and_refusals_surface_in_the_block(school: Agency) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        with rows_batched({Order: 2}):
            rows_insert([Order(agency=school, payment_method="card")])
            raise RuntimeError("abandoned")
    assert not Order.objects.exists()

    (order,) = rows_insert([Order(agency=school, payment_method="card")])
    with pytest.raises(IntegrityError), transaction.atomic():
        with rows_batched({Order: 1}):
            # The same reference twice: refused by its unique constraint by the end of the
            # block at the latest, never silently.
            rows_insert([Order(agency=school, payment_method="card", reference=order.reference)])
    assert Order.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_outside_a_transaction_nothing_waits(school: Agency) -> None:
    with CaptureQueriesContext(connection) as queries, rows_batched({Order: 1}):
        rows_insert([Order(agency=school, payment_method="card")])
        written = [query["sql"] for query in queries.captured_queries]
    assert len(written) == 1 and written[0].startswith("INSERT"), written  # nothing reserved
    assert Order.objects.count() == 1


def test_keys_are_reserved_only_from_a_sequence() -> None:
    """A model whose key no sequence makes (a task's UUID) has no keys to reserve: asked to,
    PostgreSQL's batch says so rather than handing out none; SQLite reserves nothing."""
    from django_tasks_db.models import DBTaskResult

    if connection.vendor == "postgresql":
        with pytest.raises(ValueError, match="no sequence"), rows_batched({DBTaskResult: 1}):
            pass
    else:
        with CaptureQueriesContext(connection) as queries, rows_batched({DBTaskResult: 1}):
            pass
        assert len(queries) == 0
