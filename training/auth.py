"""Authentication backends that load a person's profile and agency together with them.

Almost every page asks who the person works for (prices go by the agency's sector, bookers
see their agency's bookings), so the user is read with ``profile__agency__sector__price_band``
in the one query Django makes per request anyway, instead of a second query each time.
"""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend

from training.models import Profile

WITH_PROFILE = "profile__agency__sector__price_band"


class _UserWithProfile:
    def get_user(self, user_id: Any) -> Any:
        user_model = get_user_model()
        try:
            user = user_model._default_manager.select_related(WITH_PROFILE, "trainer").get(
                pk=user_id
            )
        except user_model.DoesNotExist:
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
