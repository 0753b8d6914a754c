"""Queue the survey invitations and reminders that are due into the outbox.

Run it from cron every few minutes, or as a long-lived process with ``--every 300``. The
evaluation email is queued as soon as a place is marked attended; this command queues what
was scheduled for later (follow-ups, reminders). The outbox sends them, and its own tick
(``manage.py tick``) retries any that failed.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from evaluation.surveys.services import invitations_queue_due


class Command(BaseCommand):
    help = "Queue due survey invitations (evaluation, follow-up) and their one reminder."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--every", type=int, default=0, help="Repeat every N seconds.")

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            result = invitations_queue_due(now=timezone.now())
            self.stdout.write(
                f"survey invitations queued: {result['invitations']}, "
                f"reminders queued: {result['reminders']}"
            )
            if not options["every"]:
                return
            time.sleep(options["every"])
