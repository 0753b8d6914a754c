"""The audit trail: who changed which row, when, and what changed.

Every change of a booking's, payment's, invoice's or attendance's state writes an entry here,
in the same transaction as the change.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from bookings.models import AuditEntry
from bookings.models.records import ACTION_LABELS, action_code, action_label

__all__ = [
    "ACTION_LABELS",
    "action_code",
    "action_label",
    "audit_entry",
    "audit_record",
    "json_safe",
]


def _actor_fields(actor: Any) -> dict[str, Any]:
    if actor is None or isinstance(actor, str):
        return {"actor": None, "actor_label": actor or "system"}
    return {"actor": actor, "actor_label": getattr(actor, "email", "") or str(actor)}


def json_safe(value: Any) -> Any:
    """``value`` with decimals and dates as strings, so it can be stored as JSON."""
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, Decimal | dt.date | dt.datetime):
        return str(value)
    return value


def audit_entry(
    *, obj: Any, action: str, actor: Any, now: dt.datetime, changes: dict[str, Any] | None = None
) -> AuditEntry:
    """An unsaved audit entry: who did what to which row, when (see ``audit_record``)."""
    return AuditEntry(
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        action=action,
        code=action_code(action),
        at=now,
        changes=json_safe(changes or {}),
        **_actor_fields(actor),
    )


def audit_record(
    *, obj: Any, action: str, actor: Any, now: dt.datetime, changes: dict[str, Any] | None = None
) -> AuditEntry:
    """Write who did what to which row, when. ``actor`` is a user, 'stripe', or None (system)."""
    entry = audit_entry(obj=obj, action=action, actor=actor, now=now, changes=changes)
    entry.save()
    return entry
