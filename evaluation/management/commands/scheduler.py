"""Run every periodic job on its schedule, in one process (see ``evaluation.scheduler``).

    python manage.py scheduler          # runs until stopped (SIGINT or SIGTERM)
    python manage.py scheduler --once   # runs what is due now, then exits

The tick (expired holds, lapsed waiting-list offers, refresher reminders, due email) every
minute, survey invitations and reminders every five minutes, the monthly call draw on the 1st.
Run one per machine or several: each period's run is claimed, so it happens once.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from evaluation.scheduler import scheduler_run_due

logger = logging.getLogger(__name__)

# How often the loop looks at the clock: well under the shortest period (a minute).
POLL_SECONDS = 5.0


class Command(BaseCommand):
    help = "Run the periodic jobs on their schedules (tick, survey invitations, call draw)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Run what is due now and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        done: dict[str, str] = {}
        if options["once"]:
            ran = scheduler_run_due(now=timezone.now(), done=done)
            self.stdout.write("ran: " + (", ".join(ran) or "nothing due"))
            return
        stopping = threading.Event()

        def stop(signum: int, frame: object) -> None:
            stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        logger.info("Scheduler started.")
        while not stopping.is_set():
            scheduler_run_due(now=timezone.now(), done=done)
            stopping.wait(POLL_SECONDS)
        logger.info("Scheduler stopped.")
