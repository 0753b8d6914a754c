"""Approval of a place: the line manager's (then the training team's) one-click answer.

A booking on a course that needs approval is made AWAITING_APPROVAL, holding its place until
``hold_expires_at`` (``BOOKING_APPROVAL_WORKING_DAYS`` working days) like a payment hold. The
manager is emailed two signed links, Approve and Decline; each opens a page that shows the
booking and asks for one press of a button (a POST), so a mail scanner that follows links
changes nothing. An answer is taken under the session's lock and as conditional updates of
the approval and the booking, so two answers at once give one decision.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from bookings import jobs
from bookings.audit import audit_entry, audit_record
from bookings.errors import BookingError
from bookings.locking import lock_rows
from bookings.models import (
    ZERO,
    Approval,
    ApprovalStage,
    ApprovalStatus,
    AuditEntry,
    Booking,
    BookingStatus,
    OutgoingEmail,
    PaymentMethod,
)
from bookings.money.confirmations import confirmation_emails
from bookings.money.invoices import order_invoice_write
from bookings.outbox import email_queue, emails_queue, outgoing_email
from bookings.states import booking_status_set
from training.dates import working_days_after
from training.models import ApprovalRule, SessionStatus

_SALT = "bookings.approval"


class Decision:
    APPROVE = "approve"
    DECLINE = "decline"


@dataclass(frozen=True)
class ManagerSpec:
    """Who approves: the line manager's name and work email (blank when a booker recorded
    that the manager already agreed)."""

    name: str = ""
    email: str = ""
    agreed: bool = False


def approval_deadline(now: dt.datetime) -> dt.datetime:
    """The end of the working day ``BOOKING_APPROVAL_WORKING_DAYS`` working days from now."""
    day = working_days_after(timezone.localdate(now), settings.BOOKING_APPROVAL_WORKING_DAYS)
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, 17, 0))


def _reminder_at(now: dt.datetime, expires_at: dt.datetime) -> dt.datetime:
    # One reminder, a working day before the request runs out (or half way on a short one).
    day = working_days_after(timezone.localdate(now), settings.BOOKING_APPROVAL_WORKING_DAYS - 1)
    at = timezone.make_aware(dt.datetime(day.year, day.month, day.day, 9, 0))
    return at if now < at < expires_at else now + (expires_at - now) / 2


# --- links -----------------------------------------------------------------------------------


def approval_token(approval: Approval, decision: str) -> str:
    """A signed, tamper-evident token for one answer to one approval."""
    return signing.dumps({"a": approval.pk, "s": approval.secret, "d": decision}, salt=_SALT)


def approval_url(approval: Approval, decision: str) -> str:
    return settings.SITE_URL + reverse(
        "bookings:approval", args=[approval_token(approval, decision)]
    )


def approval_from_token(token: str) -> tuple[Approval, str]:
    """The approval and the answer a link stands for; BookingError for a forged or altered one."""
    try:
        data = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        raise BookingError("This link is not valid. Open the link in the email again.") from None
    if (
        not isinstance(data, dict)
        or data.get("d") not in (Decision.APPROVE, Decision.DECLINE)
        or not isinstance(data.get("a"), int)
        or not isinstance(data.get("s"), str)
    ):
        raise BookingError("This link is not valid. Open the link in the email again.")
    approval = (
        Approval.objects.select_related(
            "booking__session__course", "booking__session__venue", "booking__order__booked_by"
        )
        .filter(pk=int(data["a"]), secret=str(data["s"]))
        .first()
    )
    if approval is None:
        raise BookingError("This link is not valid. Open the link in the email again.")
    return approval, str(data["d"])


# --- asking ----------------------------------------------------------------------------------


def _request_emails(approval: Approval, *, reminder: bool) -> list[OutgoingEmail | None]:
    context = {
        "approve_url": approval_url(approval, Decision.APPROVE),
        "decline_url": approval_url(approval, Decision.DECLINE),
        "approver_name": approval.approver_name,
        "expires_at": approval.expires_at,
        "reminder": reminder,
    }
    if approval.stage == ApprovalStage.TEAM:
        return [
            outgoing_email(
                kind="approval_team_request",
                to=settings.TRAINING_TEAM_EMAIL,
                booking=approval.booking,
                context=context,
            )
        ]
    return [
        outgoing_email(
            kind="approval_request",
            to=approval.approver_email,
            booking=approval.booking,
            context=context,
        )
    ]


def approvals_request(
    *, bookings: list[Booking], manager: ManagerSpec, actor: Any, now: dt.datetime
) -> tuple[list[AuditEntry], list[OutgoingEmail | None]]:
    """Ask the line manager to approve these just-made AWAITING_APPROVAL places (inside the
    booking's transaction); returns the audit entries and emails for the caller to write."""
    expires_at = approval_deadline(now)
    approvals = Approval.objects.bulk_create(
        [
            Approval(
                booking=booking,
                stage=ApprovalStage.MANAGER,
                approver_name=manager.name,
                approver_email=manager.email,
                created_at=now,
                expires_at=expires_at,
                remind_at=_reminder_at(now, expires_at),
            )
            for booking in bookings
        ]
    )
    audits = [
        audit_entry(
            obj=approval.booking,
            action="approval asked of line manager",
            actor=actor,
            now=now,
            changes={"manager": manager.email, "expires_at": expires_at},
        )
        for approval in approvals
    ]
    emails: list[OutgoingEmail | None] = []
    for approval in approvals:
        emails += _request_emails(approval, reminder=False)
    return audits, emails


# --- answering -------------------------------------------------------------------------------


def _place_go_ahead(booking: Booking, *, actor: Any, now: dt.datetime) -> str:
    """Every approval is in: confirm the place, or hold it for card payment."""
    emails: list[OutgoingEmail | None] = []
    if booking.payment_method == PaymentMethod.CARD and booking.price > ZERO:
        booking_status_set(
            booking,
            BookingStatus.HELD,
            expected=BookingStatus.AWAITING_APPROVAL,
            actor=actor,
            now=now,
            hold_expires_at=now + dt.timedelta(hours=settings.BOOKING_APPROVED_PAYMENT_HOURS),
        )
        emails.append(
            outgoing_email(kind="approval_granted_pay", to=booking.attendee_email, booking=booking)
        )
        emails_queue(emails)
        return "approved: waiting for payment"
    booking_status_set(
        booking,
        BookingStatus.CONFIRMED,
        expected=BookingStatus.AWAITING_APPROVAL,
        actor=actor,
        now=now,
        confirmed_at=now,
        hold_expires_at=None,
    )
    if booking.payment_method == PaymentMethod.INVOICE:
        _, invoice_audit, invoice_email = order_invoice_write(
            order=booking.order, bookings=[booking], now=now, actor=actor
        )
        invoice_audit.save()
        emails.append(invoice_email)
    emails += confirmation_emails(booking.order, [booking], now=now)
    emails_queue(emails)
    return "approved: place confirmed"


def _place_release(
    booking: Booking, *, status: str, reason: str, kind: str, actor: Any, now: dt.datetime
) -> None:
    booking_status_set(
        booking,
        status,
        expected=BookingStatus.AWAITING_APPROVAL,
        actor=actor,
        now=now,
        cancelled_at=now,
        cancellation_reason=reason[:200],
        hold_expires_at=None,
    )
    addresses = {booking.attendee_email, getattr(booking.order.booked_by, "email", "").lower()}
    for address in sorted(addresses - {""}):
        email_queue(kind=kind, to=address, booking=booking, context={"reason": reason})
    jobs.enqueue_on_commit("offer_waiting_places", booking.session_id)


def approval_problem(approval: Approval, *, session_status: str, now: dt.datetime) -> str:
    """Why this request can no longer be answered, or "" if it can."""
    booking = approval.booking
    gone = approval.status == ApprovalStatus.WITHDRAWN or (
        approval.status == ApprovalStatus.PENDING
        and (
            booking.status != BookingStatus.AWAITING_APPROVAL
            or session_status != SessionStatus.PUBLISHED
        )
    )
    if gone:
        if session_status == SessionStatus.CANCELLED:
            return "This place is no longer waiting for approval: the session has been cancelled."
        return (
            "This place is no longer waiting for approval "
            f"(it is now {booking.get_status_display().lower()})."
        )
    if approval.status in (ApprovalStatus.APPROVED, ApprovalStatus.DECLINED):
        return f"This request has already been answered: {approval.get_status_display().lower()}."
    if not approval.is_open(now):
        return "This request ran out before it was answered, so the place has been released."
    return ""


def approval_decide(
    *, approval: Approval, decision: str, decided_by: str, reason: str = "", now: dt.datetime
) -> str:
    """Record one answer to an approval request; returns what became of the place.

    Raises BookingError (and changes nothing) when the request was already answered, has
    run out, or the place is no longer waiting (the session was cancelled meanwhile).
    """
    with transaction.atomic():
        # The session's lock: the place's status and the approval change together, and an
        # answer given at the same moment waits here and then finds this one's decision.
        session = lock_rows(sessions=[approval.booking.session_id]).sessions[
            approval.booking.session_id
        ]
        fresh = Approval.objects.select_related("booking__order__booked_by").get(pk=approval.pk)
        booking = fresh.booking
        problem = approval_problem(fresh, session_status=session.status, now=now)
        if problem:
            raise BookingError(problem)
        new_status = (
            ApprovalStatus.APPROVED if decision == Decision.APPROVE else ApprovalStatus.DECLINED
        )
        # Conditional: of two answers at once, only the first changes the row.
        if not Approval.objects.filter(pk=fresh.pk, status=ApprovalStatus.PENDING).update(
            status=new_status, decided_at=now, decided_by=decided_by[:254], reason=reason[:500]
        ):
            raise BookingError("This request has already been answered.")
        audit_record(
            obj=booking,
            action=f"{fresh.get_stage_display().lower()} {new_status}",
            actor=decided_by or None,
            now=now,
            changes={"approval": fresh.pk, "stage": fresh.stage, "reason": reason},
        )
        if new_status == ApprovalStatus.DECLINED:
            who = (
                "your line manager" if fresh.stage == ApprovalStage.MANAGER else "the training team"
            )
            _place_release(
                booking,
                status=BookingStatus.DECLINED,
                reason=f"Not approved by {who}" + (f": {reason}" if reason else ""),
                kind="approval_declined",
                actor=decided_by or None,
                now=now,
            )
            return "declined: place released"
        if (
            fresh.stage == ApprovalStage.MANAGER
            and session.course.approval == ApprovalRule.MANAGER_AND_TEAM
        ):
            return _team_ask(booking, actor=decided_by or None, now=now)
        return _place_go_ahead(booking, actor=decided_by or None, now=now)


def _team_ask(booking: Booking, *, actor: Any, now: dt.datetime) -> str:
    expires_at = approval_deadline(now)
    Booking.objects.filter(pk=booking.pk).update(hold_expires_at=expires_at)
    team = Approval.objects.create(
        booking=booking,
        stage=ApprovalStage.TEAM,
        approver_name=settings.UNIT_NAME,
        approver_email=settings.TRAINING_TEAM_EMAIL,
        created_at=now,
        expires_at=expires_at,
        remind_at=_reminder_at(now, expires_at),
    )
    audit_record(
        obj=booking,
        action="approval asked of training team",
        actor=actor,
        now=now,
        changes={"expires_at": expires_at},
    )
    emails_queue(_request_emails(team, reminder=False))
    return "approved by the line manager: waiting for the training team"


# --- the tick --------------------------------------------------------------------------------


def lapsed_approvals(*, now: dt.datetime) -> list[int]:
    return list(
        Approval.objects.filter(status=ApprovalStatus.PENDING, expires_at__lte=now)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )


def approval_expire(*, approval_id: int, now: dt.datetime) -> int:
    """A request nobody answered in time: release the place and say why. 1 if it did."""
    with transaction.atomic():
        approval = Approval.objects.select_related("booking").get(pk=approval_id)
        # The session lock: an answer arriving now either lands first or finds this.
        lock_rows(sessions=[approval.booking.session_id])
        if not Approval.objects.filter(
            pk=approval_id, status=ApprovalStatus.PENDING, expires_at__lte=now
        ).update(status=ApprovalStatus.EXPIRED, decided_at=now):
            return 0
        booking = Booking.objects.select_related("order__booked_by").get(pk=approval.booking_id)
        if booking.status != BookingStatus.AWAITING_APPROVAL:
            return 0
        audit_record(
            obj=booking,
            action=f"{approval.get_stage_display().lower()} approval expired",
            actor=None,
            now=now,
            changes={"approval": approval.pk},
        )
        who = (
            "your line manager" if approval.stage == ApprovalStage.MANAGER else "the training team"
        )
        _place_release(
            booking,
            status=BookingStatus.EXPIRED,
            reason=f"No answer from {who} in time",
            kind="approval_expired",
            actor=None,
            now=now,
        )
        return 1


def approval_reminders_send(*, now: dt.datetime) -> int:
    """Send the one reminder of each request that is due one; each claimed first."""
    sent = 0
    due = Approval.objects.filter(
        status=ApprovalStatus.PENDING, reminded_at=None, remind_at__lte=now, expires_at__gt=now
    ).values_list("pk", flat=True)
    for approval_id in list(due[:500]):
        with transaction.atomic():
            if not Approval.objects.filter(pk=approval_id, reminded_at=None).update(
                reminded_at=now
            ):
                continue  # another worker reminded first
            approval = Approval.objects.select_related("booking").get(pk=approval_id)
            emails_queue(_request_emails(approval, reminder=True))
            sent += 1
    return sent
