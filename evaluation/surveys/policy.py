"""The surveys' timing: how long a link works and when the one reminder goes (settings)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings


def link_lifetime() -> dt.timedelta:
    """How long a survey link works after its first email: 30 days unless set."""
    return dt.timedelta(days=int(getattr(settings, "SURVEY_LINK_DAYS", 30)))


def reminder_delay() -> dt.timedelta:
    """One reminder this long after the first email, if still unanswered: 7 days unless set."""
    return dt.timedelta(days=int(getattr(settings, "SURVEY_REMINDER_DAYS", 7)))


def link_end(*, sent_at: dt.datetime, closes_at: dt.datetime | None = None) -> dt.datetime:
    """When a link first emailed at ``sent_at`` stops working: its lifetime on, or earlier at
    ``closes_at`` (a pre-course questionnaire closes when the course starts: after that its
    answer would not be a "before")."""
    end = sent_at + link_lifetime()
    return end if closes_at is None else min(end, closes_at)
