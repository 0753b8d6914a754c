"""The privacy pages: the notice, a person's copy of their data, and erasure on request."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from evaluation.errors import EvaluationError
from evaluation.models import RetentionPolicy
from evaluation.privacy.erasure import person_erase, person_erase_refusals
from evaluation.privacy.export import person_export
from evaluation.privacy.people import is_anonymised_email, person_of_user
from evaluation.privacy.retention import retention_summary
from training.roles import Role, role_required

ZIP_CONTENT_TYPE = "application/zip"


@require_GET
def notice(request: HttpRequest) -> HttpResponse:
    """Who holds the data, why, for how long (from the policy) and how to ask."""
    return render(
        request,
        "privacy/notice.html",
        {
            "periods": retention_summary(RetentionPolicy.current()),
            "controller": settings.DATA_CONTROLLER_NAME,
            "contact_email": settings.DATA_PROTECTION_EMAIL,
        },
    )


def _zip(person_user: Any, *, filename: str) -> HttpResponse:
    now = timezone.now()
    content = person_export(person=person_of_user(person_user), now=now)
    response = HttpResponse(content, content_type=ZIP_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}-{now:%Y-%m-%d}.zip"'
    return response


@login_required
@require_GET
def my_data(request: HttpRequest) -> HttpResponse:
    """A signed-in person's own copy of everything held about them."""
    return _zip(request.user, filename="my-data")


def _person_or_404(user_id: int) -> Any:
    person = get_user_model().objects.filter(pk=user_id).first()
    if person is None:
        raise Http404("No such person.")
    return person


@role_required(Role.TRAINING_ADMINISTRATOR, hide=True)
@require_GET
def person_data(request: HttpRequest, user_id: int) -> HttpResponse:
    """The administrator's answer to a subject access request."""
    return _zip(_person_or_404(user_id), filename=f"person-{user_id}-data")


@role_required(Role.TRAINING_ADMINISTRATOR, hide=True)
@require_http_methods(["GET", "POST"])
def person_erase_page(request: HttpRequest, user_id: int) -> HttpResponse:
    """Erasure on request: what will happen, why it cannot yet (if so), then a confirmation."""
    user = _person_or_404(user_id)
    now = timezone.now()
    person = person_of_user(user)
    already = is_anonymised_email(user.email)
    refusals = [] if already else person_erase_refusals(person=person, now=now)
    error = ""
    if request.method == "POST" and not already and not refusals:
        if request.POST.get("confirm") != "yes":
            error = "Tick the box to confirm that this person asked for their data to be erased."
        else:
            try:
                counts = person_erase(person=person, actor=request.user, now=now)
            except EvaluationError as problem:
                refusals = [str(problem)]
            else:
                total = sum(counts.values())
                messages.success(request, f"Their personal data has been erased ({total} records).")
                return redirect("training:person", user_id=user.pk)
    return render(
        request,
        "privacy/erase.html",
        {"person": user, "refusals": refusals, "already": already, "error": error},
        status=400 if error else 200,
    )
