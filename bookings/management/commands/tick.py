"""Run the periodic housekeeping (hold expiry, waiting-list offers, due email).

Run it from cron every minute, or as a long-lived process with ``--every 60``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from bookings.housekeeping import housekeeping_run

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Release expired holds, pass on lapsed waiting-list offers and send due email."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--every", type=int, default=0, help="Repeat every N seconds.")

    def handle(self, *args: Any, **options: Any) -> None:
        every = options["every"]
        while True:
            try:
                result = housekeeping_run(now=timezone.now())
            except Exception as error:
                if not every:
                    raise  # run once (from cron): fail loudly, cron runs it again
                # A long-lived tick outlives one bad round: log it and try again next time.
                logger.exception("The housekeeping round failed; trying again in %s s.", every)
                if isinstance(error, DatabaseError):
                    close_old_connections()  # a broken connection is not reused next round
            else:
                self.stdout.write(
                    f"holds released: {result['holds_released']}, offers lapsed: "
                    f"{result['offers_lapsed']}, refresher reminders: "
                    f"{result['refresher_reminders']}, emails queued: {result['emails_queued']}"
                )
            if not every:
                return
            time.sleep(every)
