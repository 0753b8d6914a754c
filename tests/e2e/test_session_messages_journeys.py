"""'Practitioners told us' in a browser: the administrator records a MAPIG session's
messages from its session page, a trainer from the register on her phone."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from evaluation.models import SessionMessage
from tests.conftest import PASSWORD, make_person, make_session
from tests.e2e.conftest import assert_accessible, log_in, screenshot
from training.apps import grant_administrator_permissions
from training.models import Course, CourseKind, Session, Trainer, Venue

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def reference_data(transactional_db: None) -> None:
    importlib.import_module("training.migrations.0002_sectors_bands_roles").seed(django_apps, None)
    grant_administrator_permissions(sender=None)
    cache.clear()


@pytest.fixture
def mapig(venue: Venue) -> Session:
    course = Course.objects.create(title="MAPIG: Think Family", kind=CourseKind.MAPIG)
    day = timezone.localdate() - dt.timedelta(days=2)
    return make_session(
        course, venue, starts_at=timezone.make_aware(dt.datetime(day.year, day.month, day.day, 9))
    )


def test_the_administrator_records_changes_and_deletes_messages_from_the_session_page(
    page: Any, mapig: Session, training_admin: Any
) -> None:
    log_in(page, training_admin.email, PASSWORD)
    page.goto(f"/manage/sessions/{mapig.pk}/")
    expect(page.get_by_test_id("messages-link")).to_have_text("Practitioners told us (0)")
    page.get_by_test_id("messages-link").click()
    expect(page.get_by_test_id("no-messages")).to_be_visible()
    page.get_by_role("button", name="Save the message").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Write what practitioners")
    field = page.get_by_label("What practitioners told you")
    field.fill("Think about everyone in the household, not only the child.")
    page.get_by_role("button", name="Save the message").click()
    field.fill("Ask who else lives at home.")
    page.get_by_role("button", name="Save the message").click()
    expect(page.get_by_test_id("session-message")).to_have_count(2)
    assert_accessible(page, "practitioners told us")
    screenshot(page, "session-messages-admin")

    page.get_by_role("link", name="Change message 2").click()
    page.get_by_label("What practitioners told you").fill("Ask who else lives in the house.")
    screenshot(page, "session-message-change")
    page.get_by_role("button", name="Save the change").click()
    expect(page.get_by_text("Message changed.")).to_be_visible()
    expect(page.get_by_test_id("session-messages")).to_contain_text("lives in the house")
    page.get_by_role("button", name="Delete message 1").click()
    expect(page.get_by_test_id("session-message")).to_have_count(1)
    assert list(SessionMessage.objects.values_list("text", flat=True)) == [
        "Ask who else lives in the house."
    ]
    page.get_by_role("link", name="The session page").click()
    expect(page.get_by_test_id("messages-link")).to_have_text("Practitioners told us (1)")


def test_the_sessions_trainer_records_a_message_from_the_register_on_her_phone(
    phone_page: Any, mapig: Session
) -> None:
    page = phone_page
    trainer = make_person("tess@trainers.example", agency=None, roles=())
    mapig.trainers.add(Trainer.objects.create(name="Tess Trainer", user=trainer))
    log_in(page, trainer.email, PASSWORD)
    page.goto(f"/registers/{mapig.pk}/")
    page.get_by_test_id("messages-link").click()
    page.get_by_label("What practitioners told you").fill("Young carers are easily missed.")
    page.get_by_role("button", name="Save the message").click()
    expect(page.get_by_test_id("session-messages")).to_contain_text("Young carers")
    assert_accessible(page, "practitioners told us (phone)")
    screenshot(page, "session-messages-trainer-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert SessionMessage.objects.get().recorded_by == trainer

    # A trainer of another session cannot open this one's messages.
    other = make_person("owen@trainers.example", agency=None, roles=())
    page.context.clear_cookies()
    log_in(page, other.email, PASSWORD)
    assert page.request.get(f"/reports/sessions/{mapig.pk}/messages/").status == 404
