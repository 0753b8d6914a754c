"""The evaluation app: surveys, 'test and check' calls and the board's reports."""

from __future__ import annotations

from importlib import import_module

from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"
    verbose_name = "Evaluation and impact"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: Django loads apps before their models may be used.
        from bookings.events import booking_attended, booking_confirmed, booking_session_facts
        from evaluation.receivers import (
            invite_pre_course_on_confirmation,
            schedule_surveys_on_attendance,
        )
        from evaluation.surveys.emails import survey_emails_register
        from evaluation.surveys.services import ASKS_PRE_COURSE, asks_pre_course

        # The tasks register themselves with bookings.jobs, in every process (web and worker).
        import_module("evaluation.tasks")
        survey_emails_register()
        booking_attended.connect(
            schedule_surveys_on_attendance, dispatch_uid="evaluation.schedule_surveys"
        )
        booking_confirmed.connect(
            invite_pre_course_on_confirmation, dispatch_uid="evaluation.invite_pre_course"
        )
        booking_session_facts[ASKS_PRE_COURSE] = asks_pre_course
