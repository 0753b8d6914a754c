"""Rows written in one plain insert read back as bulk_create would have written them."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from bookings.models import AuditEntry, Invoice, InvoiceLine, Order, PaymentMethod
from bookings.rows import rows_insert
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
