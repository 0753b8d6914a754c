"""Background work queued by a booking goes to the workers only with the booking's commit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction
from django.tasks import default_task_backend
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from bookings.models import Booking, Order, OutgoingEmail, PaymentMethod
from bookings.places.booking import AttendeeSpec, booking_create
from tests.conftest import make_session
from training.models import Agency, Course, Venue

pytestmark = pytest.mark.django_db

BOOKED_AT = timezone.make_aware(dt.datetime(2030, 5, 1, 9))
# The queue production runs (TASKS_BACKEND=database): django-tasks-db's, writing rows plainly.
DATABASE_QUEUE = {"default": {"BACKEND": "bookings.jobs.DatabaseQueue", "QUEUES": ["default"]}}
LIBRARY_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


class Abandoned(Exception):
    """Something after the booking, in the same transaction, went wrong."""


def _book(course: Course, venue: Venue, agency: Agency, booked_by: Any) -> Order:
    session = make_session(course, venue, starts_at=BOOKED_AT + dt.timedelta(days=40), capacity=10)
    return booking_create(
        session=session,
        attendees=[AttendeeSpec(name="Colleague One", email="colleague1@example.org")],
        agency=agency,
        booked_by=booked_by,
        payment_method=PaymentMethod.INVOICE,
        now=BOOKED_AT,
    )


def test_with_the_database_queue_the_email_task_is_written_with_the_booking(
    course: Course, venue: Venue, school: Agency, agency_booker: Any, settings: Any
) -> None:
    settings.TASKS = DATABASE_QUEUE
    _book(course, venue, school, agency_booker)

    # In the booking's transaction (the test's), as its places and emails are: one task sends
    # the emails due now (the reminder waits for the tick).
    (task,) = DBTaskResult.objects.all()
    assert task.task_path == "bookings.tasks.send_emails"
    due = OutgoingEmail.objects.filter(send_after__lte=timezone.now()).values_list("pk", flat=True)
    assert sorted(task.args_kwargs["args"][0]) == sorted(due)
    assert OutgoingEmail.objects.count() > len(due)


def test_with_the_database_queue_a_booking_rolled_back_leaves_no_task_and_sends_nothing(
    course: Course, venue: Venue, school: Agency, agency_booker: Any, settings: Any
) -> None:
    settings.TASKS = DATABASE_QUEUE
    with pytest.raises(Abandoned), transaction.atomic():
        _book(course, venue, school, agency_booker)
        assert DBTaskResult.objects.count() == 1  # in the transaction, unseen by the workers
        raise Abandoned

    assert not Booking.objects.exists()
    assert not OutgoingEmail.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_any_other_queue_is_handed_the_task_only_once_the_booking_commits(
    course: Course,
    venue: Venue,
    school: Agency,
    agency_booker: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _book(course, venue, school, agency_booker)
    assert default_task_backend.results == []  # type: ignore[attr-defined]

    for callback in callbacks:
        callback()
    assert [result.task.name for result in default_task_backend.results] == [  # type: ignore[attr-defined]
        "send_emails"
    ]


def _row_values(task: DBTaskResult[Any, Any]) -> dict[str, Any]:
    values = {
        field.attname: getattr(task, field.attname)
        for field in DBTaskResult._meta.concrete_fields
        if field.attname not in ("id", "enqueued_at")
    }
    return values


@pytest.mark.parametrize("deferred", [False, True])
def test_the_plain_queue_writes_the_row_the_library_would(settings: Any, deferred: bool) -> None:
    """Field for field what django-tasks-db's own ``create`` writes, read back by the queue
    itself as ready to run (or waiting for its time) and as the same task result."""
    from bookings.tasks import send_emails

    written = {}
    run_after = timezone.now() - dt.timedelta(minutes=5)
    for name, queue in (("plain", DATABASE_QUEUE), ("library", LIBRARY_QUEUE)):
        settings.TASKS = queue
        task = send_emails.using(run_after=run_after) if deferred else send_emails
        result = task.enqueue([1, 2])
        row = DBTaskResult.objects.get(pk=result.id)
        written[name] = _row_values(row)
        assert row.enqueued_at is not None
        assert task.get_result(result.id).args == [[1, 2]]
    assert written["plain"] == written["library"]
    settings.TASKS = DATABASE_QUEUE
    # Ready to run at once, or (deferred) once its time has come, which has.
    assert DBTaskResult.objects.ready().count() == 2
