"""Load the demo: the 2016/17 year of the annual report, an upcoming programme and logins.

Lives in ``evaluation`` because that app may read every other one, and the demo touches all.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from bookings.demo.informed import load_demo_approval_rules, load_demo_awaiting_approval
from bookings.demo.upcoming import load_demo_reservations, load_upcoming_bookings
from bookings.demo.year import load_year_2016_17_attendance
from evaluation.demo.annual import load_demo_annual_material
from evaluation.demo.costs import load_demo_cost_targets
from evaluation.demo.knowledge import load_demo_knowledge_checks
from evaluation.demo.pre_course import load_demo_pre_course
from evaluation.demo.surveys import load_demo_evaluation
from training import demo as training_demo
from training.demo.second_factor import DEMO_TOTP_SECRET, load_demo_second_factors


class Command(BaseCommand):
    help = "Load demo data (idempotent): the 2016/17 programme, upcoming sessions, demo logins."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--quiet-logins", action="store_true", help="Do not print the logins.")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("The demo data is for development only; refusing in production.")
        today = timezone.localdate()
        reference = training_demo.load_reference_data()
        past = training_demo.load_year_2016_17(reference)
        upcoming = training_demo.load_upcoming_programme(reference, today)
        imported = training_demo.load_programme_example(timezone.now())
        logins = training_demo.load_demo_people()
        second_factors = load_demo_second_factors()
        places = load_year_2016_17_attendance(past)
        load_demo_cost_targets(today)
        load_demo_approval_rules()
        load_upcoming_bookings(upcoming, today=today)
        load_demo_awaiting_approval(upcoming, now=timezone.now())
        load_demo_reservations(upcoming, today=today)
        evaluation = load_demo_evaluation(today)
        load_demo_pre_course()
        load_demo_knowledge_checks()
        load_demo_annual_material()
        self.stdout.write(
            f"Demo loaded: {len(past)} sessions in 2016/17 ({places} new places), "
            f"{len(upcoming)} upcoming sessions, {imported} new from the example programme file; "
            f"{evaluation['calls']} new follow-up calls."
        )
        if not options["quiet_logins"]:
            self.stdout.write(f"\nDemo logins (password for all: {training_demo.DEMO_PASSWORD})")
            for email, roles in logins:
                self.stdout.write(f"  {email:<28} {roles}")
                codes = second_factors.get(email)
                if codes:
                    self.stdout.write(
                        f"  {'':<28} second factor: authenticator secret {DEMO_TOTP_SECRET} "
                        f"(`python manage.py demo_totp_code` prints the code now), "
                        f"or a recovery code: {', '.join(codes[:3])}"
                    )
