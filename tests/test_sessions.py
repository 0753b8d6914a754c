"""The session store: a signed-in person's session read back in one statement, an expired or
unknown one never."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from config.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_a_stored_session_is_read_back_in_one_statement() -> None:
    stored = SessionStore()
    stored["colour"] = "green"
    stored.create()

    with CaptureQueriesContext(connection) as queries:
        loaded = SessionStore(stored.session_key)
        assert loaded["colour"] == "green"
    assert len(queries) == 1
    assert loaded.session_key == stored.session_key


def test_an_expired_or_unknown_session_starts_afresh() -> None:
    stored = SessionStore()
    stored["colour"] = "green"
    stored.create()
    Session.objects.filter(session_key=stored.session_key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )

    for key in (stored.session_key, "no-such-session-key-at-all", "short"):
        loaded = SessionStore(key)
        assert "colour" not in loaded
        assert loaded.session_key is None


def test_a_signed_in_person_stays_signed_in_and_signing_out_ends_it(
    client: Any, practitioner: Any
) -> None:
    client.force_login(practitioner)
    assert client.get(reverse("bookings:my_bookings")).status_code == 200
    key = client.session.session_key

    client.post(reverse("account_logout"))

    assert not Session.objects.filter(session_key=key).exists()
    assert client.get(reverse("bookings:my_bookings")).status_code == 302
