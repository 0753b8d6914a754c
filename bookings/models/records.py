"""Records kept about everything else: the email outbox and the audit trail."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from bookings.models.money import Invoice
from bookings.models.places import Booking, Order, WaitingListEntry

# Stable codes for the audit trail's actions, with the label people read. An action is a short
# phrase written where the change happens ("status issued → paid"); its code is what filters
# and exports use, and stays put if the phrase is reworded. Phrases with values in them are
# matched by their first word(s).
ACTION_LABELS: dict[str, str] = {
    "status_changed": "Status changed",
    "attendance_recorded": "Attendance recorded",
    "capacity_changed": "Capacity changed",
    "call_closed": "Call closed",
    "created": "Created",
    "held_for_payment": "Held while paying",
    "issued": "Issued",
    "raised": "Raised",
    "waived": "Waived",
    "transferred": "Transferred to a colleague",
    "reopened": "Reopened",
    "closed": "Closed",
    "assigned": "Assigned",
    "calls_drawn": "Calls drawn",
    "claimed": "Claimed by the attendee's account",
    "flagged_good_practice": "Flagged as good practice",
    "gateway_refused": "Refused by the payment gateway",
    "registers_imported": "Historical registers imported",
    "imported": "Imported from a historical register",
    "waitlist_joined": "Joined the waiting list",
    "waitlist_left": "Left the waiting list",
    "waitlist_offered": "Offered a place",
    "waitlist_lapsed": "Offer lapsed",
    "follow_ups_opted_out": "Opted out of follow-ups",
    "policy_changed": "Policy changed",
    "retention_applied": "Retention policy applied",
    "anonymised_retention": "Personal data anonymised (retention)",
    "erased_on_request": "Personal data erased on request",
    "account_deleted_unconfirmed": "Unconfirmed account deleted",
    "session_messaged": "Message sent to everyone on the session",
    "access_needs_changed": "Access and dietary needs changed",
    "message_recorded": "Practitioners' message recorded",
    "message_changed": "Practitioners' message changed",
    "message_deleted": "Practitioners' message deleted",
    "places_reserved": "Unnamed places reserved",
    "reserved_place_named": "Reserved place named",
    "reserved_places_released": "Unnamed places released",
    "reserved_places_kept": "Unnamed places kept, charged",
    "other": "Other",
}
_PHRASES = {
    "imported from a historical register": "imported",
    "claimed by attendee's account": "claimed",
    "flagged as good practice": "flagged_good_practice",
    "historical registers imported": "registers_imported",
    "held for payment": "held_for_payment",
    "joined waiting list": "waitlist_joined",
    "left waiting list": "waitlist_left",
    "offered a place": "waitlist_offered",
    "offer lapsed": "waitlist_lapsed",
    "opted out of follow-ups": "follow_ups_opted_out",
    "personal data anonymised (retention)": "anonymised_retention",
    "personal data erased on request": "erased_on_request",
    "unconfirmed account deleted (retention)": "account_deleted_unconfirmed",
}
_PREFIXES = (
    ("status ", "status_changed"),
    ("attendance ", "attendance_recorded"),
    ("capacity ", "capacity_changed"),
    ("closed: ", "call_closed"),
)


def action_code(action: str) -> str:
    """The stable code of an action phrase ("status issued → paid" → "status_changed")."""
    phrase = action.strip().lower()
    if phrase in _PHRASES:
        return _PHRASES[phrase]
    for prefix, code in _PREFIXES:
        if phrase.startswith(prefix):
            return code
    code = phrase.replace(" ", "_")
    return code if code in ACTION_LABELS else "other"


def action_label(code: str) -> str:
    return ACTION_LABELS.get(code, code.replace("_", " ").capitalize())


class OutgoingEmail(models.Model):
    """An email to send, written in the same transaction as the change it reports.

    A background task renders and sends it; ``claimed_at`` is set by a conditional update so
    that two workers never send the same email. See ``bookings.emails`` for retries.
    """

    kind = models.CharField(max_length=50)
    to = models.EmailField()
    booking = models.ForeignKey(
        Booking, null=True, blank=True, on_delete=models.CASCADE, related_name="emails"
    )
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.CASCADE, related_name="emails"
    )
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.CASCADE, related_name="emails"
    )
    waiting_list_entry = models.ForeignKey(
        WaitingListEntry, null=True, blank=True, on_delete=models.CASCADE, related_name="emails"
    )
    context = models.JSONField(default=dict, blank=True)
    send_after = models.DateTimeField(default=timezone.now, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="How many times a worker has tried to send it."
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to}"


class AuditEntry(models.Model):
    """Who changed what, when: every state change of a booking, payment, refund or invoice."""

    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=50)
    action = models.CharField(max_length=100)
    code = models.CharField(
        max_length=50,
        blank=True,
        db_index=True,
        help_text="The action's stable code (bookings.audit.ACTION_LABELS gives its label).",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(
        max_length=100, blank=True, help_text="'system', 'stripe' or the person's email."
    )
    at = models.DateTimeField(default=timezone.now)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.object_type} {self.object_id}: {self.action}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self.code:
            self.code = action_code(self.action)
        super().save(*args, **kwargs)  # type: ignore[arg-type]
