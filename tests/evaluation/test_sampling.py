"""The monthly 'test and check' draw: who is eligible, how the sample splits by sector, and
that drawing again never duplicates a call."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections import Counter
from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from bookings.models import Attendance
from evaluation.calls.services import (
    allocate_by_sector,
    call_assign,
    call_attempt_record,
    followup_calls_draw,
)
from evaluation.errors import EvaluationError
from evaluation.models import CallDraw, CallStatus, FollowUpCall, InvitationKind
from evaluation.surveys.services import follow_up_opt_out, survey_submit
from tests.conftest import make_person, make_session
from tests.evaluation.helpers import Clock, agency_in, aware, person, place, sent_invitation
from training.models import Course, Sector, Session, Venue
from training.roles import Role

pytestmark = pytest.mark.django_db

JUNE = dt.date(2025, 6, 1)


@pytest.fixture
def clock_mid_june(clock: Clock) -> Clock:
    clock.set(aware(2025, 6, 16, 10))
    return clock


def attendees(session: Session, sector: Sector, count: int, *, prefix: str, **kwargs: Any) -> list:
    agency = agency_in(sector)
    bookings = []
    for number in range(count):
        user = person(f"{prefix}{number}@example.org", agency=agency, **kwargs)
        bookings.append(place(session, attendee=user, agency=agency))
    return bookings


def drawn_by_sector() -> dict[str, int]:
    return dict(Counter(FollowUpCall.objects.values_list("sector__name", flat=True)))


def draw(size: int, *, seed: int = 1, actor: Any = "test", month: dt.date = JUNE) -> CallDraw:

    return followup_calls_draw(
        month=month, size=size, actor=actor, now=timezone.now(), rng=random.Random(seed)
    )


# --- the allocation rule, on its own ------------------------------------------------------


def test_allocation_is_proportional_to_attendance() -> None:
    allocation = allocate_by_sector(
        size=6, attendance={1: 30, 2: 20, 3: 10}, eligible={1: 30, 2: 20, 3: 10}, order=[1, 2, 3]
    )
    assert allocation == {1: 3, 2: 2, 3: 1}


def test_allocation_rounds_to_the_nearest_whole_share() -> None:
    # Exact shares 6.5 / 2.6 / 0.9 of 10: the floor gives the small sector its one call, and
    # Sainte-Laguë gives the rest as 6 and 3.
    allocation = allocate_by_sector(
        size=10, attendance={1: 65, 2: 26, 3: 9}, eligible={1: 50, 2: 50, 3: 50}, order=[1, 2, 3]
    )
    assert allocation == {1: 6, 2: 3, 3: 1}
    assert sum(allocation.values()) == 10


def test_allocation_gives_every_eligible_sector_one_even_when_tiny() -> None:
    allocation = allocate_by_sector(
        size=5, attendance={1: 97, 2: 2, 3: 1}, eligible={1: 97, 2: 2, 3: 1}, order=[1, 2, 3]
    )
    assert allocation == {1: 3, 2: 1, 3: 1}


def test_the_floor_wins_over_a_size_smaller_than_the_number_of_sectors() -> None:
    allocation = allocate_by_sector(
        size=2, attendance={1: 50, 2: 30, 3: 20}, eligible={1: 5, 2: 5, 3: 5}, order=[1, 2, 3]
    )
    assert allocation == {1: 1, 2: 1, 3: 1}


def test_a_sector_never_gets_more_calls_than_it_has_eligible_people() -> None:
    # Health has most attendance but only one person who agreed to calls: its turns pass on.
    allocation = allocate_by_sector(
        size=6, attendance={1: 80, 2: 20}, eligible={1: 1, 2: 10}, order=[1, 2]
    )
    assert allocation == {1: 1, 2: 5}


def test_a_sector_with_nobody_eligible_gets_nothing() -> None:
    allocation = allocate_by_sector(
        size=4, attendance={1: 80, 2: 20}, eligible={2: 10}, order=[1, 2]
    )
    assert allocation == {2: 4}


def test_ties_go_to_the_sector_first_in_the_list() -> None:
    allocation = allocate_by_sector(
        size=3, attendance={7: 10, 4: 10}, eligible={7: 5, 4: 5}, order=[4, 7]
    )
    assert allocation == {4: 2, 7: 1}


def test_calls_already_drawn_count_towards_the_month() -> None:
    allocation = allocate_by_sector(
        size=6,
        attendance={1: 30, 2: 20, 3: 10},
        eligible={1: 27, 2: 18, 3: 9},
        already={1: 3, 2: 2, 3: 1},
        order=[1, 2, 3],
    )
    assert allocation == {1: 3, 2: 2, 3: 1}


# --- the draw against the database -----------------------------------------------------------


def test_the_draw_is_stratified_by_sector_in_proportion_to_attendance(
    clock_mid_june: Clock, march_session: Session, sectors: dict[str, Sector]
) -> None:
    attendees(march_session, sectors["Schools"], 15, prefix="school")
    attendees(march_session, sectors["Health"], 10, prefix="health")
    attendees(march_session, sectors["Police"], 5, prefix="police")

    result = draw(6)

    assert drawn_by_sector() == {"Schools": 3, "Health": 2, "Police": 1}
    assert result.drawn == 6 and result.eligible == 30
    assert result.allocation == {"Health": 2, "Police": 1, "Schools": 3}
    assert FollowUpCall.objects.values("person").distinct().count() == 6


def test_every_sector_with_someone_eligible_gets_a_call(
    clock_mid_june: Clock, march_session: Session, sectors: dict[str, Sector]
) -> None:
    attendees(march_session, sectors["Schools"], 20, prefix="school")
    attendees(march_session, sectors["Probation"], 1, prefix="probation")
    # Health came in numbers but nobody agreed to be phoned: no Health calls.
    attendees(march_session, sectors["Health"], 10, prefix="health", consent=False)

    draw(4)

    assert drawn_by_sector() == {"Schools": 3, "Probation": 1}


def test_attendance_not_eligible_for_calls_still_weighs_its_sector(
    clock_mid_june: Clock, march_session: Session, sectors: dict[str, Sector]
) -> None:
    # Schools: 30 attended, 6 agreed to calls. Health: 10 attended, all agreed. The split
    # follows attendance (3:1), not the number who agreed (6:10).
    attendees(march_session, sectors["Schools"], 6, prefix="school")
    attendees(march_session, sectors["Schools"], 24, prefix="quiet", consent=False)
    attendees(march_session, sectors["Health"], 10, prefix="health")

    draw(4)

    assert drawn_by_sector() == {"Schools": 3, "Health": 1}


def test_people_who_cannot_be_called_are_never_drawn(
    clock_mid_june: Clock,
    march_session: Session,
    sectors: dict[str, Sector],
    venue: Venue,
    outcomes_course: Course,
    school: Any,
) -> None:
    [eligible] = attendees(march_session, sectors["Schools"], 1, prefix="yes")
    [no_consent] = attendees(march_session, sectors["Schools"], 1, prefix="no", consent=False)
    [no_phone] = attendees(march_session, sectors["Schools"], 1, prefix="nophone", phone="")
    [answered] = attendees(march_session, sectors["Schools"], 1, prefix="answered")
    invitation = sent_invitation(
        answered, kind=InvitationKind.FOLLOW_UP, sent_at=aware(2025, 5, 26, 9)
    )
    survey_submit(invitation=invitation, answers=[], now=aware(2025, 5, 27))
    [opted_out] = attendees(march_session, sectors["Schools"], 1, prefix="optout")
    follow_up_opt_out(email=opted_out.attendee_email, now=aware(2025, 5, 1))
    [absent] = attendees(march_session, sectors["Schools"], 1, prefix="absent")
    absent.attendance = Attendance.ABSENT
    absent.save()
    no_account = place(
        march_session, name="Booked By Colleague", email="nouser@example.org", agency=school
    )
    # Follow-up not due until 7 July (after the month's cut-off, today 16 June).
    april = make_session(outcomes_course, venue, starts_at=aware(2025, 4, 14, 9, 30))
    [not_due] = attendees(april, sectors["Schools"], 1, prefix="notdue")
    # Follow-up fell due in 2024: outside the six-month window.
    old = make_session(outcomes_course, venue, starts_at=aware(2024, 3, 4, 9, 30))
    [too_old] = attendees(old, sectors["Schools"], 1, prefix="old")

    result = draw(50)

    assert list(FollowUpCall.objects.values_list("booking", flat=True)) == [eligible.pk]
    assert result.eligible == 1
    never = {no_consent, no_phone, answered, opted_out, absent, no_account, not_due, too_old}
    assert not FollowUpCall.objects.filter(booking__in=never).exists()


def test_a_follow_up_counts_from_the_day_it_falls_due(
    clock_mid_june: Clock, venue: Venue, outcomes_course: Course, sectors: dict[str, Sector]
) -> None:
    april = make_session(outcomes_course, venue, starts_at=aware(2025, 4, 14, 9, 30))
    attendees(april, sectors["Schools"], 2, prefix="april")  # follow-up due Monday 7 July
    assert draw(5).drawn == 0
    assert draw(5, month=dt.date(2025, 7, 1)).drawn == 0  # July has begun, but 7 July has not
    clock_mid_june.set(aware(2025, 7, 7, 10))
    assert draw(5, month=dt.date(2025, 7, 1)).drawn == 2


def test_drawing_again_tops_up_and_never_duplicates_an_open_call(
    clock_mid_june: Clock,
    march_session: Session,
    sectors: dict[str, Sector],
    community_member: Any,
) -> None:
    attendees(march_session, sectors["Schools"], 6, prefix="school")

    assert draw(3, seed=1).drawn == 3
    first = set(FollowUpCall.objects.values_list("booking", flat=True))
    assert draw(3, seed=2).drawn == 0  # the month already has its three
    assert FollowUpCall.objects.count() == 3

    # One call closes as a wrong number: a redraw replaces it with someone new.
    wrong = FollowUpCall.objects.first()
    call_attempt_record(
        call=wrong, outcome="wrong_number", member=community_member, now=clock_mid_june.now
    )
    assert draw(3, seed=3).drawn == 1
    bookings = list(FollowUpCall.objects.values_list("booking", flat=True))
    assert len(bookings) == len(set(bookings)) == 4
    assert first < set(bookings)
    assert FollowUpCall.objects.filter(status=CallStatus.OPEN).count() == 3

    # Asking for more draws only people with no call yet, until nobody is left.
    assert draw(10, seed=4).drawn == 2
    assert draw(10, seed=5).drawn == 0
    assert FollowUpCall.objects.values("booking").distinct().count() == 6


def test_the_database_refuses_a_second_call_for_a_place_or_a_second_open_call_for_a_person(
    clock_mid_june: Clock,
    march_session: Session,
    sectors: dict[str, Sector],
    outcomes_course: Course,
    venue: Venue,
) -> None:
    [booking] = attendees(march_session, sectors["Schools"], 1, prefix="school")
    draw(1)
    call = FollowUpCall.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        FollowUpCall.objects.create(
            draw=call.draw, month=JUNE, booking=booking, sector=call.sector, phone="1"
        )
    second = make_session(outcomes_course, venue, starts_at=aware(2025, 3, 10, 9, 30))
    other_place = place(second, attendee=booking.attendee, agency=booking.agency)
    with pytest.raises(IntegrityError), transaction.atomic():
        FollowUpCall.objects.create(
            draw=call.draw,
            month=JUNE,
            booking=other_place,
            person=booking.attendee,
            sector=call.sector,
            phone="1",
        )


def test_someone_with_an_open_call_about_another_course_is_not_drawn_again(
    clock_mid_june: Clock,
    march_session: Session,
    sectors: dict[str, Sector],
    outcomes_course: Course,
    venue: Venue,
) -> None:
    [booking] = attendees(march_session, sectors["Schools"], 1, prefix="school")
    second = make_session(outcomes_course, venue, starts_at=aware(2025, 3, 10, 9, 30))
    place(second, attendee=booking.attendee, agency=booking.agency)
    assert draw(5).drawn == 1
    assert draw(5, month=dt.date(2025, 5, 1)).drawn == 0


def test_new_calls_are_shared_evenly_between_community_members(
    clock_mid_june: Clock,
    march_session: Session,
    sectors: dict[str, Sector],
    community_member: Any,
) -> None:
    second = make_person(
        "second.volunteer@example.org", agency=None, roles=(Role.COMMUNITY_MEMBER,)
    )
    attendees(march_session, sectors["Schools"], 5, prefix="school")
    draw(5)
    load = Counter(FollowUpCall.objects.values_list("assigned_to", flat=True))
    assert load == {community_member.pk: 3, second.pk: 2}


def test_a_call_can_be_given_only_to_a_community_member(
    clock_mid_june: Clock,
    march_session: Session,
    sectors: dict[str, Sector],
    practitioner: Any,
    community_member: Any,
) -> None:
    attendees(march_session, sectors["Schools"], 1, prefix="school")
    draw(1)
    call = FollowUpCall.objects.get()
    with pytest.raises(EvaluationError):
        call_assign(call=call, member=practitioner, actor="test", now=clock_mid_june.now)
    call_assign(call=call, member=community_member, actor="test", now=clock_mid_june.now)
    assert FollowUpCall.objects.get().assigned_to == community_member


def test_draw_calls_command_prints_the_split(
    clock_mid_june: Clock,
    march_session: Session,
    sectors: dict[str, Sector],
    community_member: Any,
) -> None:
    attendees(march_session, sectors["Schools"], 4, prefix="school")
    attendees(march_session, sectors["Police"], 1, prefix="police")
    out = io.StringIO()
    call_command("draw_calls", "--month", "2025-06", "--size", "3", "--seed", "7", stdout=out)
    assert "June 2025: 3 new calls drawn from 5 eligible." in out.getvalue()
    assert "  Schools: 2" in out.getvalue() and "  Police: 1" in out.getvalue()
    assert FollowUpCall.objects.filter(assigned_to=community_member).count() == 3


def test_the_administrator_draws_from_the_admin(
    client: Any,
    clock_mid_june: Clock,
    march_session: Session,
    sectors: dict[str, Sector],
    training_admin: Any,
    community_member: Any,
    admin_permissions: None,
) -> None:
    attendees(march_session, sectors["Schools"], 3, prefix="school")
    client.force_login(training_admin)
    changelist = client.get(reverse("admin:evaluation_followupcall_changelist"))
    draw_url = reverse("admin:evaluation_followupcall_draw")
    assert draw_url in changelist.content.decode()
    assert client.get(draw_url).status_code == 200

    response = client.post(draw_url, {"month": "2025-06", "size": "2"}, follow=True)

    assert FollowUpCall.objects.count() == 2
    assert "2 new calls drawn for June 2025 from 3 eligible" in response.content.decode()
    assert CallDraw.objects.get().drawn_by == training_admin


def test_the_administrator_reassigns_a_call_by_hand_in_the_list(
    client: Any,
    clock_mid_june: Clock,
    march_session: Session,
    sectors: dict[str, Sector],
    training_admin: Any,
    community_member: Any,
    admin_permissions: None,
) -> None:
    second = make_person(
        "second.volunteer@example.org", agency=None, roles=(Role.COMMUNITY_MEMBER,)
    )
    attendees(march_session, sectors["Schools"], 1, prefix="school")
    draw(1)
    call = FollowUpCall.objects.get()
    assert call.assigned_to == community_member
    client.force_login(training_admin)
    response = client.post(
        reverse("admin:evaluation_followupcall_changelist"),
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(call.pk),
            "form-0-assigned_to": str(second.pk),
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    assert FollowUpCall.objects.get().assigned_to == second


def test_a_sample_size_below_one_is_refused(clock_mid_june: Clock) -> None:
    with pytest.raises(EvaluationError):
        draw(0)
