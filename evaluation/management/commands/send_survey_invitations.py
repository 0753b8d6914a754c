"""Send the survey invitations and reminders that are due.

Run it from cron every few minutes, or as a long-lived process with ``--every 300``. The
evaluation email goes as soon as a place is marked attended; this command sends what was
scheduled for later (follow-ups, reminders) and retries anything that failed.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from evaluation.surveys.services import invitations_send_due


class Command(BaseCommand):
    help = "Send due survey invitations (evaluation, follow-up) and their one reminder."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--every", type=int, default=0, help="Repeat every N seconds.")

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            result = invitations_send_due(now=timezone.now())
            self.stdout.write(
                f"survey invitations queued: {result['invitations']}, "
                f"reminders queued: {result['reminders']}"
            )
            if not options["every"]:
                return
            time.sleep(options["every"])
