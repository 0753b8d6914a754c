"""Operations on 'test and check' calls: the monthly draw, sharing calls out, recording them.

Every function reads no clock of its own: callers pass ``now``.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from bookings.audit import audit_record
from bookings.models import Attendance, Booking, BookingStatus
from evaluation.errors import EvaluationError
from evaluation.models import (
    MAX_CALL_ATTEMPTS,
    UNSUCCESSFUL_CALL_STATUSES,
    AttemptOutcome,
    CallAttempt,
    CallDraw,
    CallStatus,
    Channel,
    FollowUpCall,
    FollowUpOptOut,
    ImpactCode,
    Response,
    ResponseImpact,
    Survey,
    SurveyKind,
    first_of_month,
)
from evaluation.surveys.services import AnswerData, answers_by_key, response_write
from training.models import Course, Sector
from training.roles import Role

# --- policy (settings, with the defaults the unit agreed) -----------------------------------


def call_window_months() -> int:
    """A follow-up that fell due longer ago than this is too old to be drawn for a call."""
    return int(getattr(settings, "CALL_DRAW_WINDOW_MONTHS", 6))


# --- the monthly draw -------------------------------------------------------------------------


def month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    start = first_of_month(month)
    next_month = (start + dt.timedelta(days=32)).replace(day=1)
    return start, next_month - dt.timedelta(days=1)


def _months_before(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, 1)


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day))


def follow_up_due_q(*, due_from: dt.date, due_to: dt.date) -> Q:
    """Bookings whose follow-up fell due (session date + the course's weeks) in the range.

    Follow-up weeks vary by course; there are only a few distinct values, so one date range
    per value keeps the whole test in the database (and on an index) on every backend.
    """
    query = Q(pk__in=[])
    weeks_values = Course.objects.order_by().values_list("follow_up_weeks", flat=True).distinct()
    for weeks in weeks_values:
        if weeks <= 0:
            continue
        shift = dt.timedelta(weeks=weeks)
        start = _local_midnight(due_from - shift)
        end = _local_midnight(due_to - shift + dt.timedelta(days=1))
        query |= Q(
            session__course__follow_up_weeks=weeks,
            session__starts_at__gte=start,
            session__starts_at__lt=end,
        )
    return query


def draw_period(month: dt.date, today: dt.date) -> tuple[dt.date, dt.date]:
    """Follow-ups due from the start of the window up to the end of the month drawn (or today,
    if the month is not over): those are the people a call this month is about."""
    start, end = month_bounds(month)
    due_to = min(end, today)
    return _months_before(start, call_window_months() - 1), due_to


def attended_in_period(*, due_from: dt.date, due_to: dt.date) -> QuerySet[Booking]:
    return Booking.objects.filter(
        follow_up_due_q(due_from=due_from, due_to=due_to),
        status=BookingStatus.CONFIRMED,
        attendance=Attendance.ATTENDED,
    )


def eligible_for_calls(*, due_from: dt.date, due_to: dt.date) -> QuerySet[Booking]:
    """Attended places whose follow-up fell due in the range, where the attendee agreed to be
    phoned (and gave a number), has not answered the follow-up online, has not opted out, and
    has no call yet (about this place, or open about another)."""
    answered_online = Response.objects.filter(
        booking=OuterRef("pk"), survey__kind=SurveyKind.FOLLOW_UP
    )
    opted_out = FollowUpOptOut.objects.filter(
        Q(email=OuterRef("attendee_email")) | Q(user=OuterRef("attendee"))
    )
    called = FollowUpCall.objects.filter(booking=OuterRef("pk"))
    open_call = FollowUpCall.objects.filter(person=OuterRef("attendee"), status=CallStatus.OPEN)
    return (
        attended_in_period(due_from=due_from, due_to=due_to)
        .filter(attendee__isnull=False, attendee__profile__consent_to_calls=True)
        .exclude(attendee__profile__phone="")
        .exclude(Exists(answered_online))
        .exclude(Exists(opted_out))
        .exclude(Exists(called))
        .exclude(Exists(open_call))
    )


def allocate_by_sector(
    *,
    size: int,
    attendance: dict[int, int],
    eligible: dict[int, int],
    already: dict[int, int] | None = None,
    order: Sequence[int] = (),
) -> dict[int, int]:
    """How many calls each sector gets (including ``already`` drawn this month).

    The rounding rule, in words:

    1. Every sector with anyone eligible (or already called this month) gets at least one call.
    2. Each further call goes to the sector with the highest attendance per call so far,
       attendance ÷ (calls + ½) — the Sainte-Laguë rule, which rounds proportional shares to
       the nearest whole number without favouring big or small sectors. Ties go to the sector
       with more attendance, then to the one first in the sector list.
    3. A sector never gets more new calls than it has eligible people; its turn passes on.
    4. It stops at ``size`` calls — or above it only when rule 1 needs more: the floor wins.
    """
    allocation = dict(already or {})
    rank = {sector: index for index, sector in enumerate(order)}
    for sector, count in eligible.items():
        if count > 0 and allocation.get(sector, 0) == 0:
            allocation[sector] = 1

    def room(sector: int) -> bool:
        return allocation.get(sector, 0) - (already or {}).get(sector, 0) < eligible.get(sector, 0)

    # A typed function, not a lambda: in max()'s key the lambda's s is Any, so rank.get looks
    # Optional to mypy.
    def priority(s: int) -> tuple[float, int, int]:
        return (
            attendance.get(s, 0) / (allocation.get(s, 0) + 0.5),
            attendance.get(s, 0),
            -rank.get(s, s),
        )

    while sum(allocation.values()) < size:
        candidates = [sector for sector in eligible if room(sector)]
        if not candidates:
            break
        best = max(candidates, key=priority)
        allocation[best] = allocation.get(best, 0) + 1
    return {sector: count for sector, count in allocation.items() if count}


def community_members() -> QuerySet[Any]:
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.COMMUNITY_MEMBER)
        .distinct()
        .order_by("pk")
    )


def followup_calls_draw(
    *,
    month: dt.date,
    size: int,
    actor: Any,
    now: dt.datetime,
    rng: random.Random | None = None,
    assign: bool = True,
) -> CallDraw:
    """Draw the month's 'test and check' calls, stratified by sector (see ``allocate_by_sector``).

    ``size`` is the month's sample: calls already drawn for the month that are open or
    completed count towards it, so running the draw again only tops it up (replacing calls
    that closed unreached) and never draws anyone twice.
    """
    if size < 1:
        raise EvaluationError("The sample size must be at least 1.")
    month = first_of_month(month)
    rng = rng or random.SystemRandom()
    due_from, due_to = draw_period(month, timezone.localdate(now))
    sectors = list(Sector.objects.order_by("order", "name").values_list("pk", "name"))
    names = dict(sectors)
    attendance = dict(
        attended_in_period(due_from=due_from, due_to=due_to)
        .order_by()
        .values_list("sector")
        .annotate(n=Count("pk"))
    )
    candidates: list[Mapping[str, Any]] = list(
        eligible_for_calls(due_from=due_from, due_to=due_to)
        .order_by("pk")
        .values("pk", "sector_id", "attendee_id", "attendee__profile__phone")
    )
    # One place per person: someone eligible twice is drawn at most once.
    rng.shuffle(candidates)
    per_person: dict[int, Mapping[str, Any]] = {}
    for row in candidates:
        per_person.setdefault(row["attendee_id"], row)
    pool: dict[int, list[Mapping[str, Any]]] = {}
    for row in sorted(per_person.values(), key=lambda r: r["pk"]):
        pool.setdefault(row["sector_id"], []).append(row)
    already = Counter(
        FollowUpCall.objects.filter(month=month)
        .exclude(status__in=UNSUCCESSFUL_CALL_STATUSES)
        .values_list("sector_id", flat=True)
    )
    allocation = allocate_by_sector(
        size=size,
        attendance=attendance,
        eligible={sector: len(rows) for sector, rows in pool.items()},
        already=dict(already),
        order=[pk for pk, _ in sectors],
    )
    try:
        with transaction.atomic():
            draw = CallDraw.objects.create(
                month=month,
                size=size,
                drawn_at=now,
                drawn_by=actor if getattr(actor, "pk", None) else None,
                eligible=len(per_person),
            )
            new_calls: list[FollowUpCall] = []
            for sector_id in [pk for pk, _ in sectors]:
                wanted = allocation.get(sector_id, 0) - already.get(sector_id, 0)
                if wanted <= 0:
                    continue
                for row in rng.sample(pool[sector_id], wanted):
                    new_calls.append(
                        FollowUpCall.objects.create(
                            draw=draw,
                            month=month,
                            booking_id=row["pk"],
                            person_id=row["attendee_id"],
                            sector_id=sector_id,
                            phone=row["attendee__profile__phone"],
                            created_at=now,
                        )
                    )
            draw.drawn = len(new_calls)
            draw.allocation = {
                names[s]: n for s, n in sorted(allocation.items(), key=lambda i: names[i[0]])
            }
            draw.save(update_fields=["drawn", "allocation"])
            audit_record(
                obj=draw,
                action="calls drawn",
                actor=actor,
                now=now,
                changes={
                    "month": month,
                    "size": size,
                    "drawn": len(new_calls),
                    "allocation": draw.allocation,
                },
            )
            if assign and new_calls:
                calls_assign_evenly(calls=new_calls, actor=actor, now=now)
    except IntegrityError as error:
        # The unique constraints caught a draw running at the same moment.
        raise EvaluationError(
            "Another draw was running at the same time. Run the draw again."
        ) from error
    return draw


def calls_assign_evenly(*, calls: Iterable[FollowUpCall], actor: Any, now: dt.datetime) -> int:
    """Give each open, unassigned call to the community member with the fewest open calls."""
    members = list(community_members())
    if not members:
        return 0
    load = dict(
        FollowUpCall.objects.filter(status=CallStatus.OPEN, assigned_to__in=members)
        .order_by()
        .values_list("assigned_to")
        .annotate(n=Count("pk"))
    )
    assigned = 0
    with transaction.atomic():
        for call in sorted(calls, key=lambda c: c.pk):
            if call.assigned_to_id is not None or call.status != CallStatus.OPEN:
                continue
            member = min(members, key=lambda m: (load.get(m.pk, 0), m.pk))
            call_assign(call=call, member=member, actor=actor, now=now)
            load[member.pk] = load.get(member.pk, 0) + 1
            assigned += 1
    return assigned


def call_assign(*, call: FollowUpCall, member: Any, actor: Any, now: dt.datetime) -> None:
    """Give a call to a community member (by hand, or from ``calls_assign_evenly``)."""
    if member is not None and not community_members().filter(pk=member.pk).exists():
        raise EvaluationError("Calls can only be given to community members.")
    old = call.assigned_to_id
    call.assigned_to = member
    FollowUpCall.objects.filter(pk=call.pk).update(assigned_to=member)
    audit_record(
        obj=call,
        action="assigned",
        actor=actor,
        now=now,
        changes={"assigned_to": [old, getattr(member, "pk", None)]},
    )


# --- recording calls --------------------------------------------------------------------------


def _close_call(
    call: FollowUpCall, status: str, reason: str, *, actor: Any, now: dt.datetime
) -> None:
    call.close(status=status, reason=reason, now=now)
    audit_record(
        obj=call, action=f"closed: {status}", actor=actor, now=now, changes={"reason": reason}
    )


def _lock_open_call(call: FollowUpCall, member: Any) -> FollowUpCall:
    # The call row lock serialises two taps (or two phones) recording on the same call.
    locked = (
        FollowUpCall.objects.select_for_update().select_related("booking__session").get(pk=call.pk)
    )
    if locked.assigned_to_id != member.pk:
        raise EvaluationError("This call is not on your list.")
    if locked.status != CallStatus.OPEN:
        raise EvaluationError("This call is closed; nothing more can be recorded on it.")
    return locked


def call_attempt_record(
    *,
    call: FollowUpCall,
    outcome: str,
    member: Any,
    now: dt.datetime,
    call_back_at: dt.datetime | None = None,
) -> CallAttempt:
    """Record one try at a call. Wrong number and declined close the call; a third try that
    does not reach the person closes it as unreachable. Reached opens the call script.

    If they were reached but have to stop (call back later) or change their mind (declined),
    that was still the same phone call: the reached attempt takes the new outcome instead of
    a new attempt being counted.
    """
    if outcome not in AttemptOutcome.values:
        raise EvaluationError("Choose what happened when you called.")
    if outcome == AttemptOutcome.CALL_BACK:
        if call_back_at is None:
            raise EvaluationError("Give the day and time they asked you to call back.")
        if call_back_at <= now:
            raise EvaluationError("The time to call back must be in the future.")
    else:
        call_back_at = None
    with transaction.atomic():
        call = _lock_open_call(call, member)
        attempts = list(call.attempts.order_by("number"))
        if attempts and attempts[-1].outcome == AttemptOutcome.REACHED:
            if outcome not in (AttemptOutcome.CALL_BACK, AttemptOutcome.DECLINED):
                raise EvaluationError("You have reached this person: fill in the call script.")
            attempt = attempts[-1]
            attempt.outcome, attempt.call_back_at = outcome, call_back_at
            attempt.save(update_fields=["outcome", "call_back_at"])
        elif len(attempts) >= MAX_CALL_ATTEMPTS:
            raise EvaluationError(f"A call can be tried at most {MAX_CALL_ATTEMPTS} times.")
        else:
            attempt = CallAttempt.objects.create(
                call=call,
                number=len(attempts) + 1,
                outcome=outcome,
                call_back_at=call_back_at,
                attempted_at=now,
                recorded_by=member,
            )
        if outcome == AttemptOutcome.WRONG_NUMBER:
            _close_call(call, CallStatus.WRONG_NUMBER, "Wrong number", actor=member, now=now)
        elif outcome == AttemptOutcome.DECLINED:
            _close_call(call, CallStatus.DECLINED, "Declined to take part", actor=member, now=now)
        elif outcome in (AttemptOutcome.NO_ANSWER, AttemptOutcome.CALL_BACK):
            if attempt.number >= MAX_CALL_ATTEMPTS:
                _close_call(
                    call,
                    CallStatus.UNREACHABLE,
                    f"Not reached in {MAX_CALL_ATTEMPTS} attempts",
                    actor=member,
                    now=now,
                )
            else:
                call.call_back_at = call_back_at
                call.save(update_fields=["call_back_at"])
        else:
            call.call_back_at = None
            call.save(update_fields=["call_back_at"])
    return attempt


def call_complete(
    *,
    call: FollowUpCall,
    answers: Sequence[AnswerData],
    impact_codes: Sequence[str],
    good_practice: bool,
    member: Any,
    now: dt.datetime,
) -> Response:
    """Store what the person said on the phone (the call script's answers), the impact codes
    and the good-practice flag; the call is then complete."""
    codes = list(dict.fromkeys(impact_codes))
    if not codes:
        raise EvaluationError("Choose at least one impact code (or 'No change').")
    if any(code not in ImpactCode.values for code in codes):
        raise EvaluationError("Choose impact codes from the list.")
    if ImpactCode.NO_CHANGE in codes and len(codes) > 1:
        raise EvaluationError("'No change' cannot go with other impact codes.")
    survey = Survey.objects.filter(kind=SurveyKind.CALL_SCRIPT).first()
    if survey is None:
        raise EvaluationError("There is no call script. Ask the training team to add one.")
    with transaction.atomic():
        call = _lock_open_call(call, member)
        last = call.attempts.order_by("-number").first()
        if last is None or last.outcome != AttemptOutcome.REACHED:
            raise EvaluationError("Record that you reached the person before the call script.")
        if good_practice:
            example = answers_by_key(survey, answers).get("example")
            if example is None or not example.text.strip():
                raise EvaluationError("Write down the example before flagging it as good practice.")
        response = response_write(
            survey=survey,
            booking=call.booking,
            answers=answers,
            channel=Channel.PHONE,
            now=now,
            call=call,
            recorded_by=member,
            good_practice=good_practice,
        )
        ResponseImpact.objects.bulk_create(
            ResponseImpact(response=response, code=code) for code in codes
        )
        _close_call(call, CallStatus.COMPLETED, "Completed", actor=member, now=now)
    return response


def call_cancel(*, call: FollowUpCall, reason: str, actor: Any, now: dt.datetime) -> None:
    if not reason.strip():
        raise EvaluationError("Give a reason for cancelling the call.")
    with transaction.atomic():
        call = FollowUpCall.objects.select_for_update().get(pk=call.pk)
        if call.status != CallStatus.OPEN:
            return
        _close_call(call, CallStatus.CANCELLED, reason.strip(), actor=actor, now=now)
