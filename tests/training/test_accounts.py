"""Accounts, profiles and who may see what: sign-up, verified login, throttling, permissions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from tests.conftest import PASSWORD
from training.models import Agency, Profile, Sector
from training.roles import Role

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "correct-horse-battery-staple-17"


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> Iterator[None]:
    """allauth counts attempts in the cache; one test's failures must not throttle the next."""
    cache.clear()
    yield
    cache.clear()


def sign_up(client: Any, email: str, password: str = NEW_PASSWORD) -> Any:
    return client.post(
        reverse("account_signup"),
        {"email": email, "password1": password, "password2": password},
    )


def log_in(client: Any, email: str, password: str) -> Any:
    return client.post(reverse("account_login"), {"login": email, "password": password})


def signed_in_user_id(client: Any) -> str | None:
    return client.session.get("_auth_user_id")


def confirmation_link(message: Any) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


# --- sign-up ------------------------------------------------------------------------------------


def test_sign_up_creates_a_profile_and_makes_the_person_a_practitioner(client: Any) -> None:
    response = sign_up(client, "nurse@example.org")

    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    user = get_user_model().objects.get(email="nurse@example.org")
    assert Profile.objects.filter(user=user, agency=None).exists()
    assert list(user.groups.values_list("name", flat=True)) == [Role.PRACTITIONER]
    # Nobody is signed in before they have proved the address is theirs.
    assert signed_in_user_id(client) is None
    assert [m.to for m in mail.outbox] == [["nurse@example.org"]]


def test_two_people_can_sign_up_one_after_the_other(client: Any) -> None:
    """The default user model keeps a unique username column, so it must be filled in."""
    sign_up(client, "first@example.org")
    sign_up(client, "second@example.org")

    usernames = set(get_user_model().objects.values_list("username", flat=True))
    assert usernames == {"first@example.org", "second@example.org"}


def test_confirming_the_email_signs_the_person_in_and_asks_for_their_details(client: Any) -> None:
    sign_up(client, "nurse@example.org")
    link = confirmation_link(mail.outbox[0])

    # Opening the link only shows a button: mail scanners that follow links confirm nothing.
    assert client.get(link).status_code == 200
    assert not EmailAddress.objects.get(email="nurse@example.org").verified

    response = client.post(link)

    assert response.status_code == 302
    assert response.url == reverse("training:profile")
    assert EmailAddress.objects.get(email="nurse@example.org").verified
    user = get_user_model().objects.get(email="nurse@example.org")
    assert signed_in_user_id(client) == str(user.pk)


# --- login -------------------------------------------------------------------------------------


def test_login_with_an_unverified_email_is_sent_to_verify_it(client: Any) -> None:
    sign_up(client, "nurse@example.org")
    client.logout()
    mail.outbox.clear()

    response = log_in(client, "nurse@example.org", NEW_PASSWORD)

    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    assert signed_in_user_id(client) is None
    assert [m.to for m in mail.outbox] == [["nurse@example.org"]]  # a fresh link is sent


def test_login_with_a_verified_email_opens_a_session(client: Any, practitioner: Any) -> None:
    response = log_in(client, practitioner.email, PASSWORD)

    assert response.status_code == 302
    assert signed_in_user_id(client) == str(practitioner.pk)


def test_a_person_without_an_agency_is_sent_to_their_details_after_login(
    client: Any, practitioner: Any
) -> None:
    Profile.objects.filter(user=practitioner).update(agency=None)

    response = log_in(client, practitioner.email, PASSWORD)

    assert response.url == reverse("training:profile")


@pytest.mark.parametrize(
    ("person", "lands_on"),
    [
        ("practitioner", "bookings:my_bookings"),
        ("agency_booker", "bookings:agency_bookings"),
        ("training_admin", "bookings:manage_bookings"),
        ("community_member", "evaluation:call_list"),
    ],
)
def test_signing_in_lands_on_the_page_of_each_persons_work(
    client: Any, request: Any, person: str, lands_on: str
) -> None:
    user = request.getfixturevalue(person)
    response = log_in(client, user.email, PASSWORD)
    assert response.status_code == 302 and response.url == reverse(lands_on)
    assert client.get(response.url).status_code == 200


def test_a_page_that_asked_for_sign_in_wins_over_the_landing_page(
    client: Any, practitioner: Any
) -> None:
    catalogue = reverse("bookings:catalogue")
    response = client.post(
        f"{reverse('account_login')}?next={catalogue}",
        {"login": practitioner.email, "password": PASSWORD, "next": catalogue},
    )
    assert response.url == catalogue


def test_repeated_failed_logins_are_throttled(client: Any, practitioner: Any) -> None:
    # ACCOUNT_RATE_LIMITS["login_failed"] allows 5 failures per account in 5 minutes.
    for _ in range(5):
        response = log_in(client, practitioner.email, "not-the-password")
        assert response.status_code == 200
        assert "Too many failed login attempts" not in response.content.decode()

    # Even the right password is refused now: a guesser learns nothing from a 6th try.
    response = log_in(client, practitioner.email, PASSWORD)

    assert response.status_code == 200
    assert "Too many failed login attempts. Try again later." in response.content.decode()
    assert signed_in_user_id(client) is None


def test_throttling_one_account_does_not_lock_out_a_colleague(
    client: Any, practitioner: Any, agency_booker: Any
) -> None:
    for _ in range(4):
        log_in(client, practitioner.email, "not-the-password")

    log_in(client, agency_booker.email, PASSWORD)

    assert signed_in_user_id(client) == str(agency_booker.pk)


# --- profile -----------------------------------------------------------------------------------


def profile_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "first_name": "Nia",
        "last_name": "Nurse",
        "job_title": "Health visitor",
        "phone": "",
        "agency": "",
        "new_agency_name": "",
        "new_agency_sector": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def newcomer(client: Any) -> Any:
    """Someone who has just signed up and confirmed their email: no agency yet."""
    sign_up(client, "nurse@example.org")
    client.post(confirmation_link(mail.outbox[0]))
    return get_user_model().objects.get(email="nurse@example.org")


@pytest.fixture
def health_agency(sectors: dict[str, Sector]) -> Agency:
    return Agency.objects.create(name="Somerset Community Health", sector=sectors["Health"])


def test_profile_needs_an_agency_or_a_new_one(client: Any, newcomer: Any) -> None:
    response = client.post(reverse("training:profile"), profile_data())

    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["agency"] == [
        "Choose your agency, or give its name and sector below to add it."
    ]
    body = response.content.decode()
    assert "There is a problem" in body
    assert 'href="#id_agency"' in body  # the summary links to the field
    assert Profile.objects.get(user=newcomer).agency is None


def test_new_agency_needs_a_sector(client: Any, newcomer: Any) -> None:
    response = client.post(
        reverse("training:profile"), profile_data(new_agency_name="Quantock Nursery")
    )

    assert response.context["form"].errors["new_agency_sector"] == [
        "Choose the sector your agency belongs to."
    ]
    assert not Agency.objects.filter(name="Quantock Nursery").exists()


def test_choosing_an_agency_saves_the_details_and_shows_the_sector(
    client: Any, newcomer: Any, health_agency: Agency
) -> None:
    response = client.post(
        reverse("training:profile"), profile_data(agency=health_agency.pk), follow=True
    )

    profile = Profile.objects.select_related("user").get(user=newcomer)
    assert profile.agency == health_agency
    assert (profile.user.first_name, profile.user.last_name) == ("Nia", "Nurse")
    assert profile.job_title == "Health visitor"
    assert profile.is_complete
    # Set up for the first time: on to the catalogue, with the news.
    assert response.redirect_chain[-1][0] == reverse("bookings:catalogue")
    assert "Your details have been saved." in response.content.decode()
    body = client.get(reverse("training:profile")).content.decode()
    assert '<strong data-testid="sector">Health</strong>' in body


def test_first_time_setup_returns_to_the_page_being_booked_and_never_off_site(
    client: Any, newcomer: Any, health_agency: Agency
) -> None:
    page = reverse("training:profile")
    response = client.post(page, {**profile_data(agency=health_agency.pk), "next": "/sessions/7/"})
    assert response.url == "/sessions/7/"
    response = client.post(
        page, {**profile_data(agency=health_agency.pk), "next": "https://evil.example.org/"}
    )
    assert response.url == page, "an address off the site is ignored"


def test_proposing_a_new_agency_creates_it_unapproved(
    client: Any, newcomer: Any, sectors: dict[str, Sector]
) -> None:
    response = client.post(
        reverse("training:profile"),
        profile_data(
            new_agency_name="  Quantock   Nursery ",
            new_agency_sector=sectors["Early Years Providers"].pk,
        ),
        follow=True,
    )

    agency = Agency.objects.get(name="Quantock Nursery")
    assert not agency.approved
    assert agency.proposed_by == newcomer
    assert agency.sector == sectors["Early Years Providers"]
    assert Profile.objects.get(user=newcomer).agency == agency
    assert "the training team will check" in response.content.decode().lower()
    profile_page = client.get(reverse("training:profile")).content.decode()
    assert "waiting for the training team to approve it" in profile_page


def test_a_proposed_agency_is_offered_only_to_the_person_who_proposed_it(
    client: Any, newcomer: Any, practitioner: Any, sectors: dict[str, Sector]
) -> None:
    proposed = Agency.objects.create(
        name="Quantock Nursery",
        sector=sectors["Early Years Providers"],
        approved=False,
        proposed_by=newcomer,
    )

    own_choices = client.get(reverse("training:profile")).context["form"].fields["agency"]
    client.force_login(practitioner)
    other_choices = client.get(reverse("training:profile")).context["form"].fields["agency"]

    assert proposed in own_choices.queryset
    assert proposed not in other_choices.queryset


def test_consent_to_calls_is_off_until_the_person_ticks_it(
    client: Any, newcomer: Any, health_agency: Agency
) -> None:
    assert Profile.objects.get(user=newcomer).consent_to_calls is False
    checkbox = re.search(
        r"<input[^>]*name=\"consent_to_calls\"[^>]*>",
        client.get(reverse("training:profile")).content.decode(),
    )
    assert checkbox is not None and " checked" not in checkbox.group(0)

    client.post(reverse("training:profile"), profile_data(agency=health_agency.pk))
    assert Profile.objects.get(user=newcomer).consent_to_calls is False

    client.post(
        reverse("training:profile"), profile_data(agency=health_agency.pk, consent_to_calls="on")
    )
    assert Profile.objects.get(user=newcomer).consent_to_calls is True


# --- permissions -------------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_log_in_for_their_details(client: Any) -> None:
    response = client.get(reverse("training:profile"))

    assert response.status_code == 302
    assert response.url == f"{reverse('account_login')}?next=/profile/"


@pytest.mark.parametrize("path", ["/admin/", "/admin/training/session/"])
def test_practitioner_is_not_let_into_the_admin(client: Any, practitioner: Any, path: str) -> None:
    client.force_login(practitioner)

    response = client.get(path)

    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")


def test_training_administrator_can_manage_sessions_in_the_admin(
    client: Any, training_admin: Any
) -> None:
    client.force_login(training_admin)

    assert client.get("/admin/").status_code == 200
    response = client.get("/admin/training/session/")
    assert response.status_code == 200
    assert response.context["cl"].model._meta.label == "training.Session"
    assert client.get("/admin/training/session/add/").status_code == 200


def test_staff_without_the_administrator_role_cannot_see_sessions(
    client: Any, practitioner: Any
) -> None:
    get_user_model().objects.filter(pk=practitioner.pk).update(is_staff=True)
    client.force_login(practitioner)

    # The admin is for training administrators only: other staff are not let in at all.
    response = client.get("/admin/training/session/")
    assert response.status_code == 302 and response.url.startswith("/admin/login/")


def test_practitioner_cannot_look_up_other_people(
    client: Any, practitioner: Any, agency_booker: Any
) -> None:
    client.force_login(practitioner)

    response = client.get(reverse("training:person", args=[agency_booker.pk]))

    assert response.status_code == 404


def test_a_person_may_see_their_own_details_as_on_their_training_record(
    client: Any, practitioner: Any
) -> None:
    # One rule for the person page and the training record (bookings.permissions).
    client.force_login(practitioner)

    assert client.get(reverse("training:person", args=[practitioner.pk])).status_code == 200


def test_agency_booker_sees_a_colleague_of_the_same_agency(
    client: Any, agency_booker: Any, practitioner: Any
) -> None:
    client.force_login(agency_booker)

    response = client.get(reverse("training:person", args=[practitioner.pk]))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Tess Teacher" in body
    assert "Blackdown Primary School" in body


def test_agency_booker_cannot_see_someone_from_another_agency(
    client: Any, agency_booker: Any, other_agency_booker: Any
) -> None:
    client.force_login(agency_booker)

    response = client.get(reverse("training:person", args=[other_agency_booker.pk]))

    assert response.status_code == 404


def test_agency_booker_without_an_agency_sees_nobody_without_one(
    client: Any, agency_booker: Any, community_member: Any
) -> None:
    Profile.objects.filter(user=agency_booker).update(agency=None)
    client.force_login(agency_booker)

    assert client.get(reverse("training:person", args=[community_member.pk])).status_code == 404


def test_training_administrator_can_see_anyone(
    client: Any, training_admin: Any, other_agency_booker: Any
) -> None:
    client.force_login(training_admin)

    response = client.get(reverse("training:person", args=[other_agency_booker.pk]))

    assert response.status_code == 200
    assert "Little Acorns Day Nursery" in response.content.decode()


def test_anonymous_visitor_is_sent_to_log_in_for_a_person(client: Any, practitioner: Any) -> None:
    response = client.get(reverse("training:person", args=[practitioner.pk]))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
