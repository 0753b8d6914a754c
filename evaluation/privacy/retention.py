"""Applying the retention policy: what is kept no longer than the policy says, anonymised.

``retention_apply`` runs every rule of ``RetentionPolicy`` as if today were ``as_of``:

- people with no booking, call, survey response, order or sign-in for ``contact_years``
  are anonymised in place (``anonymise.person_anonymise``), one audit entry each;
- survey free text older than ``free_text_years`` is cleared (consented quotes stay);
- call notes (the phone number and the reason written on closing) older than
  ``call_notes_years`` are cleared;
- accounts whose address was never confirmed, older than ``unverified_account_days``, are
  deleted when nothing refers to them, else anonymised;
- the audit trail's actor names older than ``audit_actor_years`` become "Anonymised person".

The row-level rules write one audit entry for the run, with counts. A dry run does all of it
inside a transaction that is rolled back, so its counts are exactly what a real run would do.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from bookings.audit import audit_record
from bookings.models import AuditEntry, Booking, Order, WaitingListEntry
from evaluation.models import Answer, FollowUpCall, Response, RetentionPolicy
from evaluation.privacy.anonymise import mentions_scrub, person_anonymise
from evaluation.privacy.people import ANONYMISED_NAME, Person, people_all

RETENTION_ACTION = "personal data anonymised (retention)"
SYSTEM_LABELS = ("system", "stripe", ANONYMISED_NAME)


@dataclass
class RetentionResult:
    as_of: dt.date
    dry_run: bool
    people: int = 0
    counts: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        verb = "Would change" if self.dry_run else "Changed"
        lines = [f"{verb} (as of {self.as_of:%Y-%m-%d}): {self.people} people anonymised"]
        lines += [
            f"  {kind.replace('_', ' ')}: {number}" for kind, number in sorted(self.counts.items())
        ]
        return lines


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _inactive_people(cutoff: dt.datetime) -> list[Person]:
    return [
        person
        for person in people_all()
        if not person.is_anonymised and (person.last_active is None or person.last_active < cutoff)
    ]


def _unverified_accounts(cutoff: dt.datetime, result: RetentionResult, now: dt.datetime) -> None:
    """Delete never-confirmed accounts that nothing refers to; anonymise the others."""
    User = get_user_model()
    verified = EmailAddress.objects.filter(user=OuterRef("pk"), verified=True)
    stale = User.objects.filter(
        date_joined__lt=cutoff, is_staff=False, is_superuser=False, is_active=True
    ).exclude(Exists(verified))
    for user in stale:
        in_use = (
            Booking.objects.filter(attendee=user).exists()
            or Order.objects.filter(booked_by=user).exists()
            or WaitingListEntry.objects.filter(person=user).exists()
            or FollowUpCall.objects.filter(person=user).exists()
        )
        if in_use:
            person = Person(user_ids={user.pk}, emails={user.email.lower()})
            counts = person_anonymise(person=person, reason=RETENTION_ACTION, actor=None, now=now)
            result.people += 1
            result.counts.update(counts)
            continue
        audit_record(
            obj=user,
            action="unconfirmed account deleted (retention)",
            actor=None,
            now=now,
            changes={"accounts": 1},
        )
        user.delete()
        result.counts["unverified_accounts_deleted"] += 1


def _free_text(policy: RetentionPolicy, as_of: dt.date, result: RetentionResult) -> None:
    old = Response.objects.filter(submitted_at__lt=_start_of(policy.free_text_cutoff(as_of)))
    result.counts["survey_free_text"] += (
        Answer.objects.filter(response__in=old).exclude(text="").update(text="")
    )
    result.counts["survey_free_text"] += (
        old.filter(quote_consent=False).exclude(quote="").update(quote="")
    )


def _call_notes(policy: RetentionPolicy, as_of: dt.date, result: RetentionResult) -> None:
    cutoff = _start_of(policy.call_notes_cutoff(as_of))
    old = FollowUpCall.objects.filter(
        Q(closed_at__lt=cutoff) | Q(closed_at=None, created_at__lt=cutoff)
    ).exclude(phone="", close_reason="")
    result.counts["call_notes"] += old.update(phone="", close_reason="")


def _audit_actors(policy: RetentionPolicy, as_of: dt.date, result: RetentionResult) -> None:
    old = AuditEntry.objects.filter(at__lt=_start_of(policy.audit_actor_cutoff(as_of))).exclude(
        actor_label__in=SYSTEM_LABELS, actor=None
    )
    result.counts["audit_actor_names"] += old.update(actor_label=ANONYMISED_NAME, actor=None)


def retention_apply(*, as_of: dt.date, dry_run: bool, now: dt.datetime) -> RetentionResult:
    """Apply the retention policy as if today were ``as_of``; with ``dry_run`` change nothing
    and return what would change, by kind, with counts."""
    result = RetentionResult(as_of=as_of, dry_run=dry_run)
    # One transaction: a run is all or nothing, and a dry run is a real run rolled back.
    with transaction.atomic():
        policy = RetentionPolicy.current()
        anonymised_emails: set[str] = set()
        for person in _inactive_people(_start_of(policy.contact_cutoff(as_of))):
            counts = person_anonymise(
                person=person, reason=RETENTION_ACTION, actor=None, now=now, scan_mentions=False
            )
            anonymised_emails |= person.emails
            result.people += 1
            result.counts.update(counts)
        result.counts.update(mentions_scrub(emails=anonymised_emails))
        _unverified_accounts(_start_of(policy.unverified_cutoff(as_of)), result, now)
        _free_text(policy, as_of, result)
        _call_notes(policy, as_of, result)
        _audit_actors(policy, as_of, result)
        result.counts = Counter({kind: n for kind, n in result.counts.items() if n})
        rows = {kind: n for kind, n in result.counts.items()}
        if rows and not dry_run:
            audit_record(
                obj=policy,
                action="retention applied",
                actor=None,
                now=now,
                changes={"as_of": as_of, "people": result.people, **rows},
            )
        if dry_run:
            transaction.set_rollback(True)
    return result


def retention_summary(policy: RetentionPolicy) -> list[tuple[str, str]]:
    """The periods as the privacy notice states them."""

    def years(number: int) -> str:
        return f"{number} year{'s' if number != 1 else ''}"

    return [
        (
            "Your name, email address, phone number and job title",
            f"{years(policy.contact_years)} after your last booking, call or survey answer",
        ),
        (
            "What you wrote in a survey",
            f"{years(policy.free_text_years)}, except an example you agreed we may quote "
            "without your name",
        ),
        ("Notes of a follow-up call", years(policy.call_notes_years)),
        (
            "An account whose email address was never confirmed",
            f"{policy.unverified_account_days} days",
        ),
        ("Your name in our record of who changed what", years(policy.audit_actor_years)),
        (
            "Bookings, attendance, payments and invoices",
            "kept, without your name, so the board's figures stay true",
        ),
    ]
