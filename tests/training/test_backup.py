"""A backup of the demo, restored into a new database, gives every report and count back equal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from evaluation.reports.attendance import attendance_by_sector
from evaluation.reports.impact import evaluation_and_impact
from evaluation.reports.income import income_and_cost_recovery
from evaluation.reports.periods import Period
from evaluation.reports.summary import year_summary
from tests.conftest import require_tool
from training.dates import financial_year_bounds
from training.models import CourseKind

ROOT = Path(__file__).resolve().parents[2]

# Transactional: the demo is committed, so the backup (its own connection, or pg_dump) sees it.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def snapshot() -> dict[str, Any]:
    """Every report for 2016/17 and this year, and the rows of every table, as plain text."""
    this_year = financial_year_bounds(timezone.localdate())[0].year
    reports: dict[str, str] = {}
    for year in (2016, this_year):
        period = Period.financial_year(year)
        for kind in CourseKind.values:
            reports[f"attendance {kind} {year}"] = repr(attendance_by_sector(period, kind))
        reports[f"income {year}"] = repr(income_and_cost_recovery(period))
        reports[f"impact {year}"] = repr(evaluation_and_impact(period))
        reports[f"summary {year}"] = repr(year_summary(period))
    counts = {model._meta.label: model.objects.count() for model in apps.get_models()}
    return {"reports": reports, "counts": counts}


def snapshot_json() -> str:
    return json.dumps(snapshot(), sort_keys=True)


def in_database(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env["DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def fresh_database(tmp_path: Path) -> tuple[str, Any]:
    """A new, empty database of the same engine: its URL and how to remove it."""
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{tmp_path / 'restored.sqlite3'}", lambda: None
    if not list(Path("/usr/lib/postgresql").glob("*/bin/pg_restore")):
        require_tool("pg_restore")
    name = f"restored_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    host, port = settings_dict["HOST"] or "127.0.0.1", settings_dict["PORT"] or 5432
    user = settings_dict["USER"] or "postgres"
    password = f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else ""

    def drop() -> None:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"postgres://{user}{password}@{host}:{port}/{name}", drop


def test_the_demo_backed_up_and_restored_into_a_new_database_has_every_report_and_row(
    tmp_path: Path,
) -> None:
    call_command("demo", quiet_logins=True, verbosity=0)
    before = snapshot()
    assert before["counts"]["bookings.Booking"] > 1000  # the demo really is there
    assert "Working Together" in before["reports"]["attendance course 2016"]  # real reports
    assert "Decimal(" in before["reports"]["income 2016"]
    backup = tmp_path / "demo.backup"

    call_command("backup", output=str(backup))

    url, drop = fresh_database(tmp_path)
    try:
        restored = in_database(url, "restore", str(backup))
        assert restored.returncode == 0, restored.stderr
        read = in_database(
            url,
            "shell",
            "-c",
            "from tests.training.test_backup import snapshot_json; print(snapshot_json())",
        )
        assert read.returncode == 0, read.stderr
        after = json.loads(read.stdout.strip().splitlines()[-1])
        assert after["counts"] == before["counts"]
        assert after["reports"] == before["reports"]

        # A second restore over it is refused: a restore never overwrites data.
        again = in_database(url, "restore", str(backup))
        assert again.returncode != 0 and "not empty" in again.stderr
    finally:
        drop()


def test_a_backup_never_overwrites_a_file(tmp_path: Path) -> None:
    existing = tmp_path / "already-here"
    existing.write_text("keep me")
    with pytest.raises(CommandError, match="exists already"):
        call_command("backup", output=str(existing))
    assert existing.read_text() == "keep me"
