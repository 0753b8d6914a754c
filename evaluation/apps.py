from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"
    verbose_name = "Evaluation and impact"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from bookings.events import booking_attended
        from evaluation.receivers import schedule_surveys_on_attendance

        booking_attended.connect(
            schedule_surveys_on_attendance, dispatch_uid="evaluation.schedule_surveys"
        )
