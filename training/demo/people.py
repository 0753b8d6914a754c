"""The demo's people: one sign-in for each role, all with the same password.

Their addresses are all at example.org, which is no agency's domain (each demo agency has its
own, e.g. blackdownprimaryscho.example.org, so a new account there is verified at once): the
demo's people are verified members approved by the training team, and its bookers hold
booker grants for their agencies.
"""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from training.models import Agency, BookerGrant, MembershipVerification, Profile

DEMO_PASSWORD = "safeguarding-demo"


# One login per role: (email, first, last, job title, agency, roles, is_staff).
DEMO_USERS = (
    (
        "practitioner@example.org",
        "Nia",
        "Roberts",
        "Health visitor",
        "Quantock Health Visiting Team",
        ("Practitioner",),
        False,
    ),
    (
        "booker@example.org",
        "Dan",
        "Whitlock",
        "Designated safeguarding lead",
        "Blackdown Primary School",
        ("Practitioner", "Agency booker"),
        False,
    ),
    (
        "admin@example.org",
        "Alex",
        "Moreton",
        "Training administrator",
        "County Education Safeguarding Service",
        ("Practitioner", "Training administrator"),
        True,
    ),
    (
        "community@example.org",
        "Pat",
        "Greenwood",
        "Lay community member",
        "Other",
        ("Community member",),
        False,
    ),
    (
        "board@example.org",
        "Ruth",
        "Calder",
        "Independent chair",
        "County Education Safeguarding Service",
        ("Board viewer",),
        False,
    ),
    (
        "other-agency@example.org",
        "Lee",
        "Pascoe",
        "Nursery manager",
        "Little Acorns Day Nursery",
        ("Practitioner", "Agency booker"),
        False,
    ),
)


@transaction.atomic
def load_demo_people() -> list[tuple[str, str]]:
    """Demo logins with verified email addresses; returns (email, roles) for printing."""

    User = get_user_model()
    logins = []
    for email, first, last, job, agency_name, roles, is_staff in DEMO_USERS:
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = User(
                username=email, email=email, first_name=first, last_name=last, is_staff=is_staff
            )
            user.set_password(DEMO_PASSWORD)
            user.save()
        EmailAddress.objects.get_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        agency = Agency.objects.filter(name=agency_name).first()
        now = timezone.now()
        profile, _ = Profile.objects.get_or_create(
            user=user,
            defaults={
                "job_title": job,
                "agency": agency,
                "phone": "01823 000000",
                "consent_to_calls": email == "practitioner@example.org",
            },
        )
        if agency is not None and profile.agency_id == agency.pk and not profile.agency_verified:
            Profile.objects.filter(pk=profile.pk).update(
                agency_requested_at=now,
                agency_verified_at=now,
                agency_verified_how=MembershipVerification.ADMINISTRATOR,
            )
        user.groups.add(*Group.objects.filter(name__in=roles))
        if agency is not None and "Agency booker" in roles:
            if not BookerGrant.objects.filter(user=user, agency=agency, revoked_at=None).exists():
                BookerGrant.objects.create(user=user, agency=agency, granted_at=now)
        logins.append((email, ", ".join(roles)))
    return logins
