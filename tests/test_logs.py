"""Logs carry the request id, user, path, status and duration, and never a secret."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from config.logs import JsonFormatter, RequestContextFilter, mask_secrets
from tests.conftest import PASSWORD
from tests.test_settings import GOOD_KEY, INVOICE_ENV, run_manage

pytestmark = pytest.mark.django_db


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.addFilter(RequestContextFilter())
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def objects(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def json_lines() -> Iterator[Lines]:
    handler = Lines()
    root = logging.getLogger()
    requests = logging.getLogger("config.requests")
    level = requests.level
    requests.setLevel(logging.INFO)
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        requests.setLevel(level)


def test_each_request_is_one_json_line_with_its_id_user_path_status_and_duration(
    client: Client, practitioner: Any, json_lines: Lines
) -> None:
    client.force_login(practitioner)

    response = client.get("/my-bookings/?page=1", HTTP_X_REQUEST_ID="proxy-given-id-123")

    assert response.status_code == 200
    assert response["X-Request-ID"] == "proxy-given-id-123"
    [line] = [o for o in json_lines.objects() if o["logger"] == "config.requests"]
    assert line["request_id"] == "proxy-given-id-123"
    assert line["user_id"] == practitioner.pk
    assert line["path"] == "/my-bookings/"  # never the query string
    assert line["status"] == 200 and line["method"] == "GET"
    assert isinstance(line["duration_ms"], float)
    assert line["level"] == "INFO" and "time" in line and line["message"]


def test_a_request_id_that_is_not_sensible_is_replaced(client: Client) -> None:
    response = client.get("/health/", HTTP_X_REQUEST_ID="bad id\nwith a newline")
    assert response["X-Request-ID"] != "bad id\nwith a newline"
    assert len(response["X-Request-ID"]) == 32


def test_a_personal_link_is_logged_without_its_token(client: Client, json_lines: Lines) -> None:
    response = client.get("/survey/secret-survey-token-abc/")

    assert response.status_code == 404
    assert "secret-survey-token-abc" not in "\n".join(json_lines.lines)
    paths = {o.get("path") for o in json_lines.objects()}
    assert "/survey/[redacted]/" in paths


def test_a_password_typed_at_sign_in_is_never_logged(
    client: Client, practitioner: Any, json_lines: Lines, caplog: Any
) -> None:
    with caplog.at_level(logging.DEBUG):
        client.post("/accounts/login/", {"login": practitioner.email, "password": PASSWORD})
        client.post("/accounts/login/", {"login": practitioner.email, "password": "wrong-one-1"})

    assert PASSWORD not in "\n".join(json_lines.lines)
    assert "wrong-one-1" not in "\n".join(json_lines.lines)


def test_secrets_in_a_message_are_masked() -> None:
    masked = mask_secrets(
        "card 4242 4242 4242 4242 key sk_live_abc123 whsec_xyz password='hunter2'"
    )
    assert "4242" not in masked and "sk_live_abc123" not in masked
    assert "whsec_xyz" not in masked and "hunter2" not in masked


def test_production_logs_json_and_development_logs_text() -> None:
    show = ("shell", "-c", "from django.conf import settings; print(settings.LOG_FORMAT)")
    production = run_manage(
        *show,
        env={
            "DJANGO_ENV": "production",
            "SECRET_KEY": GOOD_KEY,
            "ALLOWED_HOSTS": "training.example.org",
            "STRIPE_SECRET_KEY": "sk_test_placeholder",
            "STRIPE_WEBHOOK_SECRET": "whsec_placeholder",
            "SMTP_HOST": "smtp.example.org",
            **INVOICE_ENV,
        },
    )
    assert production.stdout.split()[-1] == "json", production.stderr
    assert run_manage(*show, env={}).stdout.split()[-1] == "text"
