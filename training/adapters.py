from __future__ import annotations

import uuid
from typing import Any, cast

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.urls import reverse

from training.roles import Role, has_role, is_agency_booker


class AccountAdapter(DefaultAccountAdapter):
    def populate_username(self, request: HttpRequest, user: Any) -> None:
        """Fill the default user's unique username column from the email.

        People sign in by email (ACCOUNT_USER_MODEL_USERNAME_FIELD = None), so allauth leaves
        the username blank, and the second blank username breaks the unique constraint.
        """
        if user.username:
            return
        email = (user.email or "").lower()
        user_model = get_user_model()
        # The username column is a CharField, which always has a max_length.
        max_length = cast(int, user_model._meta.get_field("username").max_length)
        if (
            email
            and len(email) <= max_length
            and not user_model.objects.filter(username=email).exists()
        ):
            user.username = email
        else:
            user.username = f"user-{uuid.uuid4().hex}"

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Account emails speak as the unit, in the layout of its other emails (see
        ``templates/account/email/``), whether or not a request is at hand."""
        context = {**context, "UNIT_NAME": settings.UNIT_NAME, "SITE_URL": settings.SITE_URL}
        super().send_mail(template_prefix, email, context)

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        """Where someone lands after signing in when no page asked for them (``?next=`` wins):
        the page of their daily work, or their details first if they book and the unit does
        not yet know their agency (the price depends on it)."""
        return self._landing(request.user)

    def get_signup_redirect_url(self, request: HttpRequest) -> str:
        return self._landing(request.user)  # a newcomer: their details

    def get_email_verification_redirect_url(self, email_address: Any) -> str:
        """Confirming the address signs the person in (ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION), so
        they land where signing in would take them: a newcomer, on their details."""
        if self.request.user.is_authenticated or settings.ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION:
            return self._landing(email_address.user)
        return super().get_email_verification_redirect_url(email_address)

    def _landing(self, user: Any) -> str:
        if has_role(user, Role.TRAINING_ADMINISTRATOR):
            return reverse("bookings:manage_bookings")
        if has_role(user, Role.COMMUNITY_MEMBER):
            return reverse("evaluation:call_list")
        if has_role(user, Role.BOARD_VIEWER):
            return reverse("reports:index")
        profile = getattr(user, "profile", None)
        if profile is None or not profile.is_complete:
            return reverse("training:profile")
        if is_agency_booker(user):
            return reverse("bookings:agency_bookings")
        if has_role(user, Role.PRACTITIONER):
            return reverse("bookings:my_bookings")
        return reverse("bookings:catalogue")
