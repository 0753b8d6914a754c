from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest
from django.urls import reverse


class AccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request: HttpRequest) -> str:
        """Send people whose profile lacks an agency to finish it first."""
        user: Any = request.user
        profile = getattr(user, "profile", None)
        if profile is None or not profile.is_complete:
            return reverse("training:profile")
        return super().get_login_redirect_url(request)
