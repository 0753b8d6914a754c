"""Authentication backends that load a person's profile and agency together with them.

Almost every page asks who the person works for (prices go by the agency's sector, bookers
see their agency's bookings) and what they may do, so the user is read with
``profile__agency__sector__price_band``, their role names and whether they hold a booker grant
for their verified agency, in the one query Django makes per request anyway, instead of two
or three more each time (``training.roles.role_names`` and
``training.membership.booker_agency_ids`` use what it read).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.auth.models import Group
from django.db.models import Case, Exists, OuterRef, QuerySet, StringAgg, Subquery, Value, When

from training.models import BookerGrant, Profile

WITH_PROFILE = "profile__agency__sector__price_band"


# Group names never hold a newline: it separates them in the one string read.
ROLE_SEPARATOR = "\n"


def _role_list() -> Subquery:
    names = (
        Group.objects.filter(user=OuterRef("pk"))
        .order_by()
        .values("user")
        .annotate(names=StringAgg("name", delimiter=Value(ROLE_SEPARATOR)))
        .values("names")
    )
    return Subquery(names)


def _books_for_own_agency() -> Case:
    """A booker grant, not revoked, for the agency the person is a verified member of."""
    grant = BookerGrant.objects.filter(
        user=OuterRef("pk"), revoked_at=None, agency_id=OuterRef("profile__agency_id")
    )
    return Case(
        When(profile__agency_verified_at__isnull=False, then=Exists(grant)), default=Value(False)
    )


@cache
def _users_with_profile() -> QuerySet[Any]:
    """Built once per process and cloned by each ``get``: building the annotations and joins
    afresh cost about half of reading the user."""
    return (
        get_user_model()
        ._default_manager.select_related(WITH_PROFILE, "trainer")
        .annotate(role_list=_role_list(), books_for_own_agency=_books_for_own_agency())
    )


class _UserWithProfile:
    def get_user(self, user_id: Any) -> Any:
        user_model = get_user_model()
        try:
            # Any: the two caches below are attributes of the request's user, not the model.
            user: Any = _users_with_profile().get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        # What training.roles and training.membership would each ask again, read above.
        user._role_names = frozenset(filter(None, (user.role_list or "").split(ROLE_SEPARATOR)))
        user._booker_agency_ids = (
            frozenset([user.profile.agency_id]) if user.books_for_own_agency else frozenset()
        )
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
