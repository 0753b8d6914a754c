"""Rate limits on the pages that take tokens or guesses: survey links, waiting-list claims,
certificate checks and booking; a limited request gets a clear 429 page."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.urls import reverse

from bookings import ratelimit
from tests.conftest import make_session
from tests.evaluation.helpers import aware
from training.models import Course, Venue

pytestmark = pytest.mark.django_db

# The limits count in fixed windows of the wall clock: a test that happened to run across a
# window's end (it did, at 12:00:00) would see its count start again. Each test runs in the
# middle of one window instead.
MID_WINDOW = 1_800_000_030.0


@pytest.fixture(autouse=True)
def one_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: MID_WINDOW))


def guesses(client: Any, url: str, times: int, **extra: Any) -> list[int]:
    return [client.get(url, **extra).status_code for _ in range(times)]


def test_guessing_survey_links_is_stopped_after_thirty_a_minute(client: Any) -> None:
    url = reverse("evaluation:survey", args=["not-a-real-token"])

    statuses = guesses(client, url, 31)

    assert set(statuses[:30]) == {404}
    assert statuses[30] == 429
    response = client.get(url)
    text = response.content.decode()
    assert "Too many tries" in text and "try again" in text
    assert int(response["Retry-After"]) <= 60


def test_certificate_checks_are_limited_per_address_not_for_everyone(client: Any) -> None:
    url = reverse("attendance:certificate_verify", args=["NOSUCHCODE"])
    assert guesses(client, url, 31)[-1] == 429

    assert client.get(url, REMOTE_ADDR="203.0.113.7").status_code != 429


def test_behind_a_trusted_proxy_the_forwarded_address_counts(client: Any, settings: Any) -> None:
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    url = reverse("attendance:certificate_verify", args=["NOSUCHCODE"])
    for _ in range(30):
        client.get(url, HTTP_X_FORWARDED_FOR="198.51.100.1")

    assert client.get(url, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429
    assert client.get(url, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code != 429


def test_waiting_list_claims_are_limited_per_account(client: Any, practitioner: Any) -> None:
    client.force_login(practitioner)
    url = reverse("bookings:waitlist_claim", args=["guessed-token"])

    statuses = [client.get(url, REMOTE_ADDR=f"192.0.2.{n}").status_code for n in range(11)]

    assert 429 not in statuses[:10]
    assert statuses[10] == 429


def test_booking_posts_are_limited_but_looking_is_not(
    client: Any, practitioner: Any, course: Course, venue: Venue
) -> None:
    session = make_session(course, venue, starts_at=aware(2030, 3, 10, 9, 30))
    client.force_login(practitioner)
    url = reverse("bookings:book", args=[session.pk])

    posts = [client.post(url, {}).status_code for _ in range(16)]

    assert 429 not in posts[:15] and posts[15] == 429
    assert client.get(url).status_code != 429


def test_a_unit_can_raise_the_booking_limit_without_a_release(
    client: Any, practitioner: Any, course: Course, venue: Venue, settings: Any
) -> None:
    # Launch day behind one council address: the unit raises the per-address limit in its
    # settings (BOOKING_POSTS_PER_ADDRESS_PER_MINUTE), and the per-account one still holds.
    settings.BOOKING_POSTS_PER_ADDRESS_PER_MINUTE = 100
    settings.BOOKING_POSTS_PER_ACCOUNT_PER_MINUTE = 40
    session = make_session(course, venue, starts_at=aware(2030, 3, 10, 9, 30))
    client.force_login(practitioner)
    url = reverse("bookings:book", args=[session.pk])

    posts = [client.post(url, {}).status_code for _ in range(41)]

    assert 429 not in posts[:40] and posts[40] == 429
