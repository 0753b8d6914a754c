"""Pages for community members working through their 'test and check' calls (their own only)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count, Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from evaluation.calls.forms import CallAttemptForm, CallScriptForm
from evaluation.calls.services import call_attempt_record, call_complete
from evaluation.errors import EvaluationError
from evaluation.models import (
    MAX_CALL_ATTEMPTS,
    AttemptOutcome,
    CallAttempt,
    CallStatus,
    FollowUpCall,
    Survey,
    SurveyKind,
)
from training.roles import Role, role_required

# --- community members' calls --------------------------------------------------------------


def _my_calls(user: Any) -> Any:
    """Only the signed-in member's calls, with only the columns a call page may show."""
    return (
        FollowUpCall.objects.filter(assigned_to=user)
        .select_related("booking__session__course", "booking__agency")
        .only(
            "pk",
            "status",
            "phone",
            "call_back_at",
            "month",
            "closed_at",
            "assigned_to_id",
            "booking__attendee_name",
            "booking__agency__name",
            "booking__session__starts_at",
            "booking__session__course__title",
        )
    )


def _call_or_404(user: Any, pk: int) -> FollowUpCall:
    call = (
        _my_calls(user)
        .prefetch_related(Prefetch("attempts", queryset=CallAttempt.objects.order_by("number")))
        .filter(pk=pk)
        .first()
    )
    if call is None:
        # Another member's call, or none at all: the same answer, so nothing is confirmed.
        raise Http404("No such call on your list.")
    return call


@role_required(Role.COMMUNITY_MEMBER)
def call_list(request: HttpRequest) -> HttpResponse:
    calls = _my_calls(request.user).annotate(attempt_count=Count("attempts"))
    open_calls = calls.filter(status=CallStatus.OPEN).order_by(
        "call_back_at", "booking__session__starts_at", "pk"
    )
    done = calls.exclude(status=CallStatus.OPEN).order_by("-closed_at", "-pk")[:20]
    return render(
        request,
        "evaluation/call_list.html",
        {
            "open_calls": list(open_calls),
            "done_calls": list(done),
            "max_attempts": MAX_CALL_ATTEMPTS,
        },
    )


@role_required(Role.COMMUNITY_MEMBER)
@require_http_methods(["GET", "POST"])
def call_detail(request: HttpRequest, pk: int) -> HttpResponse:
    call = _call_or_404(request.user, pk)
    attempts = list(call.attempts.all())
    reached = bool(attempts) and attempts[-1].outcome == AttemptOutcome.REACHED
    # ?stop: they were reached but cannot talk after all; record a call back or a refusal.
    stopping = reached and "stop" in (request.POST if request.method == "POST" else request.GET)
    if call.is_open and reached and not stopping:
        return redirect("evaluation:call_script", pk=call.pk)
    now = timezone.now()
    form = CallAttemptForm(
        request.POST if request.method == "POST" else None, now=now, stopping=stopping
    )
    if request.method == "POST" and call.is_open and form.is_valid():
        try:
            attempt = call_attempt_record(
                call=call,
                outcome=form.cleaned_data["outcome"],
                call_back_at=form.cleaned_data.get("call_back_at"),
                member=request.user,
                now=now,
            )
        except EvaluationError as error:
            form.add_error(None, str(error))
        else:
            if attempt.outcome == AttemptOutcome.REACHED:
                return redirect("evaluation:call_script", pk=call.pk)
            messages.success(request, _attempt_message(attempt))
            return redirect("evaluation:call_list")
    return render(
        request,
        "evaluation/call_detail.html",
        {
            "call": call,
            "attempts": attempts,
            "attempts_left": MAX_CALL_ATTEMPTS - len(attempts),
            "form": form,
            "stopping": stopping,
            "script": Survey.objects.filter(kind=SurveyKind.CALL_SCRIPT).first(),
        },
    )


def _attempt_message(attempt: CallAttempt) -> str:
    name = attempt.call.booking.attendee_name
    left = MAX_CALL_ATTEMPTS - attempt.number
    if attempt.call.status == CallStatus.UNREACHABLE:
        return f"Call to {name} closed: not reached in {MAX_CALL_ATTEMPTS} attempts."
    if attempt.outcome == AttemptOutcome.WRONG_NUMBER:
        return f"Call to {name} closed: wrong number."
    if attempt.outcome == AttemptOutcome.DECLINED:
        return f"Call to {name} closed: they did not want to take part."
    tries = f"{left} attempt{'s' if left != 1 else ''} left"
    if attempt.call_back_at:
        when = timezone.localtime(attempt.call_back_at)
        return f"Call {name} back on {when:%A %-d %B at %H:%M} ({tries})."
    return f"No answer from {name} recorded ({tries})."


@role_required(Role.COMMUNITY_MEMBER)
@require_http_methods(["GET", "POST"])
def call_script(request: HttpRequest, pk: int) -> HttpResponse:
    call = _call_or_404(request.user, pk)
    attempts = list(call.attempts.all())
    if not call.is_open or not attempts or attempts[-1].outcome != AttemptOutcome.REACHED:
        return redirect("evaluation:call", pk=call.pk)
    script = Survey.objects.filter(kind=SurveyKind.CALL_SCRIPT).first()
    if script is None:
        raise Http404("There is no call script yet.")
    form = CallScriptForm(
        request.POST if request.method == "POST" else None,
        questions=list(script.asked_questions()),
    )
    if request.method == "POST" and form.is_valid():
        try:
            call_complete(
                call=call,
                answers=form.answers(),
                impact_codes=form.cleaned_data["impact_codes"],
                good_practice=form.cleaned_data["good_practice"],
                member=request.user,
                now=timezone.now(),
            )
        except EvaluationError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Call to {call.booking.attendee_name} completed. Thank you.")
            return redirect("evaluation:call_list")
    return render(
        request,
        "evaluation/call_script.html",
        {
            "call": call,
            "script": script,
            "form": form,
        },
    )
