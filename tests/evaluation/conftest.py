from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import make_session
from tests.evaluation.helpers import Clock, aware
from training.apps import grant_administrator_permissions
from training.models import Course, Session, Venue


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin_permissions(db: Any) -> None:
    """Give the training administrator group every model permission, as migrate does."""

    grant_administrator_permissions(sender=None)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Frozen at Monday 2 June 2025, 10:00 London; tests move it on."""
    frozen = Clock(aware(2025, 6, 2, 10))
    monkeypatch.setattr("django.utils.timezone.now", frozen)
    return frozen


@pytest.fixture
def outcomes_course(course: Course) -> Course:
    """Working Together with two learning outcomes."""
    course.outcomes.create(text="Share information safely and lawfully", order=1)
    return course


@pytest.fixture
def march_session(outcomes_course: Course, venue: Venue) -> Session:
    """A session on Monday 3 March 2025: its 12-week follow-up falls due on 26 May 2025."""
    return make_session(outcomes_course, venue, starts_at=aware(2025, 3, 3, 9, 30))
