"""Errors are the unit's own pages: its header, a way back, and never a stack trace."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _production_like(settings: Any) -> None:
    settings.DEBUG = False
    settings.ROOT_URLCONF = "tests.error_urls"


def assert_branded(response: Any, status: int, heading: str) -> str:
    page = response.content.decode()
    assert response.status_code == status
    assert settings.UNIT_NAME in page  # the unit's header
    assert heading in page
    assert 'href="/"' in page  # a way back to the courses
    assert "Traceback" not in page and "sk_live" not in page and 'File "' not in page
    return page


def test_an_unknown_page_is_the_units_404(client: Client) -> None:
    assert_branded(client.get("/no-such-page/"), 404, "Page not found")


def test_a_page_for_another_role_is_the_units_403(client: Client, practitioner: Any) -> None:
    client.force_login(practitioner)
    page = assert_branded(
        client.get(reverse("evaluation:call_list")), 403, "You cannot see this page"
    )
    assert "Sign out" in page  # rendered for the signed-in person


def test_a_form_without_its_csrf_token_is_the_units_csrf_page(practitioner: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"login": practitioner.email, "password": "x"})
    assert_branded(response, 403, "we could not accept that form")


def test_a_bug_is_the_units_500_with_a_reference_to_quote() -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/broken/")
    page = assert_branded(response, 500, "there is a problem with the service")
    assert response["X-Request-ID"] in page


def test_a_database_that_cannot_be_reached_is_a_503_to_try_again() -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/database-down/")
    assert_branded(response, 503, "busy for a moment")
    assert response["Retry-After"] == "30"
