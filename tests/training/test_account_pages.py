"""allauth's account and second-factor pages speak in the unit's words: sentence case, its name."""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from typing import Any

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.shortcuts import render
from django.test import RequestFactory
from django.urls import reverse

from tests.conftest import PASSWORD, make_person
from training.demo.second_factor import DEMO_TOTP_SECRET, totp_code
from training.roles import Role

pytestmark = pytest.mark.django_db

# Words that keep their capital wherever they stand: the unit's name, acronyms, brand names.
PROPER_WORDS = {"MFA", "TOTP", "QR", "Microsoft", "Google", "Apple", "I", "OK"}
HOST_NAMES = ("testserver", "example.com")


class _Wording(HTMLParser):
    """Collects the page's title, headings, buttons and labels, each as one string."""

    WATCHED = {"title", "h1", "h2", "h3", "button", "label", "legend"}

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[tuple[str, str]] = []
        self._open: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.WATCHED or (tag == "a" and ("role", "button") in attrs):
            self._open.append((tag, []))

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1][0] == tag:
            name, parts = self._open.pop()
            self.texts.append((name, " ".join("".join(parts).split())))

    def handle_data(self, data: str) -> None:
        for _, parts in self._open:
            parts.append(data)


def title_case_words(text: str) -> list[str]:
    """The words of ``text`` capitalised though they start no sentence and are no proper noun."""
    allowed = PROPER_WORDS | set(settings.UNIT_NAME.split())
    refused = []
    for sentence in re.split(r"(?<=[.:?!])\s+|\s+[–-]\s+|\(", text):
        for word in sentence.split()[1:]:
            bare = word.strip(".,:;?!()'\"“”‘’")
            if bare and bare[0].isupper() and bare not in allowed and "@" not in bare:
                refused.append(bare)
    return refused


def wording(html: str) -> list[tuple[str, str]]:
    parser = _Wording()
    parser.feed(html)
    return [(tag, text) for tag, text in parser.texts if text]


def assert_in_the_units_words(response: Any) -> str:
    assert response.status_code == 200, response
    html = response.content.decode()
    texts = wording(html)
    titles = [text for tag, text in texts if tag == "title"]
    assert titles and titles[0].endswith(f" – {settings.UNIT_NAME}"), titles
    assert [text for tag, text in texts if tag == "h1"], "no heading"
    shouting = {
        f"{tag}: {text}": found
        for tag, text in texts
        if (found := title_case_words(text.removesuffix(f" – {settings.UNIT_NAME}")))
    }
    assert not shouting, shouting
    for host in HOST_NAMES:
        assert host not in html
    return html


def test_the_title_case_checker_refuses_allauths_old_wording() -> None:
    assert title_case_words("Reset My Password") == ["My", "Password"]
    assert title_case_words("Verify Your Email Address") == ["Your", "Email", "Address"]
    assert title_case_words("Reset your password") == []
    assert title_case_words(f"Sign in – {settings.UNIT_NAME}") == []
    assert title_case_words("Set up an authenticator app, such as Microsoft or Google") == []
    assert title_case_words("Code (sent by Email)") == ["Email"]


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    cache.clear()


def reset_key_path(user: Any, key: str | None = None) -> str:
    return reverse(
        "account_reset_password_from_key",
        kwargs={
            "uidb36": user_pk_to_url_str(user),
            "key": key or default_token_generator.make_token(user),
        },
    )


@pytest.mark.parametrize(
    "name",
    [
        "account_reset_password",
        "account_reset_password_done",
        "account_reset_password_from_key_done",
        "account_email_verification_sent",
        "account_inactive",
    ],
)
def test_the_pages_anyone_reaches_signed_out(client: Any, name: str) -> None:
    html = assert_in_the_units_words(client.get(reverse(name)))
    assert "csrfmiddlewaretoken" in html or name != "account_reset_password"


def test_the_password_reset_page_asks_for_an_email_and_leads_back(client: Any) -> None:
    html = assert_in_the_units_words(client.get(reverse("account_reset_password")))
    assert 'name="email"' in html and 'action="/accounts/password/reset/"' in html
    assert reverse("account_login") in html


def test_a_valid_reset_link_asks_for_the_new_password_twice(client: Any, practitioner: Any) -> None:
    response = client.get(reset_key_path(practitioner), follow=True)
    html = assert_in_the_units_words(response)
    assert 'name="password1"' in html and 'name="password2"' in html
    assert "csrfmiddlewaretoken" in html


def test_a_bad_reset_link_says_so_and_offers_a_new_one(client: Any, practitioner: Any) -> None:
    html = assert_in_the_units_words(client.get(reset_key_path(practitioner, key="bad-key")))
    assert 'name="password1"' not in html
    assert reverse("account_reset_password") in html


def test_the_confirmation_link_asks_for_one_click(client: Any) -> None:
    user = get_user_model().objects.create_user(
        username="new@example.org", email="new@example.org", password=PASSWORD
    )
    address = EmailAddress.objects.create(user=user, email=user.email, primary=True)
    key = EmailConfirmationHMAC(address).key

    html = assert_in_the_units_words(client.get(reverse("account_confirm_email", args=[key])))

    # The page signs the key afresh (with the time, to the second): the form posts a key for
    # this address, not necessarily these very characters.
    prefix = reverse("account_confirm_email", args=["KEY"]).split("KEY")[0]
    posted = re.search(rf'action="{re.escape(prefix)}([^"/]+)/"', html)
    assert posted and posted.group(1).split(":")[0] == key.split(":")[0], html
    confirmation = EmailConfirmationHMAC.from_key(posted.group(1))
    assert confirmation is not None and confirmation.email_address == address
    assert "new@example.org" in html


def test_an_expired_confirmation_link_says_what_to_do(client: Any) -> None:
    html = assert_in_the_units_words(client.get(reverse("account_confirm_email", args=["nope"])))
    assert 'type="submit"' not in html.split("<main", 1)[1].split("</main>", 1)[0]


def test_the_verified_email_required_page(rf: RequestFactory, practitioner: Any) -> None:
    # allauth renders it from its ``verified_email_required`` decorator, not from a URL.
    request = rf.get("/")
    request.user = practitioner
    assert_in_the_units_words(render(request, "account/verified_email_required.html"))


@pytest.mark.parametrize(
    "name",
    [
        "account_logout",
        "account_change_password",
        "account_email",
        "account_reauthenticate",
        "mfa_index",
    ],
)
def test_the_pages_a_signed_in_person_reaches(client: Any, practitioner: Any, name: str) -> None:
    client.force_login(practitioner)
    html = assert_in_the_units_words(client.get(reverse(name)))
    assert "csrfmiddlewaretoken" in html or name == "mfa_index"


def test_someone_without_a_password_sets_one(client: Any, practitioner: Any) -> None:
    practitioner.set_unusable_password()
    practitioner.save()
    client.force_login(practitioner)
    html = assert_in_the_units_words(client.get(reverse("account_set_password")))
    assert 'name="password1"' in html and 'name="password2"' in html


def sign_in_with_password(client: Any, user: Any) -> Any:
    return client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})


@pytest.fixture
def staff_with_second_factor(training_admin: Any) -> Any:
    TOTP.activate(training_admin, DEMO_TOTP_SECRET)
    RecoveryCodes.activate(training_admin)
    return training_admin


@pytest.mark.second_factor
def test_staff_are_asked_for_their_code_then_reach_their_second_factor_pages(
    client: Any, staff_with_second_factor: Any
) -> None:
    response = sign_in_with_password(client, staff_with_second_factor)
    assert response.url == reverse("mfa_authenticate")
    html = assert_in_the_units_words(client.get(reverse("mfa_authenticate")))
    assert 'name="code"' in html

    response = client.post(
        reverse("mfa_authenticate"), {"code": totp_code(DEMO_TOTP_SECRET, time.time())}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    # allauth asks once more (here, the password) before the second factor may be changed.
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})

    for name in (
        "mfa_index",
        "mfa_reauthenticate",
        "mfa_deactivate_totp",
        "mfa_view_recovery_codes",
        "mfa_generate_recovery_codes",
    ):
        html = assert_in_the_units_words(client.get(reverse(name)))
        if name == "mfa_view_recovery_codes":
            assert 'rows="10" readonly' in html  # all ten codes show, none can be typed over
    download = client.get(reverse("mfa_download_recovery_codes"))
    assert download.status_code == 200
    assert (
        download.content.decode().split()
        == RecoveryCodes(
            staff_with_second_factor.authenticator_set.get(type="recovery_codes")
        ).get_unused_codes()
    )


@pytest.mark.second_factor
def test_staff_without_one_are_shown_how_to_set_up_an_authenticator(client: Any) -> None:
    viewer = make_person("board@example.org", agency=None, roles=(Role.BOARD_VIEWER,))
    sign_in_with_password(client, viewer)
    # allauth asks for the password once more before a second factor is added.
    response = client.get(reverse("mfa_activate_totp"))
    assert response.url.startswith(reverse("account_reauthenticate"))
    assert_in_the_units_words(client.get(response.url))
    client.post(response.url, {"password": PASSWORD})

    html = assert_in_the_units_words(client.get(reverse("mfa_activate_totp")))
    assert 'name="code"' in html and 'id="authenticator_secret"' in html
