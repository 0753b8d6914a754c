"""What makes the cached catalogue and session pages out of date, connected to model signals.

Every save or delete of a row the pages show (a place, a waiting-list offer, a session, its
dates, trainers, course, outcomes, venue or prices), whether through a service or an
administrator's edit in the admin, bumps the pages' version. Bulk writes, which send no
signals, bump it through ``training.page_version.PagesChangingQuerySet``.
"""

from __future__ import annotations

from django.db.models.signals import m2m_changed, post_delete, post_save

from bookings.models import Booking, WaitingListEntry
from training.models import (
    Course,
    CoursePrice,
    LearningOutcome,
    PriceBand,
    Session,
    SessionPart,
    SessionPrice,
    Trainer,
    Venue,
)
from training.page_version import pages_changed

SHOWN_ON_PAGES = (
    Booking,
    WaitingListEntry,
    Session,
    SessionPart,
    Course,
    CoursePrice,
    SessionPrice,
    LearningOutcome,
    PriceBand,
    Trainer,
    Venue,
)

for model in SHOWN_ON_PAGES:
    post_save.connect(
        pages_changed, sender=model, dispatch_uid=f"pages_changed_save_{model.__name__}"
    )
    post_delete.connect(
        pages_changed, sender=model, dispatch_uid=f"pages_changed_delete_{model.__name__}"
    )
m2m_changed.connect(
    pages_changed, sender=Session.trainers.through, dispatch_uid="pages_changed_trainers"
)
