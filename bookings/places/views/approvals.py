"""The line manager's (or the training team's) answer from the emailed link."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from bookings.errors import BookingError
from bookings.places.approvals import (
    Decision,
    approval_decide,
    approval_from_token,
    approval_problem,
)


def approval_answer(request: HttpRequest, token: str) -> HttpResponse:
    """No account needed: the signed link is the permission. A GET only shows the booking
    and the button; the answer is the POST, so a mail scanner following the link does
    nothing."""
    try:
        approval, decision = approval_from_token(token)
    except BookingError as error:
        return render(
            request, "bookings/approval_invalid.html", {"message": str(error)}, status=404
        )
    now = timezone.now()
    booking = approval.booking
    context = {
        "approval": approval,
        "booking": booking,
        "session": booking.session,
        "decision": decision,
        "approving": decision == Decision.APPROVE,
        "now": now,
    }
    if request.method == "POST":
        reason = request.POST.get("reason", "").strip()[:500]
        try:
            outcome = approval_decide(
                approval=approval,
                decision=decision,
                decided_by=approval.approver_email or "approval link",
                reason=reason,
                now=now,
            )
        except BookingError as error:
            approval.refresh_from_db()
            return render(
                request, "bookings/approval.html", {**context, "error": str(error)}, status=409
            )
        return render(request, "bookings/approval_done.html", {**context, "outcome": outcome})
    problem = approval_problem(approval, session_status=booking.session.status, now=now)
    if problem:
        return render(request, "bookings/approval.html", {**context, "error": problem})
    return render(request, "bookings/approval.html", context)
