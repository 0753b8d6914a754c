"""Bad input is a 4xx with a message, never a 500, on SQLite and PostgreSQL alike.

PostgreSQL refuses NUL in text, so these are the requests that used to reach the database and
come back as server errors there: NUL in URL tokens, query strings and form fields;
signed Stripe events whose body is not the shape Stripe sends; the admin's date filters and
exports past the calendar's ends. Each client here surfaces a server error as a 500 response
(``raise_request_exception=False``), as a browser would see it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from bookings.models import WebhookEvent
from bookings.money.gateways import sign_payload

pytestmark = pytest.mark.django_db

SECRET = "whsec_test_bad_input_0123456789"


def browser(user: Any = None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


# --- NUL and control characters in URLs and forms -------------------------------------------------

TOKEN_URLS = [
    "/survey/%00/",
    "/survey/%00/thanks/",
    "/survey/%00/opt-out/",
    "/waiting-list/claim/%00/",
    "/certificates/%00/",
    "/orders/%00/",
    "/orders/%00/status.json",
    "/invoices/%00.pdf",
    "/payments/dev/%00/",
    "/orders/ABC%01DEF/",  # any control character: no address of the site holds one
]


@pytest.mark.parametrize("url", TOKEN_URLS)
def test_a_nul_in_a_url_token_is_a_400_with_a_message(url: str, practitioner: Any) -> None:
    for client in (browser(), browser(practitioner)):
        response = client.get(url)
        assert response.status_code == 400, url
        assert "not allowed" in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/?kind=%00",
        "/manage/bookings/?session=%00",
        "/admin/training/session/?status__exact=%00",
        "/admin/bookings/booking/?status__exact=%00",
        "/admin/bookings/payment/?q=%00",
    ],
)
def test_a_nul_in_the_query_string_is_a_400(url: str, training_admin: Any) -> None:
    response = browser(training_admin).get(url)
    assert response.status_code == 400
    assert "not allowed (a null character)" in response.content.decode()


def test_a_nul_in_a_posted_form_field_is_a_400_and_nothing_is_done(practitioner: Any) -> None:
    client = browser()
    response = client.post(
        reverse("account_login"), {"login": "teacher@example.org\x00", "password": "x"}
    )
    assert response.status_code == 400
    assert "The form contains a character that is not allowed" in response.content.decode()
    assert client.session.get("_auth_user_id") is None


# --- Stripe events correctly signed, with a body of the wrong shape ------------------------------


def event(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "evt_bad_input_1",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {"object": {"id": "cs_test_1", "object": "checkout.session"}},
    }
    body.update(overrides)
    return body


MALFORMED_BODIES = {
    "not JSON": b"this is not json",
    "not UTF-8": b'{"id": "evt_\xff"}',
    "a JSON list": b"[]",
    "a JSON string": b'"checkout.session.completed"',
    "no type": json.dumps({"id": "evt_1", "data": {}}).encode(),
    "no id": json.dumps({"type": "checkout.session.completed"}).encode(),
    "an id that is a number": json.dumps(event(id=42)).encode(),
    "no data": json.dumps(event(data=None)).encode(),
    "data without object": json.dumps(event(data={})).encode(),
    "data.object a string": json.dumps(event(data={"object": "cs_test_1"})).encode(),
    "data.object without id": json.dumps(event(data={"object": {"object": "x"}})).encode(),
    "checkout id a list": json.dumps(event(data={"object": {"id": ["cs"]}})).encode(),
    "payment_intent an object": json.dumps(
        event(data={"object": {"id": "cs_1", "payment_status": "paid", "payment_intent": {}}})
    ).encode(),
    "a NUL in a string": json.dumps(event(data={"object": {"id": "cs_\x00"}})).encode(),
}


@pytest.mark.parametrize("body", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
def test_a_signed_webhook_with_a_malformed_body_is_logged_and_answered_400(
    body: bytes, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    with caplog.at_level(logging.WARNING, logger="bookings.money.views"):
        response = browser().post(
            reverse("bookings:stripe_webhook"),
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=sign_payload(body, SECRET),
        )
    assert response.status_code == 400
    assert any("Webhook rejected" in record.getMessage() for record in caplog.records)
    assert not WebhookEvent.objects.exists()


def test_a_garbled_signature_header_is_answered_400(settings: Any) -> None:
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    response = browser().post(
        reverse("bookings:stripe_webhook"),
        data=json.dumps(event()).encode(),
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE="t=notanumber,v1=",
    )
    assert response.status_code == 400


# --- the admin's date filters and exports past the calendar's ends -------------------------------

ADMIN_EXTREME_DATES = [
    "/admin/training/session/?starts_at__year=9999",
    "/admin/training/session/?starts_at__year=9999&starts_at__month=12",
    "/admin/training/session/?starts_at__year=9999&starts_at__month=12&starts_at__day=31",
    "/admin/bookings/booking/?session__starts_at__year=9999&session__starts_at__month=12",
    "/admin/bookings/order/?created_at__year=9999&created_at__month=12",
    "/admin/bookings/payment/?created_at__year=9999&created_at__month=12&created_at__day=31",
    "/admin/bookings/refund/?created_at__year=9999&created_at__month=12",
    "/admin/bookings/invoice/?issued_on__year=9999&issued_on__month=12",
    "/admin/bookings/webhookevent/?received_at__year=9999&received_at__month=12",
    "/admin/bookings/outgoingemail/?send_after__year=9999&send_after__month=12",
    "/admin/bookings/auditentry/?at__year=9999&at__month=12",
    "/admin/bookings/nonattendancecharge/?created_at__year=9999&created_at__month=12",
]
ADMIN_EXPORTS = [
    "/admin/bookings/invoice/export/?issued_on__year=99999",
    "/admin/bookings/invoice/export/?issued_on__year=0",
    "/admin/bookings/invoice/export/?issued_on__year=9999&issued_on__month=12",
    "/admin/bookings/invoice/export/?issued_on__lt=10000-01-01",
    "/admin/bookings/invoice/export/?due_on__gte=0001-01-01+00:00:00%2B00:00",
    "/admin/training/session/export/?starts_at__year=99999",
    "/admin/training/session/export/?starts_at__year=9999&starts_at__month=12&starts_at__day=31",
    "/admin/training/agency/export/?sector__gte=0001-01-01",
    "/admin/training/course/export/?is_active__lt=10000-01-01",
]


@pytest.mark.parametrize("url", ADMIN_EXTREME_DATES)
def test_an_admin_list_filtered_past_the_calendar_says_so_instead_of_failing(
    url: str, training_admin: Any
) -> None:
    response = browser(training_admin).get(url)
    # The admin's own answer to a filter it cannot apply: back to the list, flagged ?e=1.
    assert response.status_code == 302
    assert response.url.endswith("?e=1")


@pytest.mark.parametrize("url", ADMIN_EXPORTS)
def test_an_admin_export_filtered_past_the_calendar_says_so_instead_of_failing(
    url: str, training_admin: Any
) -> None:
    client = browser(training_admin)
    response = client.get(url)
    assert response.status_code == 302
    changelist = url.split("export/")[0]
    assert response.url == changelist
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert "nothing was exported" in message


# --- evaluation's report pages and admin ------------------------------------------------------

REPORT_PAGES_OUT_OF_RANGE = [
    "/reports/attendance-by-sector/?start=0001-01-01&end=0001-01-31",
    "/reports/attendance-by-sector/?start=9999-12-01&end=9999-12-31",
    "/reports/year-summary/?start=0001-01-01&end=9999-12-31",
    "/reports/income/?start=0001-01-01&end=0001-01-31",
    "/reports/income/?start=9999-12-01&end=9999-12-31",
    "/reports/evaluation-and-impact/?start=0001-01-01&end=0001-01-31",
    "/reports/evaluation-and-impact/?start=9999-12-01&end=9999-12-31",
]
REPORT_EXPORTS_OUT_OF_RANGE = [
    "/reports/attendance-by-sector/?start=9999-01-01&end=9999-12-31&format=csv",
    "/reports/year-summary/?start=0001-01-01&end=0001-01-31&format=xlsx",
    "/reports/income/?start=1999-12-31&end=2000-01-31&format=csv",
    "/reports/evaluation-and-impact/?start=2016-04-01&end=2101-01-01&format=xlsx",
]
EVALUATION_ADMIN_EXTREME_DATES = [
    "/admin/evaluation/invitation/?send_after__year=9999&send_after__month=12",
    "/admin/evaluation/response/?submitted_at__year=9999&submitted_at__month=12&submitted_at__day=31",
]


@pytest.mark.parametrize("url", REPORT_PAGES_OUT_OF_RANGE)
def test_a_report_asked_for_dates_outside_2000_to_2100_says_so_beside_the_dates(
    url: str, training_admin: Any
) -> None:
    response = browser(training_admin).get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Enter a date from 1 January 2000 to 31 December 2100." in page
    assert "There is a problem" in page


@pytest.mark.parametrize("url", REPORT_EXPORTS_OUT_OF_RANGE)
def test_a_report_download_for_dates_outside_2000_to_2100_is_a_400_that_says_why(
    url: str, training_admin: Any
) -> None:
    response = browser(training_admin).get(url)
    assert response.status_code == 400
    text = response.content.decode()
    assert "Nothing was downloaded" in text
    assert "Enter a date from 1 January 2000 to 31 December 2100." in text


def test_a_report_for_the_last_days_of_the_range_still_answers(training_admin: Any) -> None:
    response = browser(training_admin).get(
        "/reports/income/?start=2100-12-01&end=2100-12-31&format=csv"
    )
    assert response.status_code == 200


@pytest.mark.parametrize("url", EVALUATION_ADMIN_EXTREME_DATES)
def test_an_evaluation_admin_list_filtered_past_the_calendar_says_so_instead_of_failing(
    url: str, training_admin: Any
) -> None:
    response = browser(training_admin).get(url)
    assert response.status_code == 302
    assert response.url.endswith("?e=1")
