from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from training.forms import ProfileForm
from training.models import Profile
from training.roles import can_see_person
from training.services import TrainingError, profile_update


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    profile_obj, _ = Profile.objects.get_or_create(user=user)
    first_time = not profile_obj.is_complete
    next_url = _safe_next(request)
    initial = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "job_title": profile_obj.job_title,
        "phone": profile_obj.phone,
        "agency": profile_obj.agency_id,
        "consent_to_calls": profile_obj.consent_to_calls,
    }
    form = ProfileForm(request.POST or None, initial=initial, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            profile_obj, verified = profile_update(
                user=user,
                first_name=data["first_name"],
                last_name=data["last_name"],
                job_title=data["job_title"],
                phone=data["phone"],
                agency=data["agency"],
                new_agency_name=data["new_agency_name"],
                new_agency_sector=data["new_agency_sector"],
                consent_to_calls=data["consent_to_calls"],
                now=timezone.now(),
            )
        except TrainingError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _saved_message(profile_obj, verified))
            if first_time and profile_obj.is_complete:
                # Set up for the first time: on to what they came for (the page they were
                # booking), or the catalogue.
                return redirect(next_url or reverse("bookings:catalogue"))
            return redirect(next_url or reverse("training:profile"))
    return render(
        request,
        "training/profile.html",
        {"form": form, "profile": profile_obj, "next_url": next_url},
    )


def _safe_next(request: HttpRequest) -> str:
    """The ``next`` page asked for, only if it is on this site."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _saved_message(profile_obj: Profile, verified: bool) -> str:
    agency = profile_obj.agency
    if agency is None or verified:
        return "Your details have been saved."
    if not agency.approved:
        return (
            f"Your details have been saved. The training team will check {agency.name} and "
            "its sector; until then you book as an individual."
        )
    return (
        f"Your details have been saved. We have asked {agency.name}'s booker (or the training "
        "team) to confirm that you work there; until then you book as an individual."
    )


@login_required
def person_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    """A person's details, for whoever ``can_see_person`` allows (the training record's rule)."""
    person = get_user_model().objects.filter(pk=user_id).first()
    if person is None or not can_see_person(request.user, person):
        # 404, not 403: do not confirm that the person exists.
        raise Http404("No such person.")
    person_profile = Profile.objects.filter(user=person).select_related("agency__sector").first()
    return render(
        request, "training/person_detail.html", {"person": person, "profile": person_profile}
    )
