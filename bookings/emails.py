"""Transitional: the outbox moved to ``bookings.outbox``."""

from bookings.outbox import (  # noqa: F401
    CLAIM_TIMEOUT,
    MAX_ATTEMPTS,
    email_context,
    emails_due,
    emails_retry,
    outgoing_email_send,
    render_email,
)
