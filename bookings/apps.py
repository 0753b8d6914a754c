from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"
    verbose_name = "Bookings and payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from bookings import signals  # noqa: F401  (links booked places to accounts on login)
