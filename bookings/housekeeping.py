"""The periodic housekeeping: expired holds, lapsed offers, refresher reminders, due email."""

from __future__ import annotations

import datetime as dt

from bookings import jobs
from bookings.attendance.certificates import refresher_reminders_queue
from bookings.money.payments import holds_release_expired
from bookings.outbox import emails_due
from bookings.places.waitlist import waitlist_lapse_offers

# Due emails are handed to workers in batches this size: the tick's backlog spread over
# several workers.
EMAIL_BATCH = 20


def housekeeping_run(*, now: dt.datetime) -> dict[str, int]:
    """Release expired holds, pass on lapsed offers, queue refresher reminders and hand the
    due emails to workers; returns how many of each."""
    released = holds_release_expired(now=now)
    lapsed = waitlist_lapse_offers(now=now)
    refreshers = refresher_reminders_queue(now=now)
    due = emails_due(now)
    for start in range(0, len(due), EMAIL_BATCH):
        jobs.enqueue("send_emails", due[start : start + EMAIL_BATCH])
    return {
        "holds_released": released,
        "offers_lapsed": lapsed,
        "refresher_reminders": refreshers,
        "emails_queued": len(due),
    }
