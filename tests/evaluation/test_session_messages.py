"""'Practitioners told us': the administrator and a MAPIG session's trainers record, change
and delete the messages of the day, which the year summary then shows; nobody else can."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings.models import AuditEntry
from evaluation.errors import EvaluationError
from evaluation.models import SessionMessage
from evaluation.reports.services import (
    session_message_add,
    session_message_delete,
    session_message_update,
)
from tests.conftest import make_person, make_session
from training.models import Course, CourseKind, Session, Trainer, Venue
from training.roles import Role

pytestmark = pytest.mark.django_db

DAY = timezone.make_aware(dt.datetime(2016, 10, 4, 9, 30))


@pytest.fixture
def mapig(venue: Venue) -> Session:
    course = Course.objects.create(title="MAPIG: Think Family", kind=CourseKind.MAPIG)
    return make_session(course, venue, starts_at=DAY)


@pytest.fixture
def board_viewer(db: Any) -> Any:
    return make_person("chair@example.org", agency=None, roles=(Role.BOARD_VIEWER,))


@pytest.fixture
def mapig_trainer(mapig: Session) -> Any:
    user = make_person("tess@trainers.example", agency=None, roles=())
    mapig.trainers.add(Trainer.objects.create(name="Tess Trainer", user=user))
    return user


@pytest.fixture
def other_trainer(venue: Venue) -> Any:
    user = make_person("owen@trainers.example", agency=None, roles=())
    course = Course.objects.create(title="MAPIG: Transitions", kind=CourseKind.MAPIG)
    elsewhere = make_session(course, venue, starts_at=DAY + dt.timedelta(days=1))
    elsewhere.trainers.add(Trainer.objects.create(name="Owen Other", user=user))
    return user


def test_messages_are_added_in_order_changed_and_deleted_with_an_audit_trail(
    mapig: Session, training_admin: Any
) -> None:
    first = session_message_add(
        session=mapig, text="  Think about the whole family. ", user=training_admin, now=DAY
    )
    second = session_message_add(
        session=mapig, text="Ask who else is at home.", user=training_admin, now=DAY
    )
    assert (first.text, first.order, second.order) == ("Think about the whole family.", 0, 1)
    session_message_update(message=first, text="Think family.", user=training_admin, now=DAY)
    session_message_delete(message=second, user=training_admin, now=DAY)
    assert list(mapig.messages.values_list("text", flat=True)) == ["Think family."]
    assert list(
        AuditEntry.objects.filter(object_type="evaluation.sessionmessage")
        .order_by("pk")
        .values_list("code", flat=True)
    ) == ["message_recorded", "message_recorded", "message_changed", "message_deleted"]
    with pytest.raises(EvaluationError, match="Write what practitioners told you"):
        session_message_add(session=mapig, text="   ", user=training_admin, now=DAY)


def test_the_sessions_trainer_records_changes_and_deletes_messages_on_the_page(
    client: Any, mapig: Session, mapig_trainer: Any
) -> None:
    client.force_login(mapig_trainer)
    url = reverse("reports:session_messages", args=[mapig.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"text": ""}).status_code == 200  # the error, not a 500
    assert not SessionMessage.objects.exists()
    assert client.post(url, {"text": "Young carers are often missed."}).status_code == 302
    message = SessionMessage.objects.get()
    assert message.recorded_by == mapig_trainer
    edit = reverse("reports:session_message", args=[message.pk])
    assert client.post(edit, {"text": "Young carers are easily missed."}).status_code == 302
    message.refresh_from_db()
    assert message.text == "Young carers are easily missed."
    delete = reverse("reports:session_message_delete", args=[message.pk])
    assert client.get(delete).status_code == 405
    assert client.post(delete).status_code == 302
    assert not SessionMessage.objects.exists()


def test_a_trainer_of_another_session_or_a_practitioner_is_refused(
    client: Any, mapig: Session, other_trainer: Any, practitioner: Any, training_admin: Any
) -> None:
    message = session_message_add(session=mapig, text="Kept.", user=training_admin, now=DAY)
    for outsider in (other_trainer, practitioner):
        client.force_login(outsider)
        assert client.get(reverse("reports:session_messages", args=[mapig.pk])).status_code == 404
        edit = reverse("reports:session_message", args=[message.pk])
        assert client.post(edit, {"text": "Changed"}).status_code == 404
        delete = reverse("reports:session_message_delete", args=[message.pk])
        assert client.post(delete).status_code == 404
    message.refresh_from_db()
    assert message.text == "Kept."


def test_an_ordinary_course_has_no_messages_page(
    client: Any, course: Course, venue: Venue, training_admin: Any
) -> None:
    session = make_session(course, venue, starts_at=DAY)
    client.force_login(training_admin)
    assert client.get(reverse("reports:session_messages", args=[session.pk])).status_code == 404
    page = client.get(reverse("bookings:manage_session", args=[session.pk])).content.decode()
    assert "Practitioners told us" not in page


def test_the_session_page_and_the_register_link_to_the_messages(
    client: Any, mapig: Session, mapig_trainer: Any, training_admin: Any
) -> None:
    url = reverse("reports:session_messages", args=[mapig.pk])
    client.force_login(training_admin)
    assert url in client.get(reverse("bookings:manage_session", args=[mapig.pk])).content.decode()
    client.force_login(mapig_trainer)
    assert url in client.get(reverse("attendance:register", args=[mapig.pk])).content.decode()


def test_messages_recorded_on_the_page_appear_in_the_year_summary(
    client: Any, mapig: Session, training_admin: Any, board_viewer: Any
) -> None:
    client.force_login(training_admin)
    client.post(
        reverse("reports:session_messages", args=[mapig.pk]),
        {"text": "Practitioners want more on neglect."},
    )
    client.force_login(board_viewer)
    page = client.get(reverse("reports:year_summary"), {"year": 2016}).content.decode()
    assert "Practitioners want more on neglect." in page
