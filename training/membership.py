"""Who belongs to which agency, and who books for it: requests, verification and grants.

A person's agency is a request until it is verified: at once when they have verified an email
address at one of the agency's registered domains, otherwise when a booker of the agency or the
training team approves it. Booker rights are a grant for one agency. These are the pure
operations; the audited actions (a booker approving, granting, revoking; the administrator
approving a proposed agency) are ``bookings.places.membership``'s, which call these.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import QuerySet
from django.dispatch import Signal

from training.models import Agency, BookerGrant, MembershipVerification, Profile

# Sent (inside the saving transaction) when a person asks to join an agency and is not
# verified at once; bookings emails the agency's bookers (or the training team) a link.
membership_requested = Signal()  # kwargs: profile

# Sent inside the approving transaction, after a proposed agency is approved: bookings
# re-prices the places booked while it waited (only ever upward).
agency_approved = Signal()  # kwargs: agency, actor, now

_APPROVAL_SALT = "training.membership.approve"


class MembershipError(Exception):
    """A membership change that cannot be made; the message says why."""


# --- names ---------------------------------------------------------------------------------


def agency_name_key(name: str) -> str:
    """A name with case, accents, spacing and punctuation ignored ('BLACKDOWN primary-school.'
    and 'Blackdown Primary School' are the same key)."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", folded.lower().replace("&", "and"))


def agency_lookalikes(name: str, *, limit: int = 5) -> tuple[Agency | None, list[Agency]]:
    """The approved agency this name means (same key), and others whose names are close."""
    agencies = list(Agency.objects.filter(approved=True).select_related("sector"))
    by_key = {agency_name_key(agency.name): agency for agency in agencies}
    key = agency_name_key(name)
    exact = by_key.get(key)
    close = difflib.get_close_matches(key, list(by_key), n=limit + 1, cutoff=0.75)
    near = [by_key[k] for k in close if by_key[k] != exact][:limit]
    return exact, near


# --- membership ----------------------------------------------------------------------------


def verified_agency_id(user: Any) -> int | None:
    """The agency the person is a verified member of, or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        profile = user.profile
    except Profile.DoesNotExist:
        return None
    return profile.verified_agency_id


def _verified_addresses(user: Any) -> list[str]:
    return list(
        EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True)
    )


def membership_request(*, profile: Profile, agency: Agency, now: dt.datetime) -> bool:
    """Ask to belong to ``agency``; True when it is verified at once (by email domain).

    Choosing another agency ends the old membership and every booker grant at once: the old
    agency's data is out of reach from this moment. Choosing the same agency again changes
    nothing.
    """
    if profile.agency_id == agency.pk and (
        profile.agency_verified_at is not None or profile.agency_requested_at is not None
    ):
        return profile.agency_verified
    with transaction.atomic():
        BookerGrant.objects.filter(user_id=profile.user_id, revoked_at=None).exclude(
            agency=agency
        ).update(revoked_at=now)
        profile.agency = agency
        profile.agency_requested_at = now
        profile.agency_verified_at = None
        profile.agency_verified_by = None
        profile.agency_verified_how = ""
        profile.save(
            update_fields=[
                "agency",
                "agency_requested_at",
                "agency_verified_at",
                "agency_verified_by",
                "agency_verified_how",
            ]
        )
        verified = membership_verify_by_domain(profile=profile, now=now)
        if not verified:
            # Inside the transaction: the request and its outbox email commit together.
            membership_requested.send(Profile, profile=profile)
    return verified


def membership_verify_by_domain(*, profile: Profile, now: dt.datetime) -> bool:
    """Verify the person's agency if one of their verified addresses is at its domain."""
    agency = profile.agency
    if agency is None or not agency.approved or profile.agency_verified_at is not None:
        return profile.agency_verified
    if not any(agency.owns_address(email) for email in _verified_addresses(profile.user)):
        return False
    return membership_verify(
        profile=profile, how=MembershipVerification.DOMAIN, verified_by=None, now=now
    )


def membership_verify(
    *, profile: Profile, how: str, verified_by: Any, now: dt.datetime, agency_id: int | None = None
) -> bool:
    """Mark the person's current agency request verified; False if it already was, or if
    it is no longer a request for ``agency_id`` (the person changed agency meanwhile)."""
    expected = agency_id if agency_id is not None else profile.agency_id
    if expected is None:
        return False
    changed = Profile.objects.filter(
        pk=profile.pk, agency_id=expected, agency_verified_at=None, agency__approved=True
    ).update(agency_verified_at=now, agency_verified_by=verified_by, agency_verified_how=how)
    if changed:
        profile.refresh_from_db()
    return bool(changed)


def pending_requests(*, agency_ids: list[int] | None) -> QuerySet[Profile]:
    """Requests waiting for approval: for these agencies, or every agency (None)."""
    requests = Profile.objects.filter(
        agency__isnull=False, agency__approved=True, agency_verified_at=None
    ).select_related("user", "agency__sector")
    if agency_ids is not None:
        requests = requests.filter(agency_id__in=agency_ids)
    return requests.order_by("agency_requested_at", "pk")


def approval_token(profile: Profile) -> str:
    """A signed token naming this one request (person, agency, when it was made)."""
    requested = profile.agency_requested_at.isoformat() if profile.agency_requested_at else ""
    return signing.dumps([profile.pk, profile.agency_id, requested], salt=_APPROVAL_SALT)


def profile_for_approval_token(token: str) -> Profile | None:
    """The request a token names, if the token is genuine, unexpired and the request stands."""
    try:
        pk, agency_id, requested = signing.loads(
            token,
            salt=_APPROVAL_SALT,
            max_age=dt.timedelta(days=settings.MEMBERSHIP_APPROVAL_LINK_DAYS),
        )
    except (signing.BadSignature, ValueError, TypeError):
        return None
    profile = (
        Profile.objects.select_related("user", "agency__sector")
        .filter(pk=pk, agency_id=agency_id)
        .first()
    )
    if profile is None:
        return None
    current = profile.agency_requested_at.isoformat() if profile.agency_requested_at else ""
    return profile if current == requested else None


# --- booker grants -------------------------------------------------------------------------


def _active_grants(user: Any) -> QuerySet[BookerGrant]:
    return BookerGrant.objects.filter(user=user, revoked_at=None)


def booker_agency_ids(user: Any) -> frozenset[int]:
    """The agencies ``user`` books for: an active grant, while a verified member of it."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_booker_agency_ids", None)
    if cached is None:
        member_of = verified_agency_id(user)
        cached = frozenset(
            _active_grants(user)
            .filter(agency_id=member_of)
            .order_by()
            .values_list("agency_id", flat=True)
            if member_of is not None
            else []
        )
        user._booker_agency_ids = cached  # asked once per row of a list
    return cached


def booker_grant_create(
    *, user: Any, agency: Agency, granted_by: Any, now: dt.datetime
) -> BookerGrant:
    """Give ``user`` booker rights for ``agency``; they must be its verified member."""
    profile = Profile.objects.filter(user=user).first()
    if profile is None or profile.verified_agency_id != agency.pk:
        raise MembershipError(
            f"{user.get_full_name() or user.email} is not a verified member of {agency.name}: "
            "approve their membership first."
        )
    existing = _active_grants(user).filter(agency=agency).first()
    if existing is not None:
        return existing
    return BookerGrant.objects.create(
        user=user, agency=agency, granted_by=granted_by, granted_at=now
    )


def booker_grant_revoke(*, grant: BookerGrant, revoked_by: Any, now: dt.datetime) -> bool:
    """End a grant at once; False if it had already ended."""
    changed = BookerGrant.objects.filter(pk=grant.pk, revoked_at=None).update(
        revoked_at=now, revoked_by=revoked_by
    )
    grant.refresh_from_db()
    return bool(changed)


def agency_members(agency: Agency) -> QuerySet[Profile]:
    return (
        Profile.objects.filter(agency=agency, agency_verified_at__isnull=False)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "pk")
    )


def agency_approve(*, agency: Agency, actor: Any, now: dt.datetime) -> bool:
    """Approve a proposed agency (its sector as the administrator has checked it), verify
    the membership of the person who proposed it, and let bookings re-price what was booked
    while it waited. False if it was already approved."""
    with transaction.atomic():
        changed = Agency.objects.filter(pk=agency.pk, approved=False).update(approved=True)
        if not changed:
            return False
        agency.refresh_from_db()
        proposer = (
            Profile.objects.filter(user_id=agency.proposed_by_id, agency=agency).first()
            if agency.proposed_by_id is not None
            else None
        )
        if proposer is not None:
            membership_verify(
                profile=proposer,
                how=MembershipVerification.ADMINISTRATOR,
                verified_by=actor,
                now=now,
            )
        agency_approved.send(Agency, agency=agency, actor=actor, now=now)
    return True
