"""/health/ says whether this instance can serve and whether background work is flowing."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from bookings.models import OutgoingEmail
from config import health

pytestmark = pytest.mark.django_db


def get_health(client: Client, query: str = "") -> tuple[int, dict[str, Any]]:
    response = client.get("/health/" + query)
    assert response["Content-Type"] == "application/json"
    return response.status_code, json.loads(response.content)


def test_a_healthy_instance_answers_200_with_a_small_body_and_no_personal_data(
    client: Client, practitioner: Any
) -> None:
    OutgoingEmail.objects.create(kind="booking_confirmed", to=practitioner.email)

    status, body = get_health(client)

    assert status == 200
    assert body["status"] == "ok"
    assert body["database"] == "ok" and body["migrations"] == "ok"
    assert body["oldest_unsent_email_seconds"] <= 5
    assert practitioner.email not in json.dumps(body)


def test_an_email_waiting_too_long_is_a_503_but_not_for_the_load_balancer(client: Client) -> None:
    late = timezone.now() - dt.timedelta(seconds=settings.HEALTH_MAX_EMAIL_AGE_SECONDS + 60)
    OutgoingEmail.objects.create(
        kind="booking_confirmed", to="someone@example.org", send_after=late
    )
    # An email due later is no sign of trouble.
    OutgoingEmail.objects.create(
        kind="booking_reminder",
        to="later@example.org",
        send_after=timezone.now() + dt.timedelta(days=3),
    )

    status, body = get_health(client)
    assert status == 503
    assert body["status"] == "failing"
    assert body["oldest_unsent_email_seconds"] >= settings.HEALTH_MAX_EMAIL_AGE_SECONDS + 60

    status, body = get_health(client, "?scope=web")
    assert status == 200 and "oldest_unsent_email_seconds" not in body


def test_a_task_no_worker_picked_up_is_a_503(client: Client) -> None:
    task = DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="bookings.tasks.send_emails",
        backend_name="default",
        queue_name="default",
        run_after=get_date_max(),
    )
    status, body = get_health(client)
    assert status == 200 and body["oldest_queued_task_seconds"] <= 5

    old = timezone.now() - dt.timedelta(seconds=settings.HEALTH_MAX_TASK_AGE_SECONDS + 1)
    DBTaskResult.objects.filter(pk=task.pk).update(enqueued_at=old)
    status, body = get_health(client)
    assert status == 503
    assert body["oldest_queued_task_seconds"] > settings.HEALTH_MAX_TASK_AGE_SECONDS


def test_unapplied_migrations_are_a_503(client: Client, monkeypatch: Any) -> None:
    monkeypatch.setattr(health, "_migrations_applied", False)
    monkeypatch.setattr(
        health.MigrationExecutor, "migration_plan", lambda self, targets: [("bookings", False)]
    )

    status, body = get_health(client)

    assert status == 503
    assert body["migrations"] == "1 unapplied"


def test_an_unreachable_database_is_a_503(client: Client, monkeypatch: Any) -> None:
    def down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("connection refused")

    monkeypatch.setattr(health.connection, "cursor", down)

    status, body = get_health(client)

    assert status == 503
    assert body == {"status": "failing", "database": "unreachable"}
