"""Back the whole database up to one timestamped file (safe while the app runs).

python manage.py backup                      # var/backups/backup-YYYYmmdd-HHMMSS.<ext>
python manage.py backup --output /backups/training.dump
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from training.backups import BackupError, backup_default_path, database_backup


class Command(BaseCommand):
    help = "Back up the database (SQLite online backup, or pg_dump -Fc) to a timestamped file."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--output", help="The file to write (default: var/backups/…).")

    def handle(self, *args: Any, **options: Any) -> None:
        output = (
            Path(options["output"])
            if options["output"]
            else backup_default_path(now=timezone.now())
        )
        try:
            written = database_backup(output=output)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Backed up to {written} ({written.stat().st_size} bytes).")
