"""Who is who: the rows that name one person, found by login and email address."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q

from bookings.models import Booking, Order, WaitingListEntry
from evaluation.models import FollowUpCall, FollowUpOptOut, Response

ANONYMISED_NAME = "Anonymised person"
ANONYMISED_DOMAIN = "anonymised.invalid"


def person_key(email: str) -> str:
    """A non-reversible key for an email address: the same address always gives the same key,
    so one person's rows stay together (and are counted once) after anonymising."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), email.strip().lower().encode(), hashlib.sha256
    ).hexdigest()
    return digest[:16]


def email_token(email: str) -> str:
    """The address an anonymised row keeps instead of ``email`` (already a token: unchanged)."""
    if is_anonymised_email(email):
        return email
    return f"anon-{person_key(email)}@{ANONYMISED_DOMAIN}"


def is_anonymised_email(email: str) -> bool:
    return email.lower().endswith("@" + ANONYMISED_DOMAIN)


@dataclass
class Person:
    """One person: their logins and addresses, and when they last did anything with the unit."""

    user_ids: set[int] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    last_active: dt.datetime | None = None

    def seen(self, when: dt.datetime | None) -> None:
        if when is not None and (self.last_active is None or when > self.last_active):
            self.last_active = when

    @property
    def key(self) -> str:
        if self.user_ids:
            return f"user-{min(self.user_ids)}"
        return person_key(min(self.emails)) if self.emails else "nobody"

    @property
    def is_anonymised(self) -> bool:
        return all(is_anonymised_email(email) for email in self.emails)


class _Groups:
    """Union-find over ("user", id) and ("email", address) nodes."""

    def __init__(self) -> None:
        self.parent: dict[tuple[str, Any], tuple[str, Any]] = {}

    def find(self, node: tuple[str, Any]) -> tuple[str, Any]:
        self.parent.setdefault(node, node)
        root = node
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[node] != root:
            self.parent[node], node = root, self.parent[node]
        return root

    def join(self, user_id: int | None, email: str) -> None:
        email = (email or "").strip().lower()
        nodes = [node for node in (("user", user_id), ("email", email)) if node[1]]
        if not nodes:
            return
        first = self.find(nodes[0])
        for node in nodes[1:]:
            self.parent[self.find(node)] = first


def _join_all(groups: _Groups, rows: Iterable[tuple[int | None, str]]) -> None:
    for user_id, email in rows:
        groups.join(user_id, email)


def people_all() -> list[Person]:
    """Everyone the database names, each with their last activity (a handful of queries)."""
    User = get_user_model()
    groups = _Groups()
    users = list(User.objects.values_list("pk", "email", "date_joined", "last_login"))
    _join_all(groups, ((pk, email) for pk, email, _, _ in users))
    _join_all(groups, EmailAddress.objects.values_list("user_id", "email"))
    bookings = list(
        Booking.objects.values_list(
            "attendee_id", "attendee_email", "created_at", "session__starts_at"
        )
    )
    _join_all(groups, ((user_id, email) for user_id, email, _, _ in bookings))
    waiting = list(WaitingListEntry.objects.values_list("person_id", "email", "joined_at"))
    _join_all(groups, ((user_id, email) for user_id, email, _ in waiting))
    _join_all(groups, FollowUpOptOut.objects.values_list("user_id", "email"))

    people: dict[tuple[str, Any], Person] = {}

    def person_of(user_id: int | None, email: str) -> Person:
        node = ("user", user_id) if user_id else ("email", (email or "").strip().lower())
        return people.setdefault(groups.find(node), Person())

    for node in list(groups.parent):
        person = people.setdefault(groups.find(node), Person())
        if node[0] == "user":
            person.user_ids.add(node[1])
        else:
            person.emails.add(node[1])
    for pk, email, joined, last_login in users:
        person = person_of(pk, email)
        person.seen(joined)
        person.seen(last_login)
    for user_id, email, created, starts in bookings:
        person = person_of(user_id, email)
        person.seen(created)
        person.seen(starts)
    for user_id, email, joined in waiting:
        person_of(user_id, email).seen(joined)
    for user_id, created in Order.objects.filter(booked_by__isnull=False).values_list(
        "booked_by_id", "created_at"
    ):
        person_of(user_id, "").seen(created)
    for user_id, email, created, closed in FollowUpCall.objects.values_list(
        "person_id", "booking__attendee_email", "created_at", "closed_at"
    ):
        person = person_of(user_id, email)
        person.seen(created)
        person.seen(closed)
    for user_id, email, submitted in Response.objects.values_list(
        "booking__attendee_id", "booking__attendee_email", "submitted_at"
    ):
        person_of(user_id, email).seen(submitted)
    return [person for person in people.values() if person.user_ids or person.emails]


def person_of_user(user: Any) -> Person:
    """The person a login belongs to: the login, its addresses and every row under them."""
    for person in people_all():
        if user.pk in person.user_ids:
            return person
    return Person(user_ids={user.pk}, emails={user.email.lower()} if user.email else set())


def person_bookings(person: Person) -> Q:
    """The filter for the person's bookings (as attendee, by login or by address)."""
    return Q(attendee_id__in=person.user_ids) | Q(attendee_email__in=person.emails)


def person_of_email(email: str) -> Person | None:
    """The person an address belongs to, with their login if they have one."""
    wanted = email.strip().lower()
    for person in people_all():
        if wanted in person.emails:
            return person
    return None
