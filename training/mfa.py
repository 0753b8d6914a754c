"""A second factor for staff: administrators and board viewers set it up before anything else.

They can see everyone's data, so until they have an authenticator app (TOTP) set up, every
page sends them to allauth's set-up page (and back where they were going afterwards). Signing
in with a second factor set up is allauth's own step. Everyone else may set one up too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from training.roles import Role, has_role

# Pages a staff member without a second factor may still open: the accounts pages (signing
# in and out, setting up the second factor), the privacy notice and static files.
OPEN_PREFIXES = ("/accounts/", "/static/", "/privacy/notice/")


def needs_second_factor(user: Any) -> bool:
    """Staff who can see everyone's data: administrators (the Django admin's users, too) and
    board viewers."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(
        user.is_superuser
        or user.is_staff
        or has_role(user, Role.TRAINING_ADMINISTRATOR, Role.BOARD_VIEWER)
    )


def has_second_factor(user: Any) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def second_factor_required() -> bool:
    # Production always enforces it; only the test settings may switch it off.
    return bool(settings.PRODUCTION or settings.MFA_REQUIRED_FOR_STAFF)


class RequireSecondFactorMiddleware:
    """Send staff without a second factor to set one up, from any page but the open ones."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            second_factor_required()
            and not request.path.startswith(OPEN_PREFIXES)
            and needs_second_factor(request.user)
            and not has_second_factor(request.user)
        ):
            if "text/html" not in request.headers.get("Accept", "text/html"):
                # A font, image or download fetched by a page: refused, not redirected (each
                # visit to the set-up page makes a new secret, so it is only for the person).
                return HttpResponseForbidden(
                    "Set up two-step verification first.", content_type="text/plain"
                )
            target = reverse("mfa_activate_totp")
            return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


def admin_site_permission(request: HttpRequest) -> bool:
    """The Django admin is for training administrators only (and superusers)."""
    user = request.user
    return bool(user.is_active and user.is_staff and has_role(user, Role.TRAINING_ADMINISTRATOR))
