"""What the report pages change: the annual narrative and the sessions' messages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from evaluation.models import AnnualNarrative, SessionMessage
from training.models import Session

NARRATIVE_FIELDS = ("what_was_done", "how_well", "difference_made", "next_steps")


def narrative_save(
    *, year_start: dt.date, fields: dict[str, Any], user: Any, now: dt.datetime
) -> AnnualNarrative:
    """Store the year's paragraphs (one row a year), saying who changed them and when."""
    values = {name: fields.get(name, "") for name in NARRATIVE_FIELDS}
    narrative, _ = AnnualNarrative.objects.update_or_create(
        financial_year_start=year_start,
        defaults={**values, "updated_at": now, "updated_by": user},
    )
    return narrative


def session_message_add(
    *, session: Session, text: str, user: Any, now: dt.datetime
) -> SessionMessage:
    """A "Practitioners told us" message for a MAPIG session or conference, after the others."""
    last = session.messages.order_by("-order").values_list("order", flat=True).first()
    return SessionMessage.objects.create(
        session=session,
        text=text.strip(),
        order=0 if last is None else last + 1,
        recorded_by=user,
        recorded_at=now,
    )
