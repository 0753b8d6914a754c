"""Run the periodic housekeeping (hold expiry, waiting-list offers, due email).

Run it from cron every minute, or as a long-lived process with ``--every 60``.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from bookings.housekeeping import housekeeping_run


class Command(BaseCommand):
    help = "Release expired holds, pass on lapsed waiting-list offers and send due email."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--every", type=int, default=0, help="Repeat every N seconds.")

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            result = housekeeping_run(now=timezone.now())
            self.stdout.write(
                f"holds released: {result['holds_released']}, offers lapsed: "
                f"{result['offers_lapsed']}, refresher reminders: "
                f"{result['refresher_reminders']}, emails queued: {result['emails_queued']}"
            )
            if not options["every"]:
                return
            time.sleep(options["every"])
