from __future__ import annotations

from importlib import import_module

from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"
    verbose_name = "Bookings and payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, once the models are loaded: the tasks register themselves with
        # bookings.jobs, the signals link booked places to accounts and tell the cached pages
        # what changed, and the outbox learns which emails carry a calendar entry or an invoice.
        from bookings import outbox
        from bookings.attendance.certificates import CERTIFICATE_EMAIL_KIND, certificate_attachments
        from bookings.files.calendar import (
            booking_ics_attachments,
            cancelled_session_ics_attachments,
            session_ics_attachments,
        )
        from bookings.money.documents import invoice_attachments
        from bookings.places.attendee_links import attendee_email_context
        from bookings.places.reschedule import email_session_context

        import_module("bookings.tasks")
        import_module("bookings.places.signals")
        import_module("bookings.places.page_signals")
        # The attendee's own emails carry their link (no account needed) and, once confirmed,
        # an online session's joining link.
        for kind in (
            "booking_confirmed",
            "booking_transferred_in",
            "booking_moved",
            "session_moved",
        ):
            outbox.register_kind(
                kind, context=attendee_email_context, attachments=booking_ics_attachments
            )
        outbox.register_kind("booking_reminder", context=attendee_email_context)
        outbox.register_kind("booking_cancelled", attachments=cancelled_session_ics_attachments)
        # Emails about a session rather than a place name it in their context.
        for kind in ("session_moved_booker", "session_message"):
            outbox.register_kind(kind, context=email_session_context)
        for kind in ("session_moved_trainer", "session_cancelled_trainer"):
            outbox.register_kind(
                kind, context=email_session_context, attachments=session_ics_attachments
            )
        for kind in ("invoice_issued", "credit_note_issued"):
            outbox.register_kind(kind, attachments=invoice_attachments)
        outbox.register_kind(CERTIFICATE_EMAIL_KIND, attachments=certificate_attachments)
