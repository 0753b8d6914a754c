"""The "Practitioners told us" pages: a MAPIG session's or conference's messages, recorded,
changed and deleted by the administrator or the session's trainers."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from bookings.permissions import can_manage_sessions, can_record_session_messages
from evaluation.errors import EvaluationError
from evaluation.models import SessionMessage
from evaluation.reports.services import (
    MESSAGE_MAX_LENGTH,
    session_message_add,
    session_message_delete,
    session_message_update,
)
from training.models import Session


class MessageForm(forms.Form):
    text = forms.CharField(
        label="What practitioners told you",
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea,
        help_text="As it may be published in the annual report: no names.",
        error_messages={"required": "Write what practitioners told you."},
    )


def _session_or_404(request: HttpRequest, pk: int) -> Session:
    session = get_object_or_404(
        Session.objects.select_related("course", "venue").prefetch_related("parts"), pk=pk
    )
    if not can_record_session_messages(request.user, session):
        raise Http404("No such page.")
    return session


def _message_or_404(request: HttpRequest, pk: int) -> SessionMessage:
    message = get_object_or_404(
        SessionMessage.objects.select_related("session__course", "session__venue"), pk=pk
    )
    if not can_record_session_messages(request.user, message.session):
        raise Http404("No such page.")
    return message


def _saved(
    request: HttpRequest, form: MessageForm, save: Callable[[str], object], *, done: str
) -> bool:
    """A posted, valid form's text saved by ``save`` (True, and ``done`` said), or the
    service's refusal shown on the form (False); False too when nothing was posted."""
    if request.method != "POST" or not form.is_valid():
        return False
    try:
        save(form.cleaned_data["text"])
    except EvaluationError as error:
        form.add_error("text", str(error))
        return False
    messages.success(request, done)
    return True


@login_required
def session_messages(request: HttpRequest, pk: int) -> HttpResponse:
    """The session's messages in order, and a form to add one."""
    session = _session_or_404(request, pk)
    form = MessageForm(request.POST or None)
    if _saved(
        request,
        form,
        lambda text: session_message_add(
            session=session, text=text, user=request.user, now=timezone.now()
        ),
        done="Message saved.",
    ):
        return redirect("reports:session_messages", session.pk)
    return render(
        request,
        "evaluation/reports/annual/session_messages.html",
        {
            "session": session,
            "recorded": session.messages.order_by("order", "pk"),
            "form": form,
            "is_admin": can_manage_sessions(request.user),
        },
    )


@login_required
def session_message_edit(request: HttpRequest, pk: int) -> HttpResponse:
    message = _message_or_404(request, pk)
    form = MessageForm(request.POST or None, initial={"text": message.text})
    if _saved(
        request,
        form,
        lambda text: session_message_update(
            message=message, text=text, user=request.user, now=timezone.now()
        ),
        done="Message changed.",
    ):
        return redirect("reports:session_messages", message.session_id)
    return render(
        request,
        "evaluation/reports/annual/session_message_edit.html",
        {"session": message.session, "message": message, "form": form},
    )


@login_required
@require_POST
def session_message_remove(request: HttpRequest, pk: int) -> HttpResponse:
    message = _message_or_404(request, pk)
    session_id = message.session_id
    session_message_delete(message=message, user=request.user, now=timezone.now())
    messages.success(request, "Message deleted.")
    return redirect("reports:session_messages", session_id)
