"""The signed-in person read in one plain statement gives what the ORM gives, and nothing more
is asked of the database for their profile, agency, sector, band, trainer record or roles."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import make_person
from training.membership import booker_agency_ids
from training.models import Agency, BookerGrant, Profile, Trainer
from training.roles import Role, role_names
from training.user_read import user_with_profile_read

pytestmark = pytest.mark.django_db


def read_in_one_statement(user_id: Any) -> Any:
    with CaptureQueriesContext(connection) as queries:
        user = user_with_profile_read(user_id)
    assert len(queries) == 1, [query["sql"] for query in queries]
    return user


def test_a_booker_comes_with_profile_agency_sector_band_roles_and_grant(
    agency_booker: Any, school: Agency
) -> None:
    agency_booker.last_login = timezone.now()
    agency_booker.save()
    Trainer.objects.create(name="Dee Lead", user=agency_booker)
    orm = (
        get_user_model()
        .objects.select_related("profile__agency__sector__price_band", "trainer")
        .get(pk=agency_booker.pk)
    )

    user = read_in_one_statement(str(agency_booker.pk))

    with CaptureQueriesContext(connection) as more:
        for field in get_user_model()._meta.concrete_fields:
            assert getattr(user, field.attname) == getattr(orm, field.attname), field.name
        assert user.last_login == orm.last_login and timezone.is_aware(user.last_login)
        for field in Profile._meta.concrete_fields:
            assert getattr(user.profile, field.attname) == getattr(orm.profile, field.attname)
        assert user.profile.user is user
        assert user.profile.agency == school and user.profile.agency.name == school.name
        assert user.profile.agency.sector.name == "Schools"
        assert user.profile.agency.sector.price_band == orm.profile.agency.sector.price_band
        assert (
            user.profile.agency.sector.price_band.name == orm.profile.agency.sector.price_band.name
        )
        assert user.trainer.name == "Dee Lead" and user.trainer.user is user
        assert role_names(user) == {Role.PRACTITIONER, Role.AGENCY_BOOKER}
        assert booker_agency_ids(user) == {school.pk}
    assert len(more) == 0, [query["sql"] for query in more]
    assert not user._state.adding and user._state.db == "default"


def test_what_a_person_has_not_got_is_known_without_asking(db: Any) -> None:
    person = make_person("walkin@example.org", agency=None, roles=())
    Profile.objects.filter(user=person).delete()

    user = read_in_one_statement(person.pk)

    with CaptureQueriesContext(connection) as more:
        with pytest.raises(Profile.DoesNotExist):
            user.profile  # noqa: B018 - reading it is the test
        with pytest.raises(Trainer.DoesNotExist):
            user.trainer  # noqa: B018
        assert role_names(user) == frozenset()
        assert booker_agency_ids(user) == frozenset()
    assert len(more) == 0


def test_a_profile_without_an_agency_has_none(db: Any) -> None:
    person = make_person("nobody@example.org", agency=None)

    user = read_in_one_statement(person.pk)

    with CaptureQueriesContext(connection) as more:
        assert user.profile.agency is None
    assert len(more) == 0


def test_a_grant_counts_only_when_not_revoked_and_the_membership_is_verified(
    agency_booker: Any, school: Agency
) -> None:
    assert booker_agency_ids(user_with_profile_read(agency_booker.pk)) == {school.pk}

    BookerGrant.objects.filter(user=agency_booker).update(revoked_at=timezone.now())
    assert booker_agency_ids(user_with_profile_read(agency_booker.pk)) == frozenset()

    BookerGrant.objects.filter(user=agency_booker).update(revoked_at=None)
    Profile.objects.filter(user=agency_booker).update(agency_verified_at=None)
    assert booker_agency_ids(user_with_profile_read(agency_booker.pk)) == frozenset()


@pytest.mark.parametrize("user_id", [987654, "not a number", None])
def test_no_such_person_is_none(db: Any, user_id: Any) -> None:
    assert user_with_profile_read(user_id) is None
