"""Certificates of attendance, their public verification, training records and refresher
reminders.

A certificate exists for every attended place; it carries the booking's ``certificate_code``,
and the public page at ``/certificates/<code>/`` confirms it is genuine for as long as the
place is recorded as attended (correcting a register to "absent" withdraws it). A person's
training record lists what they attended; courses with a refresh interval show when the
refresher is due, and a background task emails a reminder six weeks before.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Q, QuerySet
from django.tasks import task
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from bookings.files.pdf import html_to_pdf, htmls_to_pdf
from bookings.models import Attendance, Booking, BookingStatus, OutgoingEmail
from bookings.outbox import email_queue, emails_queue, outgoing_email
from bookings.permissions import verified_email
from training.models import Course, Session

REFRESHER_REMINDER_DAYS = 42  # six weeks before the refresher is due
REFRESHER_EMAIL_KIND = "refresher_due"


CERTIFICATE_EMAIL_KIND = "certificate_issued"
_LINK_SALT = "bookings.attendance.certificates.link"


# --- certificates ---------------------------------------------------------------------------


def attended_bookings() -> QuerySet[Booking]:
    return Booking.objects.filter(status=BookingStatus.CONFIRMED, attendance=Attendance.ATTENDED)


def certificate_find(code: str) -> Booking | None:
    """The attended place a verification code belongs to, or None (typed codes forgive case,
    spaces and dashes)."""
    cleaned = "".join(char for char in code.upper() if char.isalnum())
    if not cleaned or len(cleaned) > 12:
        return None
    return (
        attended_bookings()
        .select_related("session__course", "session__venue", "agency")
        .prefetch_related("session__parts")
        .filter(certificate_code=cleaned)
        .first()
    )


def certificate_verify_url(booking: Booking) -> str:
    return settings.SITE_URL + reverse(
        "attendance:certificate_verify", args=[booking.certificate_code]
    )


def hours_label(hours: float) -> str:
    rounded = round(hours * 4) / 4  # to the quarter hour
    shown = f"{rounded:g}"
    return f"{shown} hour" if rounded == 1 else f"{shown} hours"


def session_hours(booking: Booking) -> float:
    return sum(part.hours for part in booking.session.ordered_parts)


def session_dates_label(booking: Booking) -> str:
    parts = booking.session.ordered_parts
    if not parts:
        start = booking.session.starts_at
        return f"{timezone.localtime(start):%-d %B %Y}" if start else ""
    days = []
    for part in parts:
        label = f"{timezone.localtime(part.starts_at):%-d %B %Y}"
        if label not in days:
            days.append(label)
    return ", ".join(days)


def certificate_context(booking: Booking) -> dict[str, Any]:
    session = booking.session
    course = session.course
    return {
        "booking": booking,
        "course": course,
        "level": course.get_level_display() if course.level else "",
        "parts": [
            {
                "day": f"{timezone.localtime(part.starts_at):%A %-d %B %Y}",
                "times": f"{timezone.localtime(part.starts_at):%H:%M}–"
                f"{timezone.localtime(part.ends_at):%H:%M}",
            }
            for part in session.ordered_parts
        ],
        "dates": session_dates_label(booking),
        "hours": hours_label(session_hours(booking)),
        "outcomes": [outcome.text for outcome in course.outcomes.all()],
        "venue": session.venue,
        "verify_url": certificate_verify_url(booking),
        "UNIT_NAME": settings.UNIT_NAME,
        "SITE_URL": settings.SITE_URL,
    }


def certificate_html(booking: Booking) -> str:
    return render_to_string(
        "bookings/attendance/certificate_pdf.html", certificate_context(booking)
    )


def certificate_pdf(booking: Booking) -> bytes:
    """The certificate of attendance as an A4 PDF."""
    return html_to_pdf(certificate_html(booking))


def certificate_filename(booking: Booking) -> str:
    name = "".join(char if char.isalnum() else "-" for char in booking.attendee_name).strip("-")
    return f"certificate-{booking.certificate_code}-{name or 'attendee'}.pdf"


def certificates_pdf(bookings: list[Booking]) -> bytes:
    """Every one of these certificates in one PDF, one per page, in the order given."""
    return htmls_to_pdf([certificate_html(booking) for booking in bookings])


def session_certificates(session: Session) -> list[Booking]:
    """The attended places of a session, by name: the certificates the session gave."""
    return list(
        attended_bookings()
        .filter(session=session)
        .select_related("session__course", "session__venue", "agency")
        .prefetch_related("session__parts", "session__course__outcomes")
        .order_by("attendee_name", "pk")
    )


# --- handing certificates out: by email, with a link that needs no account ----------------


def certificate_link_url(booking: Booking) -> str:
    """A signed address that downloads this certificate without signing in, for
    ``CERTIFICATE_LINK_DAYS``; it names the booking and cannot be changed to another's."""
    token = signing.TimestampSigner(salt=_LINK_SALT).sign(str(booking.pk))
    return settings.SITE_URL + reverse("attendance:certificate_link", args=[token])


def certificate_link_booking(token: str) -> Booking | None:
    """The attended place a certificate link names, or None (forged, expired, or the place is
    no longer recorded as attended)."""
    max_age = dt.timedelta(days=settings.CERTIFICATE_LINK_DAYS)
    try:
        pk = signing.TimestampSigner(salt=_LINK_SALT).unsign(token, max_age=max_age)
    except signing.BadSignature:  # also SignatureExpired
        return None
    if not pk.isdigit():
        return None
    return (
        attended_bookings()
        .select_related("session__course", "session__venue", "agency")
        .prefetch_related("session__parts", "session__course__outcomes")
        .filter(pk=int(pk))
        .first()
    )


def certificate_emails_queue(bookings: list[Booking]) -> int:
    """Email each attended place its certificate (PDF attached, and its link), once ever: a
    register closed, reopened and closed again does not send a second copy."""
    attended = [
        b
        for b in bookings
        if b.status == BookingStatus.CONFIRMED and b.attendance == Attendance.ATTENDED
    ]
    already = set(
        OutgoingEmail.objects.filter(
            kind=CERTIFICATE_EMAIL_KIND, booking__in=[b.pk for b in attended]
        ).values_list("booking_id", flat=True)
    )
    queued = emails_queue(
        outgoing_email(
            kind=CERTIFICATE_EMAIL_KIND,
            to=booking.attendee_email,
            booking=booking,
            context={"download_url": certificate_link_url(booking)},
        )
        for booking in attended
        if booking.pk not in already
    )
    return len(queued)


def certificate_attachments(email: OutgoingEmail) -> list[tuple[str, bytes, str]]:
    """The certificate as a PDF, attached when it is sent (while the place is still attended)."""
    if email.booking_id is None:
        return []
    booking = (
        attended_bookings()
        .select_related("session__course", "session__venue", "agency")
        .prefetch_related("session__parts", "session__course__outcomes")
        .filter(pk=email.booking_id)
        .first()
    )
    if booking is None:
        return []
    return [(certificate_filename(booking), certificate_pdf(booking), "application/pdf")]


# --- training records and refreshers ------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _person_bookings(person: Any) -> QuerySet[Booking]:
    """Places that are this person's: linked to their account, or booked for their address and
    not yet claimed (e.g. imported from old registers before they signed up)."""
    email = verified_email(person)
    mine = Q(attendee=person)
    if email:
        mine |= Q(attendee__isnull=True, attendee_email=email)
    return Booking.objects.filter(mine)


@dataclass
class RecordEntry:
    booking: Booking
    dates: str
    hours: str


@dataclass
class Refresher:
    course: Course
    last_attended: dt.date
    due_on: dt.date
    booked_on: dt.date | None
    status: str  # "booked", "overdue", "due_soon" or "not_due"


def training_record(person: Any, *, today: dt.date) -> tuple[list[RecordEntry], list[Refresher]]:
    """What a person attended (latest first) and, per course with a refresh interval, when the
    refresher is due."""
    attended = list(
        _person_bookings(person)
        .filter(status=BookingStatus.CONFIRMED, attendance=Attendance.ATTENDED)
        .select_related("session__course", "session__venue", "agency")
        .prefetch_related("session__parts")
        .order_by("-session__starts_at")
    )
    entries = [
        RecordEntry(booking=b, dates=session_dates_label(b), hours=hours_label(session_hours(b)))
        for b in attended
    ]
    upcoming = {
        course_id: timezone.localdate(starts_at)
        for course_id, starts_at in _person_bookings(person)
        .filter(
            status__in=(BookingStatus.CONFIRMED, BookingStatus.HELD),
            session__starts_at__gt=timezone.now(),
        )
        .order_by("-session__starts_at")
        .values_list("session__course_id", "session__starts_at")
    }
    refreshers: list[Refresher] = []
    seen: set[int] = set()
    for booking in attended:  # latest first: the first of each course is the one that counts
        course = booking.session.course
        if course.refresh_interval_months is None or course.pk in seen:
            continue
        seen.add(course.pk)
        last = timezone.localdate(booking.session.starts_at)
        due = add_months(last, course.refresh_interval_months)
        booked = upcoming.get(course.pk)
        if booked is not None:
            status = "booked"
        elif due < today:
            status = "overdue"
        elif due <= today + dt.timedelta(days=REFRESHER_REMINDER_DAYS):
            status = "due_soon"
        else:
            status = "not_due"
        refreshers.append(Refresher(course, last, due, booked, status))
    refreshers.sort(key=lambda refresher: refresher.due_on)
    return entries, refreshers


def refresher_reminders_queue(*, now: dt.datetime) -> int:
    """Email everyone whose refresher falls due in the next six weeks, once per attended place.

    Safe to run from several workers at once and as often as wanted: the candidate bookings are
    locked, and a booking that already has a reminder email is never given another.
    """
    today = timezone.localdate(now)
    horizon = today + dt.timedelta(days=REFRESHER_REMINDER_DAYS)
    due: list[tuple[Booking, dt.date]] = []
    latest: dt.date | None  # first the window's last day, then a person's latest place
    for course in Course.objects.filter(refresh_interval_months__isnull=False):
        months = course.refresh_interval_months or 0
        # Attended between (today - interval) and (horizon - interval), give or take month ends.
        earliest = add_months(today, -months) - dt.timedelta(days=3)
        latest = add_months(horizon, -months) + dt.timedelta(days=3)
        candidates = list(
            attended_bookings()
            .filter(
                session__course=course,
                session__starts_at__date__gte=earliest,
                session__starts_at__date__lte=latest,
            )
            .exclude(emails__kind=REFRESHER_EMAIL_KIND)
            .select_related("session")
        )
        if not candidates:
            continue
        # Per person, the latest place on this course they attended or are booked on.
        later: dict[str, dt.datetime] = {}
        for email, starts_at in (
            Booking.objects.filter(
                session__course=course,
                status=BookingStatus.CONFIRMED,
                attendee_email__in={b.attendee_email for b in candidates},
            )
            .filter(Q(attendance=Attendance.ATTENDED) | Q(session__starts_at__gt=now))
            .values_list("attendee_email", "session__starts_at")
        ):
            # A session with places has its parts, so its start is set.
            starts_at = cast(dt.datetime, starts_at)
            if email not in later or starts_at > later[email]:
                later[email] = starts_at
        for booking in candidates:
            due_on = add_months(timezone.localdate(booking.session.starts_at), months)
            if not today <= due_on <= horizon:
                continue
            latest = later.get(booking.attendee_email)
            if latest is not None and latest > cast(dt.datetime, booking.session.starts_at):
                continue  # refreshed since, or booked on a coming session
            due.append((booking, due_on))
    sent = 0
    for booking, due_on in due:
        sent += _refresher_email_claim(booking, due_on)
    return sent


def _refresher_email_claim(booking: Booking, due_on: dt.date) -> int:
    with transaction.atomic():
        # The booking row lock makes "no reminder yet → write one" a single step for concurrent
        # workers; the loser sees the winner's email once the lock is released.
        locked = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("session__course")
            .get(pk=booking.pk)
        )
        if OutgoingEmail.objects.filter(booking=locked, kind=REFRESHER_EMAIL_KIND).exists():
            return 0
        course = locked.session.course
        email_queue(
            kind=REFRESHER_EMAIL_KIND,
            to=locked.attendee_email,
            booking=locked,
            context={
                "course_title": course.title,
                "due_on": due_on,
                "due_on_display": f"{due_on:%A %-d %B %Y}",
                "last_attended_display": (
                    f"{timezone.localdate(locked.session.starts_at):%-d %B %Y}"
                ),
                "interval_months": course.refresh_interval_months,
                "record_url": settings.SITE_URL + reverse("attendance:training_record"),
                "catalogue_url": settings.SITE_URL + reverse("bookings:catalogue"),
            },
        )
    return 1


@task
def send_refresher_reminders() -> int:
    """Background task: queue the refresher reminders that are due today."""
    return refresher_reminders_queue(now=timezone.now())
