"""The retention policy, rule by rule: what goes when, what stays, and what a dry run says."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from bookings.audit import audit_record
from bookings.models import AuditEntry, Booking
from evaluation.models import (
    Answer,
    Channel,
    InvitationKind,
    QuestionType,
    Response,
    RetentionPolicy,
    Survey,
    SurveyKind,
)
from evaluation.privacy.people import email_token
from evaluation.privacy.retention import retention_apply
from tests.conftest import make_session
from tests.evaluation.helpers import aware, person, place, sent_invitation
from training.models import Agency, Course, Profile, Session, Venue

pytestmark = pytest.mark.django_db

NOW = aware(2030, 6, 1, 12)


@pytest.fixture
def old_session(course: Course, venue: Venue) -> Session:
    return make_session(course, venue, starts_at=aware(2020, 3, 10, 9, 30))


def answered(
    booking: Booking, *, text: str, quote: str, consent: bool, when: dt.datetime
) -> Response:
    invitation = sent_invitation(booking, kind=InvitationKind.FOLLOW_UP, sent_at=when)
    survey = Survey.objects.get(kind=SurveyKind.FOLLOW_UP)
    response = Response.objects.create(
        survey=survey,
        booking=booking,
        invitation=invitation,
        channel=Channel.ONLINE,
        course=booking.session.course,
        sector=booking.sector,
        session_date=booking.session.starts_at.date(),
        submitted_at=when,
        good_practice=True,
        quote_consent=consent,
        quote=quote,
    )
    question = survey.questions.filter(type=QuestionType.FREE_TEXT).first()
    assert question is not None
    Answer.objects.create(response=response, question=question, text=text)
    return response


def run(as_of: dt.date, *, dry_run: bool = False) -> Any:
    return retention_apply(as_of=as_of, dry_run=dry_run, now=NOW)


def test_a_person_inactive_for_six_years_is_anonymised_everywhere_with_one_audit_entry(
    old_session: Session, school: Agency
) -> None:
    tess = person("tess@example.org", agency=school, first_name="Tess", last_name="Teacher")
    booking = place(old_session, attendee=tess, agency=school)
    colleague = place(old_session, name="Col League", email="col@example.org", agency=school)
    EmailAddress.objects.create(user=tess, email=tess.email, verified=True)
    get_user_model().objects.filter(pk=tess.pk).update(date_joined=aware(2019, 1, 1))
    Booking.objects.update(created_at=aware(2020, 1, 1))

    result = run(dt.date(2026, 3, 11))

    assert result.people == 2
    booking.refresh_from_db()
    tess.refresh_from_db()
    assert booking.attendee_name == "Anonymised person"
    assert booking.attendee_email == email_token("tess@example.org")
    assert booking.attendee_email.endswith("@anonymised.invalid")
    assert booking.sector_id == school.sector_id and booking.attendance == "attended"
    assert (tess.first_name, tess.last_name, tess.email) == (
        "Anonymised",
        "person",
        email_token("tess@example.org"),
    )
    assert not tess.is_active and not tess.has_usable_password()
    assert Profile.objects.get(user=tess).phone == ""
    colleague.refresh_from_db()
    assert colleague.attendee_email == email_token("col@example.org") != booking.attendee_email
    entries = AuditEntry.objects.filter(action="personal data anonymised (retention)")
    assert entries.count() == 2
    about_tess = entries.get(object_type="auth.user", object_id=str(tess.pk))
    assert about_tess.changes["bookings"] == 1 and about_tess.changes["accounts"] == 1
    assert "tess" not in str(about_tess.changes).lower()


def test_someone_active_within_six_years_keeps_their_details(
    old_session: Session, school: Agency
) -> None:
    place(old_session, name="Recent Person", email="recent@example.org", agency=school)
    Booking.objects.update(created_at=aware(2020, 1, 1))

    assert run(dt.date(2026, 3, 9)).people == 0
    assert Booking.objects.get().attendee_email == "recent@example.org"


def test_the_administrator_can_lengthen_the_period(old_session: Session, school: Agency) -> None:
    place(old_session, name="Kept Person", email="kept@example.org", agency=school)
    Booking.objects.update(created_at=aware(2020, 1, 1))
    policy = RetentionPolicy.current()
    assert policy.contact_years == 6
    policy.contact_years = 10
    policy.save()

    assert run(dt.date(2026, 3, 11)).people == 0
    assert run(dt.date(2030, 3, 11)).people == 1


def test_survey_free_text_goes_after_three_years_but_a_consented_quote_stays(
    old_session: Session, school: Agency
) -> None:
    booking = place(old_session, name="Active Person", email="active@example.org", agency=school)
    kept = answered(
        booking, text="I told my head", quote="We share now", consent=True, when=aware(2020, 6, 1)
    )
    cleared = answered(
        place(old_session, name="Other", email="other@example.org", agency=school),
        text="Jane at St Mary's",
        quote="Jane helped",
        consent=False,
        when=aware(2020, 6, 1),
    )
    Booking.objects.update(created_at=aware(2023, 1, 1))  # still active: only the text rule

    result = run(dt.date(2023, 6, 2))

    assert result.people == 0
    assert result.counts["survey_free_text"] == 3
    kept.refresh_from_db()
    cleared.refresh_from_db()
    assert kept.quote == "We share now" and cleared.quote == ""
    assert set(Answer.objects.values_list("text", flat=True)) == {""}
    assert run(dt.date(2023, 6, 2)).counts["survey_free_text"] == 0


def test_survey_free_text_younger_than_three_years_stays(
    old_session: Session, school: Agency
) -> None:
    booking = place(old_session, name="Active Person", email="active@example.org", agency=school)
    answered(booking, text="Still useful", quote="", consent=False, when=aware(2020, 6, 1))

    run(dt.date(2023, 5, 31))

    assert Answer.objects.get().text == "Still useful"


def test_an_unconfirmed_account_goes_after_thirty_days_and_a_confirmed_one_stays(db: Any) -> None:
    User = get_user_model()
    stale = User.objects.create(username="stale@example.org", email="stale@example.org")
    fresh = User.objects.create(username="fresh@example.org", email="fresh@example.org")
    confirmed = User.objects.create(username="ok@example.org", email="ok@example.org")
    EmailAddress.objects.create(user=stale, email=stale.email, verified=False)
    EmailAddress.objects.create(user=confirmed, email=confirmed.email, verified=True)
    User.objects.filter(pk__in=[stale.pk, confirmed.pk]).update(date_joined=aware(2030, 4, 1))
    User.objects.filter(pk=fresh.pk).update(date_joined=aware(2030, 5, 20))

    result = run(dt.date(2030, 6, 1))

    assert result.counts["unverified_accounts_deleted"] == 1
    assert set(User.objects.values_list("email", flat=True)) == {
        "fresh@example.org",
        "ok@example.org",
    }
    assert AuditEntry.objects.filter(
        object_type="auth.user", object_id=str(stale.pk), action__startswith="unconfirmed"
    ).exists()


def test_the_audit_trails_actor_names_go_after_six_years(
    old_session: Session, school: Agency, training_admin: Any
) -> None:
    booking = place(old_session, name="Kept", email="kept@example.org", agency=school)
    Booking.objects.update(created_at=aware(2030, 1, 1))
    old = audit_record(obj=booking, action="created", actor=training_admin, now=aware(2020, 1, 1))
    recent = audit_record(obj=booking, action="closed", actor=training_admin, now=aware(2025, 1, 1))
    system = audit_record(obj=booking, action="expired", actor=None, now=aware(2020, 1, 1))

    run(dt.date(2030, 6, 1))

    old.refresh_from_db()
    recent.refresh_from_db()
    system.refresh_from_db()
    assert (old.actor_id, old.actor_label) == (None, "Anonymised person")
    assert old.action == "created"
    assert recent.actor_label == training_admin.email
    assert system.actor_label == "system"


def test_a_dry_run_lists_what_would_change_and_changes_nothing(
    old_session: Session, school: Agency
) -> None:
    place(old_session, name="Dry Run", email="dry@example.org", agency=school)
    Booking.objects.update(created_at=aware(2020, 1, 1))
    output = io.StringIO()

    call_command("apply_retention", "--dry-run", "--as-of", "2030-01-01", stdout=output)

    assert output.getvalue().splitlines() == [
        "Would change (as of 2030-01-01): 1 people anonymised",
        "  bookings: 1",
    ]
    assert Booking.objects.get().attendee_email == "dry@example.org"
    assert not AuditEntry.objects.exists()
    call_command("apply_retention", "--as-of", "2030-01-01", stdout=output)
    assert Booking.objects.get().attendee_email == email_token("dry@example.org")


def test_a_bad_date_is_refused_with_a_clear_message(db: Any) -> None:
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("apply_retention", "--as-of", "01/01/2030")
