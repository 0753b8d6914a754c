"""Anonymising one person in place: names, addresses, phones and free text, never the rows.

Every row that names the person keeps its place in the reports (sector, course, dates, money,
attendance); what identifies them is replaced: names by "Anonymised person", each email
address by its token (``people.email_token``, the same for every row of one address), phones
and free text cleared. One audit entry records that it happened, with counts only.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from bookings.audit import audit_record, json_safe
from bookings.models import (
    Approval,
    AuditEntry,
    Booking,
    Invoice,
    InvoiceLine,
    OutgoingEmail,
    WaitingListEntry,
    WebhookEvent,
)
from evaluation.models import Answer, FollowUpCall, FollowUpOptOut, Response
from evaluation.privacy.people import (
    ANONYMISED_NAME,
    Person,
    email_token,
    person_bookings,
    person_key,
)
from training.models import Agency, Profile, Trainer

ANONYMISED_FIRST_NAME, ANONYMISED_LAST_NAME = ANONYMISED_NAME.split(" ", 1)


class Scrubber:
    """Replaces a person's names, addresses and phone numbers inside free text and JSON."""

    def __init__(self, *, names: Iterable[str], emails: Iterable[str], phones: Iterable[str]):
        self.replacements: dict[str, str] = {}
        for email in emails:
            if email:
                self.replacements[email.lower()] = email_token(email)
        for name in names:
            if len(name.strip()) > 3 and name.strip() != ANONYMISED_NAME:
                self.replacements[name.strip().lower()] = ANONYMISED_NAME
        for phone in phones:
            if len(phone.strip()) > 5:
                self.replacements[phone.strip().lower()] = ""
        # Longest first, so an address is replaced whole before a name inside it.
        parts = sorted(self.replacements, key=len, reverse=True)
        self.pattern = (
            re.compile("|".join(re.escape(part) for part in parts), re.IGNORECASE)
            if parts
            else None
        )

    def text(self, value: str) -> str:
        if not value or self.pattern is None:
            return value
        return self.pattern.sub(lambda match: self.replacements[match.group(0).lower()], value)

    def json(self, value: Any) -> Any:
        return _JsonText(self.text).json(value)


def _names_and_phones(person: Person) -> tuple[set[str], set[str]]:
    User = get_user_model()
    names: set[str] = set()
    phones: set[str] = set()
    for first, last in User.objects.filter(pk__in=person.user_ids).values_list(
        "first_name", "last_name"
    ):
        names.add(f"{first} {last}".strip())
    names.update(
        Booking.objects.filter(person_bookings(person)).values_list("attendee_name", flat=True)
    )
    names.update(
        WaitingListEntry.objects.filter(
            Q(person_id__in=person.user_ids) | Q(email__in=person.emails)
        ).values_list("name", flat=True)
    )
    phones.update(
        Profile.objects.filter(user_id__in=person.user_ids).values_list("phone", flat=True)
    )
    phones.update(
        FollowUpCall.objects.filter(
            Q(person_id__in=person.user_ids)
            | Q(booking__in=Booking.objects.filter(person_bookings(person)))
        ).values_list("phone", flat=True)
    )
    return {name for name in names if name}, {phone for phone in phones if phone}


def _accounts(person: Person, counts: Counter[str]) -> None:
    if not person.user_ids:
        counts["trainer_records"] += Trainer.objects.filter(email__in=person.emails).update(
            name=ANONYMISED_NAME, email="", biography=""
        )
        return
    User = get_user_model()
    for user in User.objects.filter(pk__in=person.user_ids):
        token = email_token(user.email) if user.email else f"anon-user-{user.pk}@anonymised.invalid"
        user.first_name, user.last_name = ANONYMISED_FIRST_NAME, ANONYMISED_LAST_NAME
        user.email = token
        user.username = token
        user.is_active = False
        user.set_unusable_password()
        user.save()
        counts["accounts"] += 1
    for address in EmailAddress.objects.filter(user_id__in=person.user_ids):
        address.email = email_token(address.email)
        address.verified = False
        address.save(update_fields=["email", "verified"])
        counts["email_addresses"] += 1
    counts["profiles"] += Profile.objects.filter(user_id__in=person.user_ids).update(
        phone="", job_title=""
    )
    counts["second_factors"] += Authenticator.objects.filter(user_id__in=person.user_ids).delete()[
        0
    ]
    counts["trainer_records"] += Trainer.objects.filter(
        Q(user_id__in=person.user_ids) | Q(email__in=person.emails)
    ).update(name=ANONYMISED_NAME, email="", biography="")


def _places(person: Person, booking_ids: list[int], scrub: Scrubber, counts: Counter[str]) -> None:
    bookings = Booking.objects.filter(pk__in=booking_ids)
    # One update per address: each address becomes its own token, so people stay distinct.
    for email in set(bookings.values_list("attendee_email", flat=True)):
        counts["bookings"] += Booking.objects.filter(
            pk__in=booking_ids, attendee_email=email
        ).update(
            attendee_email=email_token(email),
            attendee_name=ANONYMISED_NAME,
            attendee_job_title="",
            # What the person said about their health, disability or diet, and who their
            # manager is, go with the rest of their personal data.
            access_needs="",
            line_manager_name="",
            line_manager_email="",
        )
    # The line manager asked to approve the place is named with it: they go too.
    counts["approvals"] += (
        Approval.objects.filter(booking_id__in=booking_ids)
        .exclude(approver_name="", approver_email="")
        .update(approver_name="", approver_email="")
    )
    lines = []
    for line in InvoiceLine.objects.filter(booking_id__in=booking_ids).only("description"):
        description = scrub.text(line.description)
        if description != line.description:
            line.description = description
            lines.append(line)
    counts["invoice_lines"] += InvoiceLine.objects.bulk_update(lines, ["description"])
    entries = WaitingListEntry.objects.filter(
        Q(person_id__in=person.user_ids) | Q(email__in=person.emails)
    )
    for entry in entries:
        WaitingListEntry.objects.filter(pk=entry.pk).update(
            email=email_token(entry.email), name=ANONYMISED_NAME
        )
        counts["waiting_list_entries"] += 1
    for invoice in Invoice.objects.filter(billing_email__in=person.emails):
        Invoice.objects.filter(pk=invoice.pk).update(
            billing_email=email_token(invoice.billing_email),
            billing_name=scrub.text(invoice.billing_name),
        )
        counts["invoices"] += 1
    counts["agency_contacts"] += Agency.objects.filter(
        invoice_contact_email__in=person.emails
    ).update(invoice_contact_email="", invoice_contact_name="")


def _emails(person: Person, booking_ids: list[int], counts: Counter[str]) -> None:
    emails = OutgoingEmail.objects.filter(
        Q(to__in=person.emails)
        | Q(booking_id__in=booking_ids)
        | Q(waiting_list_entry__person_id__in=person.user_ids)
    )
    # Nothing more is sent to an anonymised person; what was sent keeps only its kind and dates.
    counts["emails_not_sent"] += emails.filter(sent_at=None).delete()[0]
    for email in emails.filter(sent_at__isnull=False):
        OutgoingEmail.objects.filter(pk=email.pk).update(
            to=email_token(email.to) if email.to.lower() in person.emails else email.to,
            context={},
        )
        counts["emails"] += 1


def _evaluation(person: Person, booking_ids: list[int], counts: Counter[str]) -> None:
    counts["calls"] += FollowUpCall.objects.filter(
        Q(person_id__in=person.user_ids) | Q(booking_id__in=booking_ids)
    ).update(phone="", close_reason="")
    responses = Response.objects.filter(booking_id__in=booking_ids)
    counts["survey_free_text"] += (
        Answer.objects.filter(response__in=responses).exclude(text="").update(text="")
    )
    # A consented quote is written to be quoted anonymously, so it stays.
    counts["survey_free_text"] += (
        responses.filter(quote_consent=False).exclude(quote="").update(quote="")
    )
    for opt_out in FollowUpOptOut.objects.filter(
        Q(email__in=person.emails) | Q(user_id__in=person.user_ids)
    ):
        FollowUpOptOut.objects.filter(pk=opt_out.pk).update(email=email_token(opt_out.email))
        counts["follow_up_opt_outs"] += 1


def _mentions(
    person: Person, booking_ids: list[int], scrub: Scrubber, counts: Counter[str]
) -> None:
    """The audit trail, the admin's history and gateway events: wherever free text or JSON
    may hold the person's name or address."""
    for entry in AuditEntry.objects.filter(
        Q(actor_id__in=person.user_ids) | Q(actor_label__in=person.emails)
    ):
        entry.actor_label = ANONYMISED_NAME
        entry.changes = scrub.json(entry.changes)
        entry.save(update_fields=["actor_label", "changes"])
        counts["audit_actor_names"] += 1
    about = Q(object_type="bookings.booking", object_id__in=[str(pk) for pk in booking_ids])
    for entry in AuditEntry.objects.filter(about):
        changes = scrub.json(entry.changes)
        if changes != entry.changes:
            AuditEntry.objects.filter(pk=entry.pk).update(changes=changes)
            counts["audit_details"] += 1
    user_logs = Q(content_type__model="user", object_id__in=[str(pk) for pk in person.user_ids])
    mentions = Q()
    for needle in scrub.replacements:
        mentions |= Q(object_repr__icontains=needle) | Q(change_message__icontains=needle)
    for log in LogEntry.objects.filter(user_logs | mentions) if scrub.replacements else []:
        LogEntry.objects.filter(pk=log.pk).update(
            object_repr=scrub.text(log.object_repr) if log.object_repr else log.object_repr,
            change_message=scrub.text(log.change_message),
        )
        counts["admin_history"] += 1


EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def mentions_scrub(*, emails: Iterable[str]) -> dict[str, int]:
    """Replace these addresses wherever the audit trail's details or the gateway's events
    mention them: one pass over each table, however many people are anonymised."""
    wanted = {email.lower() for email in emails}
    counts: Counter[str] = Counter()

    def replace(text: str) -> str:
        return EMAIL_IN_TEXT.sub(
            lambda match: (
                email_token(match.group(0)) if match.group(0).lower() in wanted else match.group(0)
            ),
            text,
        )

    scrub = _JsonText(replace)
    if not wanted:
        return {}
    with_address = AuditEntry.objects.annotate(as_text=Cast("changes", TextField())).filter(
        as_text__contains="@"
    )
    for model, rows, column, kind in (
        (AuditEntry, with_address, "changes", "audit_details"),
        (WebhookEvent, WebhookEvent.objects.all(), "payload", "gateway_events"),
    ):
        for pk, value in rows.values_list("pk", column):
            changed = scrub.json(value)
            if changed != value:
                model.objects.filter(pk=pk).update(**{column: changed})
                counts[kind] += 1
    return dict(counts)


class _JsonText:
    """Applies a text replacement to every string (keys too) inside a JSON value."""

    def __init__(self, text: Any) -> None:
        self.text = text

    def json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(key)): self.json(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.json(item) for item in value]
        return value


def person_anonymise(
    *, person: Person, reason: str, actor: Any, now: dt.datetime, scan_mentions: bool = True
) -> dict[str, int]:
    """Anonymise every row that names ``person`` (inside the caller's transaction) and write
    one audit entry with the counts; return the counts by kind of row. ``scan_mentions=False``
    leaves the table-wide scan for addresses to the caller (``mentions_scrub``, once for
    many people)."""
    names, phones = _names_and_phones(person)
    emails = set(person.emails)
    User = get_user_model()
    emails.update(
        email.lower()
        for email in User.objects.filter(pk__in=person.user_ids).values_list("email", flat=True)
        if email
    )
    person.emails = emails
    scrub = Scrubber(names=names, emails=emails, phones=phones)
    counts: Counter[str] = Counter()
    # The person's rows, found once: every step below works on these.
    booking_ids = list(Booking.objects.filter(person_bookings(person)).values_list("pk", flat=True))
    _mentions(person, booking_ids, scrub, counts)
    _accounts(person, counts)
    _places(person, booking_ids, scrub, counts)
    _emails(person, booking_ids, counts)
    _evaluation(person, booking_ids, counts)
    if scan_mentions:
        counts.update(mentions_scrub(emails=emails))
    result = {kind: number for kind, number in sorted(counts.items()) if number}
    _record(person, emails, reason=reason, actor=actor, now=now, counts=result)
    return result


def _record(
    person: Person,
    emails: set[str],
    *,
    reason: str,
    actor: Any,
    now: dt.datetime,
    counts: dict[str, int],
) -> None:
    """The one audit entry: about the login if there is one, else the address's key."""
    User = get_user_model()
    user = User.objects.filter(pk__in=person.user_ids).order_by("pk").first()
    if user is not None:
        audit_record(obj=user, action=reason, actor=actor, now=now, changes=counts)
        return
    AuditEntry.objects.create(
        object_type="privacy.person",
        object_id=person_key(min(emails)) if emails else "nobody",
        action=reason,
        actor=actor if actor is not None and not isinstance(actor, str) else None,
        actor_label=(actor if isinstance(actor, str) else getattr(actor, "email", "")) or "system",
        at=now,
        changes=json_safe(counts),
    )
