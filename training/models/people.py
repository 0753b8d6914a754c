"""People and agencies: who belongs to which agency, verified, and who books for it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from training.models.programme import Agency, Sector


class MembershipVerification(models.TextChoices):
    DOMAIN = "domain", "Verified email address at the agency's domain"
    BOOKER = "booker", "Approved by the agency's booker"
    ADMINISTRATOR = "administrator", "Approved by the training team"
    EXISTING = "existing", "Member before verification was introduced"


class Profile(models.Model):
    """What the unit needs to know about a person beyond their login.

    ``agency`` is the agency the person says they work for: a request until
    ``agency_verified_at`` is set (see ``training.membership``). Only a verified agency gives
    its price, its data or its ways of paying.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    job_title = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    agency_requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    agency_verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    agency_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    agency_verified_how = models.CharField(
        max_length=20, choices=MembershipVerification.choices, blank=True, editable=False
    )
    consent_to_calls = models.BooleanField(
        "I agree to be phoned about how I used the training",
        default=False,
        help_text="A volunteer from the community may call a few past attendees each month.",
    )
    # Asked for when booking a course that needs the line manager's approval; remembered.
    line_manager_name = models.CharField(max_length=200, blank=True)
    line_manager_email = models.EmailField("line manager's work email", blank=True)

    def __str__(self) -> str:
        return f"Profile of {self.user}"

    @property
    def sector(self) -> Sector | None:
        # mypy does not tie agency_id to agency: with agency_id set, agency is not None.
        return self.agency.sector if self.agency_id else None  # type: ignore[union-attr]

    @property
    def is_complete(self) -> bool:
        return bool(self.user.first_name and self.user.last_name and self.agency_id)

    @property
    def agency_verified(self) -> bool:
        return self.agency_id is not None and self.agency_verified_at is not None

    @property
    def verified_agency_id(self) -> int | None:
        return self.agency_id if self.agency_verified else None


class BookerGrant(models.Model):
    """The right to book for, and see the bookings of, one agency.

    Given by the training administrator (the agency's admin page) or by an existing booker of
    the agency; revoked by setting ``revoked_at``, so the row is its own history. A grant only
    counts while the holder is a verified member of the agency.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="booker_grants"
    )
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="booker_grants")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    granted_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        ordering = ["agency", "-granted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "agency"],
                condition=models.Q(revoked_at=None),
                name="one_active_booker_grant_per_agency",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} books for {self.agency}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
