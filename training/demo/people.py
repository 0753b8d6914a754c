"""The demo's people: one sign-in for each role, all with the same password."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from training.models import (
    Agency,
    Profile,
)

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
        Profile.objects.get_or_create(
            user=user,
            defaults={
                "job_title": job,
                "agency": agency,
                "phone": "01823 000000",
                "consent_to_calls": email == "practitioner@example.org",
            },
        )
        user.groups.add(*Group.objects.filter(name__in=roles))
        logins.append((email, ", ".join(roles)))
    return logins
