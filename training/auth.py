"""Authentication backends that load a person's profile and agency together with them.

Almost every page asks who the person works for (prices go by the agency's sector, bookers
see their agency's bookings) and what they may do, so the user is read with
``profile__agency__sector__price_band``, their role names and whether they hold a booker grant
for their verified agency, in the one query Django makes per request anyway, instead of two
or three more each time (``training.roles.role_names`` and
``training.membership.booker_agency_ids`` use what it read), written as plain SQL
(``training.user_read``).
"""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend

from training.models import Profile
from training.user_read import user_with_profile_read


class _UserWithProfile:
    def get_user(self, user_id: Any) -> Any:
        user = user_with_profile_read(user_id)
        if user is None:
            return None
        # A mixin: the backend class it is mixed into has user_can_authenticate.
        return user if self.user_can_authenticate(user) else None  # type: ignore[attr-defined]


class ModelBackend(_UserWithProfile, DjangoModelBackend):
    """Django's username-and-password backend (the admin's login)."""


class AuthenticationBackend(_UserWithProfile, AllauthBackend):
    """allauth's backend (sign in by email)."""


def profile_of(user: Any) -> Any:
    """The person's profile, or None (no query when the backend above loaded the user)."""
    if not getattr(user, "is_authenticated", False):
        return None

    try:
        return user.profile
    except Profile.DoesNotExist:
        return None
