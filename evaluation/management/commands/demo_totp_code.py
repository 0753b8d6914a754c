"""Print the demo staff's second-factor code for right now (development only).

    python manage.py demo_totp_code

The demo sets up the administrator's and the board viewer's authenticator with a known
secret (``training.demo.second_factor``); this prints what an authenticator app would show.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from training.demo.second_factor import DEMO_TOTP_SECRET, totp_code


class Command(BaseCommand):
    help = "Print the demo staff's current authenticator code (development only)."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("The demo's second factor is for development only.")
        now = time.time()
        left = 30 - int(now) % 30
        self.stdout.write(f"{totp_code(DEMO_TOTP_SECRET, now)} (for {left} more seconds)")
