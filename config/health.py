"""The health endpoint: is this instance fit to take requests, and is background work flowing?

``GET /health/`` needs no login and says nothing about anyone: a load balancer or a monitor
reads it. 200 when every check passes, 503 when one fails, with a small JSON body:

    {"status": "ok", "database": "ok", "migrations": "ok",
     "oldest_unsent_email_seconds": 0, "oldest_queued_task_seconds": 0}

- the database answers a query;
- no migration is waiting to be applied (checked until it is true once: a running process's
  code does not change, so once applied they stay applied for its life);
- the oldest email that is due but unsent, and the oldest task waiting for a worker, are
  younger than ``HEALTH_MAX_EMAIL_AGE_SECONDS`` and ``HEALTH_MAX_TASK_AGE_SECONDS``: older
  means the workers or the mail server are down.

A load balancer should probe ``/health/?scope=web``: the database and migrations only, so a
mail outage (which the queues show) does not take every web server out of rotation.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Min
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_tasks_db.models import DBTaskResult, get_date_max

from bookings.models import OutgoingEmail

_migrations_applied = False


def migrations_pending() -> int:
    """How many migrations the code has that the database has not applied."""
    global _migrations_applied
    if _migrations_applied:
        return 0
    executor = MigrationExecutor(connection)
    pending = len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    _migrations_applied = pending == 0
    return pending


def _age(since: dt.datetime | None, now: dt.datetime) -> int | None:
    return None if since is None else max(0, int((now - since).total_seconds()))


def oldest_unsent_email_age(now: dt.datetime) -> int | None:
    oldest = OutgoingEmail.objects.filter(sent_at=None, send_after__lte=now).aggregate(
        oldest=Min("send_after")
    )["oldest"]
    return _age(oldest, now)


def oldest_queued_task_age(now: dt.datetime) -> int | None:
    task = DBTaskResult.objects.ready().order_by("enqueued_at").first()
    if task is None:
        return None
    # A task deferred to later has been waiting since it became due, not since it was queued.
    since = task.enqueued_at if task.run_after == get_date_max() else task.run_after
    return _age(max(task.enqueued_at, since), now)


def health_report(now: dt.datetime, *, queues: bool = True) -> tuple[bool, dict[str, Any]]:
    body: dict[str, Any] = {"status": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        body["database"] = "ok"
        pending = migrations_pending()
        body["migrations"] = "ok" if not pending else f"{pending} unapplied"
        email_age = task_age = None
        if queues:
            body["oldest_unsent_email_seconds"] = email_age = oldest_unsent_email_age(now)
            body["oldest_queued_task_seconds"] = task_age = oldest_queued_task_age(now)
    except DatabaseError:
        body.update(status="failing", database="unreachable")
        return False, body
    healthy = (
        not pending
        and (email_age or 0) <= settings.HEALTH_MAX_EMAIL_AGE_SECONDS
        and (task_age or 0) <= settings.HEALTH_MAX_TASK_AGE_SECONDS
    )
    if not healthy:
        body["status"] = "failing"
    return healthy, body


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    healthy, body = health_report(timezone.now(), queues=request.GET.get("scope") != "web")
    return JsonResponse(body, status=200 if healthy else 503)
