"""Restore a backup made by ``manage.py backup`` into a fresh, empty database.

    DATABASE_URL=postgres://…/training_restored python manage.py restore backup.dump

The database named by the settings must have no tables: a restore never overwrites data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from training.backups import BackupError, database_restore


class Command(BaseCommand):
    help = "Restore a backup file into the configured database, which must be empty."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="A file written by manage.py backup.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            database_restore(source=Path(options["file"]))
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Restored {options['file']}.")
