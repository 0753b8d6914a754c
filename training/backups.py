"""Backups of the whole database to one file, and their restore into a fresh database.

SQLite: the ``sqlite3`` online backup API, page by page from a connection of its own, so it is
safe while the app runs (it copies what is committed, as one consistent snapshot). PostgreSQL:
``pg_dump`` in its custom format (``-Fc``: compressed, restored with ``pg_restore``), also a
consistent snapshot taken while the app runs. The tools are found on the PATH or under
``/usr/lib/postgresql/<version>/bin`` (the newest, since pg_dump must not be older than the
server).

A restore goes into a database with no tables only: it never overwrites live data.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

SQLITE_HEADER = b"SQLite format 3\x00"
PG_DUMP_HEADER = b"PGDMP"


class BackupError(Exception):
    """What went wrong, in words an administrator can act on."""


def _engine() -> str:
    return connection.vendor  # "sqlite" or "postgresql"


def _postgres_tool(name: str) -> str:
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda path: int(path.split("/")[4]) if path.split("/")[4].isdigit() else 0,
    )
    found = candidates[-1] if candidates else shutil.which(name)
    if not found:
        raise BackupError(f"{name} was not found (install PostgreSQL's client tools).")
    return found


def _postgres_arguments(settings_dict: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    arguments = ["--dbname", settings_dict["NAME"]]
    if settings_dict.get("HOST"):
        arguments += ["--host", settings_dict["HOST"]]
    if settings_dict.get("PORT"):
        arguments += ["--port", str(settings_dict["PORT"])]
    if settings_dict.get("USER"):
        arguments += ["--username", settings_dict["USER"]]
    env = dict(os.environ)
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = settings_dict["PASSWORD"]  # never on the command line
    return arguments, env


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {result.stderr.strip()[-2000:]}")


def backup_default_path(*, now: dt.datetime) -> Path:
    suffix = "sqlite3" if _engine() == "sqlite" else "dump"
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return Path(settings.BASE_DIR) / "var" / "backups" / f"backup-{stamp}.{suffix}"


def database_backup(*, output: Path) -> Path:
    """Write the whole database to ``output`` (which must not exist); returns it."""
    if output.exists():
        raise BackupError(f"{output} exists already: choose another file.")
    output.parent.mkdir(parents=True, exist_ok=True)
    settings_dict = connection.settings_dict
    if _engine() == "sqlite":
        # A connection of its own, read-only: the backup copies committed pages, whatever
        # the app's connections are doing meanwhile.
        source = sqlite3.connect(f"file:{settings_dict['NAME']}?mode=ro", uri=True)
        target = sqlite3.connect(output)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return output
    arguments, env = _postgres_arguments(settings_dict)
    _run([_postgres_tool("pg_dump"), "--format=custom", "--file", str(output), *arguments], env)
    return output


def database_restore(*, source: Path) -> None:
    """Load the backup ``source`` into the configured database, which must have no tables."""
    if not source.is_file():
        raise BackupError(f"No such backup file: {source}")
    with source.open("rb") as file:
        header = file.read(16)
    engine = _engine()
    if engine == "sqlite" and not header.startswith(SQLITE_HEADER):
        raise BackupError(f"{source} is not a SQLite backup; this database is SQLite.")
    if engine == "postgresql" and not header.startswith(PG_DUMP_HEADER):
        raise BackupError(f"{source} is not a pg_dump backup; this database is PostgreSQL.")
    tables = connection.introspection.table_names()
    if tables:
        raise BackupError(
            f"The database {connection.settings_dict['NAME']} is not empty ({len(tables)} "
            "tables): restore into a new, empty database."
        )
    settings_dict = connection.settings_dict
    if engine == "sqlite":
        connection.close()
        backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        target = sqlite3.connect(settings_dict["NAME"])
        try:
            backup.backup(target)
        finally:
            target.close()
            backup.close()
        return
    arguments, env = _postgres_arguments(settings_dict)
    restore = [_postgres_tool("pg_restore"), "--no-owner", "--exit-on-error", *arguments]
    _run([*restore, str(source)], env)
