"""The training administrator's admin pages for bookings and money: they load, they do not
query per row, their actions go through the services (and so are audited), and finance can
export invoices with their status."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from bookings.models import (
    AuditEntry,
    BookingStatus,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Order,
    OutgoingEmail,
    Payment,
    PaymentMethod,
    PaymentStatus,
    WaitingListEntry,
    WaitlistStatus,
    WebhookEvent,
)
from bookings.money.invoices import invoice_mark_paid
from bookings.money.refunds import refund_create
from bookings.outbox import MAX_ATTEMPTS
from bookings.places.booking import AttendeeSpec, booking_create
from bookings.places.changes import booking_cancel
from tests.conftest import make_session
from training.models import Agency, Course, Session, Venue

pytestmark = pytest.mark.django_db

ADMINISTERED = [
    "order",
    "booking",
    "payment",
    "refund",
    "invoice",
    "waitinglistentry",
    "webhookevent",
    "outgoingemail",
    "auditentry",
]


def future(days: int, hour: int = 9) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, hour))


def book_on_invoice(
    session: Session, agency: Agency, booker: Any, *emails: str, po: str = "PO-7781"
) -> Order:
    return booking_create(
        session=session,
        attendees=[AttendeeSpec(name=email.split("@")[0].title(), email=email) for email in emails],
        agency=agency,
        booked_by=booker,
        payment_method=PaymentMethod.INVOICE,
        purchase_order_number=po,
        now=timezone.now(),
    )


@pytest.fixture
def session(course: Course, venue: Venue) -> Session:
    return make_session(course, venue, starts_at=future(40), capacity=3)


@pytest.fixture
def office(client: Any, training_admin: Any) -> Any:
    """The training administrator signed in (staff, permissions from their group only)."""
    client.force_login(training_admin)
    return client


@pytest.fixture
def order(session: Session, school: Agency, agency_booker: Any) -> Order:
    return book_on_invoice(session, school, agency_booker, "ann@example.org", "bob@example.org")


def changelist(model: str) -> str:
    return reverse(f"admin:bookings_{model}_changelist")


def add_rows(session: Session, school: Agency, booker: Any, count: int) -> None:
    """Rows of every kind the pages list: orders, bookings, invoices, payments, refunds,
    waiting-list entries, webhook events, queued emails and audit entries."""
    now = timezone.now()
    start = Order.objects.count()
    for index in range(start, start + count):
        order = book_on_invoice(
            session, school, booker, f"extra{index}@example.org", po=f"PO-{index}"
        )
        payment = Payment.objects.create(
            order=order,
            gateway="development",
            amount=Decimal("65.00"),
            status=PaymentStatus.SUCCEEDED,
        )
        refund_create(
            payment=payment,
            booking=order.bookings.get(),
            amount=Decimal("65.00"),
            reason="Test",
            actor=None,
            now=now,
        )
        person = get_user_model().objects.create_user(
            username=f"wait{index}", email=f"wait{index}@example.org"
        )
        WaitingListEntry.objects.create(
            session=session, person=person, email=person.email, name=f"Waiting {index}"
        )
        WebhookEvent.objects.create(
            event_id=f"evt_{index}", event_type="checkout.session.x", payload={"id": index}
        )


def test_training_administrator_group_holds_the_bookings_permissions(training_admin: Any) -> None:
    # Granted on post_migrate; the group must get the permissions of apps migrated after it.
    for codename in (
        "view_booking",
        "change_booking",
        "change_invoice",
        "change_waitinglistentry",
        "view_auditentry",
        "view_outgoingemail",
    ):
        assert training_admin.has_perm(f"bookings.{codename}"), codename


def test_training_administrator_sees_every_bookings_changelist(
    office: Any, session: Session, school: Agency, agency_booker: Any
) -> None:
    add_rows(session, school, agency_booker, 2)
    for model in ADMINISTERED:
        response = office.get(changelist(model))
        assert response.status_code == 200, model
        assert response.context["cl"].result_count >= 2, model
    page = office.get(changelist("booking")).content.decode()
    assert "extra0@example.org" in page


def test_admin_detail_pages_show_rows_read_only(office: Any, order: Order) -> None:
    booking = order.bookings.first()
    invoice = order.invoices.get()
    for url in (
        reverse("admin:bookings_order_change", args=[order.pk]),
        reverse("admin:bookings_booking_change", args=[booking.pk]),
        reverse("admin:bookings_invoice_change", args=[invoice.pk]),
    ):
        response = office.get(url)
        assert response.status_code == 200, url
        # View only: no save button, so nothing bypasses the services and their audit.
        assert b'name="_save"' not in response.content, url
    response = office.get(reverse("admin:bookings_booking_change", args=[booking.pk]))
    assert b"booked" in response.content  # the booking's audit history is shown


@pytest.mark.parametrize("model", ["webhookevent", "outgoingemail", "auditentry", "refund"])
def test_records_of_what_happened_cannot_be_added(office: Any, model: str) -> None:
    assert office.get(reverse(f"admin:bookings_{model}_add")).status_code == 403


def test_nobody_deletes_a_booking_or_invoice_in_the_admin(office: Any, order: Order) -> None:
    booking = order.bookings.first()
    invoice = order.invoices.get()
    assert (
        office.get(reverse("admin:bookings_booking_delete", args=[booking.pk])).status_code == 403
    )
    assert (
        office.get(reverse("admin:bookings_invoice_delete", args=[invoice.pk])).status_code == 403
    )


@pytest.mark.parametrize("model", ADMINISTERED)
def test_changelist_queries_do_not_grow_with_rows(
    office: Any,
    school: Agency,
    agency_booker: Any,
    course: Course,
    venue: Venue,
    model: str,
) -> None:
    big = make_session(course, venue, starts_at=future(45), capacity=100)
    add_rows(big, school, agency_booker, 2)
    with CaptureQueriesContext(connection) as few:
        assert office.get(changelist(model)).status_code == 200
    add_rows(big, school, agency_booker, 10)
    with CaptureQueriesContext(connection) as many:
        assert office.get(changelist(model)).status_code == 200
    assert len(many) == len(few), model


def test_mark_paid_action_marks_issued_invoices_and_audits_who(
    office: Any, order: Order, training_admin: Any
) -> None:
    invoice = order.invoices.get()
    response = office.post(
        changelist("invoice"),
        {"action": "mark_paid_today", "_selected_action": [invoice.pk]},
        follow=True,
    )
    assert response.status_code == 200
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.paid_on == timezone.localdate()
    entry = AuditEntry.objects.get(
        object_type="bookings.invoice", object_id=str(invoice.pk), action="status issued → paid"
    )
    assert entry.actor == training_admin
    assert "1 invoice marked as paid" in response.content.decode()


def test_mark_paid_action_leaves_credit_notes_and_paid_invoices_alone(
    office: Any, order: Order
) -> None:
    invoice = order.invoices.get()
    booking_cancel(booking=order.bookings.first(), actor=None, now=timezone.now())
    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    invoice_mark_paid(invoice=invoice, paid_on=dt.date(2026, 1, 5), actor=None, now=timezone.now())
    response = office.post(
        changelist("invoice"),
        {"action": "mark_paid_today", "_selected_action": [invoice.pk, note.pk]},
        follow=True,
    )
    invoice.refresh_from_db()
    note.refresh_from_db()
    assert invoice.paid_on == dt.date(2026, 1, 5)
    assert note.status == InvoiceStatus.ISSUED
    assert "Not changed" in response.content.decode()


def test_cancel_action_cancels_through_the_service_and_reports_refusals(
    office: Any, order: Order, training_admin: Any
) -> None:
    first, second = order.bookings.order_by("pk")
    booking_cancel(booking=second, actor=None, now=timezone.now())
    response = office.post(
        changelist("booking"),
        {"action": "cancel_bookings", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )
    first.refresh_from_db()
    assert first.status == BookingStatus.CANCELLED
    assert not first.late_cancellation  # before the cut-off: refunded in full
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE, lines__booking=first).exists()
    assert AuditEntry.objects.filter(
        object_type="bookings.booking", object_id=str(first.pk), actor=training_admin
    ).exists()
    assert OutgoingEmail.objects.filter(kind="booking_cancelled", booking=first).exists()
    page = response.content.decode()
    assert "1 booking cancelled" in page
    assert "not active, so it cannot be cancelled" in page  # the second, already cancelled


def test_offer_action_offers_a_waiting_person_a_free_place(
    office: Any,
    session: Session,
    school: Agency,
    agency_booker: Any,
    practitioner: Any,
    training_admin: Any,
) -> None:
    entry = WaitingListEntry.objects.create(
        session=session, person=practitioner, email=practitioner.email, name="Tess Teacher"
    )
    office.post(
        changelist("waitinglistentry"),
        {"action": "offer_place_now", "_selected_action": [entry.pk]},
        follow=True,
    )
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.OFFERED
    assert OutgoingEmail.objects.filter(kind="waitlist_offer", waiting_list_entry=entry).exists()
    assert AuditEntry.objects.filter(
        object_type="bookings.waitinglistentry", object_id=str(entry.pk), actor=training_admin
    ).exists()


def test_offer_action_reports_when_there_is_no_free_place(
    office: Any, session: Session, school: Agency, agency_booker: Any, practitioner: Any
) -> None:
    book_on_invoice(
        session, school, agency_booker, "a@example.org", "b@example.org", "c@example.org"
    )
    entry = WaitingListEntry.objects.create(
        session=session, person=practitioner, email=practitioner.email, name="Tess Teacher"
    )
    response = office.post(
        changelist("waitinglistentry"),
        {"action": "offer_place_now", "_selected_action": [entry.pk]},
        follow=True,
    )
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.WAITING
    assert "There is no free place to offer" in response.content.decode()


def export_invoices_csv(office: Any) -> list[dict[str, str]]:
    url = reverse("admin:bookings_invoice_export")
    form = office.get(url).context["form"]
    csv_choice = next(value for value, label in form.fields["format"].choices if label == "csv")
    data = {"format": csv_choice, "resource": "0"}
    data.update({name: "on" for name in form.fields if name.startswith("invoiceresource_")})
    response = office.post(url, data)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_finance_exports_invoices_and_credit_notes_with_status(office: Any, order: Order) -> None:
    invoice = order.invoices.get()
    booking_cancel(booking=order.bookings.first(), actor=None, now=timezone.now())
    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    invoice_mark_paid(invoice=invoice, paid_on=timezone.localdate(), actor=None, now=timezone.now())
    rows = {row["number"]: row for row in export_invoices_csv(office)}
    assert list(next(iter(rows.values())).keys()) == [
        "number",
        "kind",
        "agency",
        "purchase_order_number",
        "issued_on",
        "due_on",
        "status",
        "paid_on",
        "total",
        "credits",
    ]
    assert rows[invoice.number]["status"] == "Paid"
    assert rows[invoice.number]["kind"] == "Invoice"
    assert rows[invoice.number]["agency"] == "Blackdown Primary School"
    assert rows[invoice.number]["purchase_order_number"] == "PO-7781"
    assert rows[invoice.number]["total"] == "130.00"
    assert rows[note.number]["kind"] == "Credit note"
    assert rows[note.number]["total"] == "-65.00"
    assert rows[note.number]["credits"] == invoice.number


def test_a_formula_typed_as_a_purchase_order_number_is_exported_as_text(
    office: Any, order: Order
) -> None:
    # A booker types the purchase-order number; finance opens the export in Excel.
    Invoice.objects.filter(order=order).update(purchase_order_number='=HYPERLINK("http://x")')
    (row,) = export_invoices_csv(office)
    assert row["purchase_order_number"] == '\'=HYPERLINK("http://x")'
    assert row["total"] == "130.00"


def test_the_admins_excel_export_keeps_amounts_as_numbers(office: Any, order: Order) -> None:
    url = reverse("admin:bookings_invoice_export")
    form = office.get(url).context["form"]
    choice = next(value for value, label in form.fields["format"].choices if label == "xlsx")
    data = {"format": choice, "resource": "0"}
    data.update({name: "on" for name in form.fields if name.startswith("invoiceresource_")})
    Invoice.objects.filter(order=order).update(purchase_order_number="=1+1")
    response = office.post(url, data)
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    headers = [cell.value for cell in sheet[1]]
    row = [cell for cell in sheet[2]]
    total = row[headers.index("total")]
    assert total.data_type == "n" and total.value == 130
    po = row[headers.index("purchase_order_number")]
    assert po.data_type == "s" and po.value == "'=1+1"


def test_try_again_action_resends_an_email_given_up_on(
    office: Any, order: Order, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:

    stuck = OutgoingEmail.objects.filter(order=order).first()
    assert stuck is not None, "the booker was told of the order"
    OutgoingEmail.objects.filter(pk=stuck.pk).update(
        sent_at=None, claimed_at=None, attempts=MAX_ATTEMPTS, error="mailbox full"
    )
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = office.post(
            changelist("outgoingemail"),
            {"action": "try_again", "_selected_action": [stuck.pk]},
            follow=True,
        )
    assert "1 email will be tried again now." in response.content.decode()
    stuck.refresh_from_db()
    assert stuck.sent_at is not None and stuck.error == ""
    assert [m.to for m in mailoutbox] == [[stuck.to]]
