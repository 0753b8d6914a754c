"""A cached page's frame, rendered once per kind of viewer, reads to the byte as the page
rendered whole, for every kind of viewer and for two people of one kind; a waiting message
shows once; a changed setting is shown at once."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpRequest
from django.shortcuts import render
from django.test import Client, RequestFactory, override_settings
from django.utils.safestring import mark_safe

from bookings.places.frame import framed
from tests.conftest import PASSWORD
from training.models import Trainer

pytestmark = pytest.mark.django_db

TEMPLATE = "bookings/catalogue_page.html"


def request_of(user: Any) -> HttpRequest:
    request = RequestFactory().get("/", {"kind": "course"})
    request.user = user
    request._messages = CookieStorage(request)  # type: ignore[attr-defined]
    return request


def whole(user: Any, body: str) -> bytes:
    return render(request_of(user), TEMPLATE, {"body": mark_safe(body)}).content


def test_every_kind_of_viewer_gets_the_page_as_rendered_whole(
    practitioner: Any,
    agency_booker: Any,
    other_agency_booker: Any,
    training_admin: Any,
    community_member: Any,
) -> None:
    Trainer.objects.create(name="Tom Trainer", user=practitioner)
    viewers = [
        AnonymousUser(),
        practitioner,
        agency_booker,
        other_agency_booker,  # the same kind as agency_booker: served the frame made for them
        training_admin,
        community_member,
    ]
    for n, viewer in enumerate(viewers):
        for body in (f"<p>first {n}</p>", f"<p>second & {n}</p>"):
            served = framed(request_of(viewer), TEMPLATE, body)
            assert served.status_code == 200
            assert served["Content-Type"] == "text/html; charset=utf-8"
            assert served.content == whole(viewer, body), viewer
    assert b"Sign in" in whole(AnonymousUser(), "")
    assert b"Manage bookings" in whole(training_admin, "")


def test_a_waiting_message_shows_once(agency_booker: Any) -> None:
    request = request_of(agency_booker)
    messages.info(request, "Your booking is cancelled.")
    first = framed(request, TEMPLATE, "<p>body</p>")
    assert b"Your booking is cancelled." in first.content
    assert first.content.count(b"<p>body</p>") == 1
    request._messages.update(first)  # type: ignore[attr-defined]
    again = framed(request_of(agency_booker), TEMPLATE, "<p>body</p>")
    assert b"Your booking is cancelled." not in again.content


def test_the_catalogue_from_the_cache_shows_a_changed_unit_name(
    agency_booker: Any,
) -> None:
    client = Client()
    assert client.login(username=agency_booker.username, password=PASSWORD)
    client.get("/")
    with override_settings(UNIT_NAME="Exmoor Safeguarding Training"):
        assert "Exmoor Safeguarding Training" in client.get("/").content.decode()
    assert "Exmoor" not in client.get("/").content.decode()
