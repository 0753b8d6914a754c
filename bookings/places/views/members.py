"""Who speaks for an agency: requests to join it, its members and their booker rights."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from bookings.errors import BookingError
from bookings.permissions import booker_agency, can_approve_membership, can_grant_booker, is_admin
from bookings.places.membership import booker_grant, booker_revoke, membership_approve
from training.membership import agency_members, pending_requests, profile_for_approval_token
from training.models import BookerGrant, Profile


def _name(profile: Profile) -> str:
    return str(profile.user.get_full_name() or profile.user.email)


@login_required
def members(request: HttpRequest) -> HttpResponse:
    """A booker's agency: requests to approve, members and their booker rights. The training
    team sees every agency's requests (grants are on each agency's admin page)."""
    agency = booker_agency(request.user)
    if agency is None and not is_admin(request.user):
        raise Http404("No such page.")
    requests = pending_requests(agency_ids=None if agency is None else [agency.pk])
    people: list[tuple[Profile, BookerGrant | None]] = []
    if agency is not None:
        grants = {
            grant.user_id: grant
            for grant in BookerGrant.objects.filter(agency=agency, revoked_at=None)
        }
        people = [(profile, grants.get(profile.user_id)) for profile in agency_members(agency)]
    return render(
        request,
        "bookings/members/members.html",
        {"agency": agency, "requests": requests, "people": people},
    )


def _approve(request: HttpRequest, profile: Profile) -> HttpResponse:
    try:
        approved = membership_approve(profile=profile, actor=request.user, now=timezone.now())
    except BookingError as error:
        messages.error(request, str(error))
    else:
        agency_name = profile.agency.name if profile.agency else ""
        if approved:
            messages.success(request, f"{_name(profile)} is now a member of {agency_name}.")
        else:
            messages.info(request, f"{_name(profile)} was already a member of {agency_name}.")
    return redirect("bookings:members")


@login_required
def membership_approve_link(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: a page that asks to confirm (a mail scanner's GET changes nothing)."""
    profile = profile_for_approval_token(token)
    if profile is None or not can_approve_membership(request.user, profile.agency_id):
        # Also 404 for another agency's booker: the request is none of their business.
        raise Http404("This link is not valid, has expired, or the request has changed.")
    if request.method == "POST":
        return _approve(request, profile)
    return render(request, "bookings/members/approve.html", {"profile": profile, "token": token})


@login_required
@require_POST
def membership_approve_request(request: HttpRequest, pk: int) -> HttpResponse:
    profile = get_object_or_404(
        Profile.objects.select_related("user", "agency"), pk=pk, agency__isnull=False
    )
    if not can_approve_membership(request.user, profile.agency_id):
        raise Http404("No such request.")
    return _approve(request, profile)


@login_required
@require_POST
def booker_grant_add(request: HttpRequest, pk: int) -> HttpResponse:
    profile = get_object_or_404(
        Profile.objects.select_related("user", "agency"), pk=pk, agency__isnull=False
    )
    agency: Any = profile.agency
    if not can_grant_booker(request.user, agency.pk):
        raise Http404("No such person.")
    try:
        booker_grant(person=profile.user, agency=agency, actor=request.user, now=timezone.now())
    except BookingError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{_name(profile)} can now book for {agency.name}.")
    return redirect("bookings:members")


@login_required
@require_POST
def booker_grant_end(request: HttpRequest, pk: int) -> HttpResponse:
    grant = get_object_or_404(BookerGrant.objects.select_related("user", "agency"), pk=pk)
    if not can_grant_booker(request.user, grant.agency_id):
        raise Http404("No such grant.")
    try:
        booker_revoke(grant=grant, actor=request.user, now=timezone.now())
    except BookingError as error:
        messages.error(request, str(error))
    else:
        who = grant.user.get_full_name() or grant.user.email
        messages.success(request, f"{who} can no longer book for {grant.agency.name}.")
    if grant.user_id == request.user.pk:
        return redirect("training:profile")  # gave up their own rights: the page is gone
    return redirect("bookings:members")
