"""Roles are auth groups, created by a migration. Views check them; menus only mirror them."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from training.auth import profile_of
from training.membership import booker_agency_ids


class Role:
    PRACTITIONER = "Practitioner"
    # A label only (the demo and old data use it): booker rights are a BookerGrant for one
    # agency, see training.membership.booker_agency_ids.
    AGENCY_BOOKER = "Agency booker"
    TRAINING_ADMINISTRATOR = "Training administrator"
    COMMUNITY_MEMBER = "Community member"
    BOARD_VIEWER = "Board viewer"

    ALL = (PRACTITIONER, AGENCY_BOOKER, TRAINING_ADMINISTRATOR, COMMUNITY_MEMBER, BOARD_VIEWER)


def role_names(user: Any) -> frozenset[str]:
    """The user's role names, cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._role_names = cached
    return cached


def has_role(user: Any, *roles: str) -> bool:
    if getattr(user, "is_superuser", False):
        return True
    return bool(role_names(user) & set(roles))


def is_training_admin(user: Any) -> bool:
    return has_role(user, Role.TRAINING_ADMINISTRATOR)


def is_agency_booker(user: Any) -> bool:
    """Holds a booker grant for the agency they are a verified member of."""
    return bool(booker_agency_ids(user))


def can_see_person(viewer: Any, person: Any) -> bool:
    """Themselves; a booker (by grant) the verified members of the booker's agency;
    administrators all.

    The one rule for a person's details and their training record (``bookings.permissions``
    answers with this same function). A person's own say-so about their agency shows them to
    nobody: only a verified membership does.
    """
    if not getattr(viewer, "is_authenticated", False):
        return False
    if viewer.pk == person.pk or is_training_admin(viewer):
        return True
    theirs = profile_of(person)
    if theirs is None or theirs.verified_agency_id is None:
        return False
    return theirs.verified_agency_id in booker_agency_ids(viewer)


def role_required(
    *roles: str, hide: bool = False
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Refuse a signed-in user without one of ``roles`` (403, or 404 with ``hide`` for pages
    whose very existence is nobody else's business); send others to log in."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        @login_required
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not has_role(request.user, *roles):
                if hide:
                    raise Http404("No such page.")
                raise PermissionDenied("You do not have access to this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
