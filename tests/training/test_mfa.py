"""Staff sign in with a second factor: administrators and board viewers set one up first."""

from __future__ import annotations

import time
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.urls import reverse

from tests.conftest import make_person
from tests.test_settings import GOOD_KEY, run_manage
from training.demo.second_factor import DEMO_TOTP_SECRET, load_demo_second_factors, totp_code
from training.mfa import second_factor_required
from training.roles import Role

pytestmark = [pytest.mark.django_db, pytest.mark.second_factor]

SET_UP = reverse("mfa_activate_totp")


@pytest.fixture
def board_viewer(db: Any) -> Any:
    return make_person("board@example.org", agency=None, roles=(Role.BOARD_VIEWER,))


@pytest.mark.parametrize("path", ["/", "/reports/", "/admin/", "/audit/", "/profile/"])
def test_an_administrator_without_a_second_factor_is_sent_to_set_one_up(
    client: Any, training_admin: Any, path: str
) -> None:
    client.force_login(training_admin)

    response = client.get(path)

    assert response.status_code == 302
    assert response.url.startswith(SET_UP + "?next=")


def test_a_board_viewer_is_sent_to_set_one_up_too(client: Any, board_viewer: Any) -> None:
    client.force_login(board_viewer)
    assert client.get("/reports/").url.startswith(SET_UP)


def test_the_set_up_page_itself_and_signing_out_stay_open(client: Any, training_admin: Any) -> None:
    client.force_login(training_admin)
    assert client.get(reverse("account_logout")).status_code == 200
    assert client.get(reverse("privacy:notice")).status_code == 200


def test_with_a_second_factor_the_administrator_reaches_their_pages(
    client: Any, training_admin: Any
) -> None:
    TOTP.activate(training_admin, DEMO_TOTP_SECRET)
    client.force_login(training_admin)
    assert client.get(reverse("bookings:manage_bookings")).status_code == 200


def test_a_practitioner_may_go_without_one(client: Any, practitioner: Any) -> None:
    client.force_login(practitioner)
    assert client.get(reverse("bookings:my_bookings")).status_code == 200


def test_the_admin_is_for_administrators_only(client: Any, board_viewer: Any) -> None:
    board_viewer.is_staff = True
    board_viewer.save()
    TOTP.activate(board_viewer, DEMO_TOTP_SECRET)
    client.force_login(board_viewer)
    response = client.get("/admin/")
    assert response.status_code == 302 and response.url.startswith("/admin/login/")


def test_the_admins_own_password_form_sends_people_to_the_real_sign_in(client: Any) -> None:
    response = client.get("/admin/login/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_only_tests_can_switch_the_requirement_off_never_production(settings: Any) -> None:
    settings.MFA_REQUIRED_FOR_STAFF = False
    settings.PRODUCTION = False
    assert not second_factor_required()
    settings.PRODUCTION = True
    assert second_factor_required()


def test_production_settings_require_it_whatever_the_environment_says() -> None:
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.MFA_REQUIRED_FOR_STAFF)",
        env={
            "DJANGO_ENV": "production",
            "SECRET_KEY": GOOD_KEY,
            "ALLOWED_HOSTS": "training.example.org",
            "STRIPE_SECRET_KEY": "sk_test_placeholder",
            "STRIPE_WEBHOOK_SECRET": "whsec_placeholder",
            "SMTP_HOST": "smtp.example.org",
            "INVOICE_BANK_DETAILS": "Example Council, sort code 12-34-56, account 12345678",
            "FINANCE_CONTACT_EMAIL": "finance@example.org",
            "MFA_REQUIRED_FOR_STAFF": "false",
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"


def test_the_demo_gives_staff_a_known_secret_and_recovery_codes(
    training_admin: Any, board_viewer: Any
) -> None:
    training_admin.email = "admin@example.org"
    training_admin.save()

    codes = load_demo_second_factors()

    assert set(codes) == {"admin@example.org", "board@example.org"}
    assert all(len(found) == 10 for found in codes.values())
    totp = TOTP(Authenticator.objects.get(user=training_admin, type=Authenticator.Type.TOTP))
    assert totp.validate_code(totp_code(DEMO_TOTP_SECRET, time.time()))
    assert load_demo_second_factors() == codes


def test_a_file_fetched_by_a_page_is_refused_not_sent_to_set_up(
    client: Any, training_admin: Any
) -> None:
    client.force_login(training_admin)
    response = client.get("/reports/attendance/?format=csv", HTTP_ACCEPT="text/csv")
    assert response.status_code == 403
