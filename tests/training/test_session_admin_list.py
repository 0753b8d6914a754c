"""The admin's session list opens on what is coming, soonest first."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from tests.conftest import make_session
from training.models import Course, Venue

pytestmark = pytest.mark.django_db


def test_the_session_list_opens_on_upcoming_sessions_soonest_first_and_past_on_request(
    client: Any, course: Course, venue: Venue, training_admin: Any
) -> None:
    now = timezone.now()
    old = make_session(course, venue, starts_at=now - dt.timedelta(days=3650))
    later = make_session(course, venue, starts_at=now + dt.timedelta(days=60))
    soon = make_session(course, venue, starts_at=now + dt.timedelta(days=2))
    client.force_login(training_admin)
    response = client.get("/admin/training/session/")
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [soon, later]
    past = client.get("/admin/training/session/?when=past")
    assert list(past.context["cl"].result_list) == [old]
    every = client.get("/admin/training/session/?when=all")
    assert list(every.context["cl"].result_list) == [later, soon, old]
