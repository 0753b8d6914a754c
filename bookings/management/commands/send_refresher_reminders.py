"""Email everyone whose refresher training falls due in the next six weeks (once per place).

Safe to run as often as wanted (daily from cron, or from the tick): a place that already has
a reminder is never reminded again, and two runs at once send each reminder once.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from bookings.attendance.certificates import refresher_reminders_queue


class Command(BaseCommand):
    help = "Queue refresher reminders for training that falls due in the next six weeks."

    def handle(self, *args: Any, **options: Any) -> None:
        queued = refresher_reminders_queue(now=timezone.now())
        self.stdout.write(f"refresher reminders queued: {queued}")
