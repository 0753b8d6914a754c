"""The demo staff's second factor: a known authenticator secret, so the demo stays easy to try.

Development only (the demo command refuses in production): the administrator and the board
viewer get a TOTP authenticator with a published secret, and recovery codes, which the demo
prints beside their logins.
"""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.contrib.auth import get_user_model
from django.db import transaction

# Base32, as authenticator apps take it. Public on purpose: for the demo data only.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
DEMO_STAFF = ("admin@example.org", "board@example.org")
TOTP_PERIOD_SECONDS = 30


def totp_code(secret: str, at_unix_time: float) -> str:
    """The six-digit code an authenticator app shows for ``secret`` at that moment."""
    return format_hotp_value(hotp_value(secret, int(at_unix_time // TOTP_PERIOD_SECONDS)))


@transaction.atomic
def load_demo_second_factors() -> dict[str, list[str]]:
    """Set up the demo staff's second factor (idempotent); returns email -> recovery codes."""
    User = get_user_model()
    codes: dict[str, list[str]] = {}
    for user in User.objects.filter(email__in=DEMO_STAFF):
        if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            TOTP.activate(user, DEMO_TOTP_SECRET)
        recovery = Authenticator.objects.filter(
            user=user, type=Authenticator.Type.RECOVERY_CODES
        ).first()
        wrapper = RecoveryCodes(recovery) if recovery else RecoveryCodes.activate(user)
        codes[user.email] = wrapper.get_unused_codes()
    return codes
