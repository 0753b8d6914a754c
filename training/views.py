from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from training.auth import profile_of
from training.forms import CatalogueFilterForm, ProfileForm
from training.models import PriceBand, Profile
from training.roles import Role, has_role
from training.selectors import (
    catalogue_sessions,
    catalogue_themes,
    price_bands,
    sessions_with_places,
)
from training.services import TrainingError, profile_update

SESSIONS_PER_PAGE = 25


def viewer_band(user: Any) -> PriceBand | None:
    """The price band of the signed-in person's sector, if they have told us their agency."""
    profile = profile_of(user)
    if profile is None or profile.agency is None:
        return None
    return profile.agency.sector.price_band


def catalogue(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    form = CatalogueFilterForm(
        request.GET or None, themes=catalogue_themes(), today=timezone.localdate(now)
    )
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        filters = {
            "kind": form.cleaned_data["kind"],
            "theme": form.cleaned_data["theme"],
            "area": form.cleaned_data["area"],
            "month": form.month_start(),
            "with_places_only": form.cleaned_data["places"],
        }
    sessions = catalogue_sessions(now=now, **filters)
    page = Paginator(sessions, SESSIONS_PER_PAGE).get_page(request.GET.get("page"))
    band = viewer_band(request.user)
    bands = price_bands()
    rows = [
        {
            "session": session,
            "price": session.price_for_band(band.pk) if band else None,
            "prices": None if band else session.price_table(bands),
            "open_for_booking": session.is_open_for_booking(now),
        }
        for session in page.object_list
    ]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "training/catalogue.html",
        {
            "form": form,
            "rows": rows,
            "page": page,
            "band": band,
            "bands": bands,
            "querystring": query.urlencode(),
        },
    )


def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    now = timezone.now()
    session = get_object_or_404(
        sessions_with_places(now)
        .select_related("course", "venue")
        .prefetch_related(
            "parts", "trainers", "price_overrides", "course__prices", "course__outcomes"
        ),
        pk=pk,
    )
    if session.status != "published" and not has_role(request.user, Role.TRAINING_ADMINISTRATOR):
        raise Http404("No such session.")
    band = viewer_band(request.user)
    bands = price_bands()
    # Who is waiting belongs to bookings; asked here only so a full session does not offer
    # the waiting list to someone already on it.
    from bookings.selectors import is_on_waiting_list

    return render(
        request,
        "training/session_detail.html",
        {
            "on_waiting_list": session.places_left_count <= 0
            and is_on_waiting_list(session.pk, request.user),
            "session": session,
            "band": band,
            "price": session.price_for_band(band.pk) if band else None,
            "price_table": session.price_table(bands),
            "open_for_booking": session.is_open_for_booking(now),
            "has_started": session.starts_at is not None and session.starts_at <= now,
        },
    )


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    profile_obj, _ = Profile.objects.get_or_create(user=user)
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
            profile_update(
                user=user,
                first_name=data["first_name"],
                last_name=data["last_name"],
                job_title=data["job_title"],
                phone=data["phone"],
                agency=data["agency"],
                new_agency_name=data["new_agency_name"],
                new_agency_sector=data["new_agency_sector"],
                consent_to_calls=data["consent_to_calls"],
            )
        except TrainingError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Your details have been saved.")
            return redirect("training:profile")
    return render(request, "training/profile.html", {"form": form, "profile": profile_obj})


@login_required
def person_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    """Another person's details: the administrator sees everyone, a booker their agency's staff."""
    person = get_object_or_404(get_user_model(), pk=user_id)
    person_profile = Profile.objects.filter(user=person).select_related("agency__sector").first()
    viewer: Any = request.user
    allowed = has_role(viewer, Role.TRAINING_ADMINISTRATOR)
    if not allowed and has_role(viewer, Role.AGENCY_BOOKER):
        own_profile = profile_of(viewer)
        own = own_profile.agency_id if own_profile else None
        allowed = bool(own) and person_profile is not None and person_profile.agency_id == own
    if not allowed:
        # 404, not 403: do not confirm that the person exists.
        raise Http404("No such person.")
    return render(
        request, "training/person_detail.html", {"person": person, "profile": person_profile}
    )
