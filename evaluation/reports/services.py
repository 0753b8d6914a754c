"""What the report pages change: the annual narrative and the sessions' messages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bookings.audit import audit_record
from evaluation.errors import EvaluationError
from evaluation.models import AnnualNarrative, SessionMessage
from training.models import Session

MESSAGE_MAX_LENGTH = 2000

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


def _message_text(text: str) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise EvaluationError("Write what practitioners told you.")
    if len(cleaned) > MESSAGE_MAX_LENGTH:
        raise EvaluationError(f"Keep a message under {MESSAGE_MAX_LENGTH} characters.")
    return cleaned


def session_message_add(
    *, session: Session, text: str, user: Any, now: dt.datetime
) -> SessionMessage:
    """A "Practitioners told us" message for a MAPIG session or conference, after the others."""
    last = session.messages.order_by("-order").values_list("order", flat=True).first()
    message = SessionMessage.objects.create(
        session=session,
        text=_message_text(text),
        order=0 if last is None else last + 1,
        recorded_by=user,
        recorded_at=now,
    )
    audit_record(
        obj=message, action="message recorded", actor=user, now=now, changes={"text": message.text}
    )
    return message


def session_message_update(
    *, message: SessionMessage, text: str, user: Any, now: dt.datetime
) -> SessionMessage:
    """Correct a message's words (its place in the session's list stays)."""
    before, message.text = message.text, _message_text(text)
    if message.text != before:
        message.save(update_fields=["text"])
        audit_record(
            obj=message,
            action="message changed",
            actor=user,
            now=now,
            changes={"text": [before, message.text]},
        )
    return message


def session_message_delete(*, message: SessionMessage, user: Any, now: dt.datetime) -> None:
    """Remove a message from the session (and so from the report pack and year summary)."""
    audit_record(
        obj=message,
        action="message deleted",
        actor=user,
        now=now,
        changes={"text": message.text, "session": message.session_id},
    )
    message.delete()
