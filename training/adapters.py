from __future__ import annotations

import uuid
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.urls import reverse


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
        max_length = user_model._meta.get_field("username").max_length
        if (
            email
            and len(email) <= max_length
            and not user_model.objects.filter(username=email).exists()
        ):
            user.username = email
        else:
            user.username = f"user-{uuid.uuid4().hex}"

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        """Send people whose profile lacks an agency to finish it first."""
        user: Any = request.user
        profile = getattr(user, "profile", None)
        if profile is None or not profile.is_complete:
            return reverse("training:profile")
        return super().get_login_redirect_url(request)
