"""Registers on the day: marking, closing, the sign-in sheet, exports and waiving charges."""

from __future__ import annotations

import datetime as dt
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from bookings.attendance import registers
from bookings.attendance.documents import (
    register_bookings,
    reserved_unnamed_places,
    sign_in_sheet_pdf,
)
from bookings.attendance.exports import EXPORT_COLUMNS, export_queryset, export_rows
from bookings.attendance.forms import (
    AttendanceExportForm,
    MarkForm,
    ReasonForm,
    WaiveForm,
)
from bookings.attendance.registers import (
    attendance_record,
    chargeable_absences,
    non_attendance_amount,
)
from bookings.errors import BookingError
from bookings.files.spreadsheets import spreadsheet_response
from bookings.models import ZERO, Attendance, BookingStatus, NonAttendanceCharge, Register
from bookings.permissions import (
    can_add_walk_in,
    can_manage_sessions,
    can_record_session_messages,
    manage_sessions_or_404,
    register_session_or_404,
    register_sessions,
)
from bookings.templatetags.money import format_pounds
from training.models import Session, SessionStatus

RECENT_DAYS = 30


COMING_DAYS = 7


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _with_counts(sessions: QuerySet[Session]) -> QuerySet[Session]:
    confirmed = Q(bookings__status=BookingStatus.CONFIRMED)
    return (
        sessions.select_related("course", "venue", "register")
        .prefetch_related("parts")
        .annotate(
            places=Count("bookings", filter=confirmed),
            marked=Count("bookings", filter=confirmed & ~Q(bookings__attendance="")),
            attended=Count("bookings", filter=confirmed & Q(bookings__attendance="attended")),
        )
        .order_by("starts_at", "pk")
    )


def _day_bounds(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day))


@login_required
@require_GET
def register_list(request: HttpRequest) -> HttpResponse:
    """Today's sessions first, then the coming week (to print sign-in sheets) and the last month."""
    sessions = register_sessions(request.user)
    if sessions is None:
        raise Http404("No registers.")
    today = timezone.localdate()
    live = sessions.exclude(status__in=[SessionStatus.DRAFT, SessionStatus.CANCELLED])
    window = list(
        _with_counts(
            live.filter(
                starts_at__gte=_day_bounds(today - dt.timedelta(days=RECENT_DAYS)),
                starts_at__lt=_day_bounds(today + dt.timedelta(days=COMING_DAYS + 1)),
            )
        )
    )

    def on_today(session: Session) -> bool:
        return any(timezone.localdate(part.starts_at) == today for part in session.ordered_parts)

    todays = [s for s in window if on_today(s)]
    coming = [s for s in window if s not in todays and timezone.localdate(s.starts_at) > today]
    recent = [s for s in window if s not in todays and timezone.localdate(s.starts_at) < today]
    recent.reverse()
    still_open: list[Session] = []
    if can_manage_sessions(request.user):
        still_open = list(
            _with_counts(
                live.filter(starts_at__lt=_day_bounds(today - dt.timedelta(days=RECENT_DAYS)))
                .filter(Q(register__isnull=True) | Q(register__closed_at__isnull=True))
                .filter(bookings__status=BookingStatus.CONFIRMED)
                .distinct()
            ).order_by("-starts_at")[:50]
        )
    export_form = AttendanceExportForm(
        initial={"date_from": today - dt.timedelta(days=RECENT_DAYS), "date_to": today}
    )
    return render(
        request,
        "bookings/attendance/register_list.html",
        {
            "todays": todays,
            "coming": coming,
            "recent": recent,
            "still_open": still_open,
            "export_form": export_form,
            "is_admin": can_manage_sessions(request.user),
        },
    )


def _counts(session: Session) -> dict[str, int]:
    row = session.bookings.filter(status=BookingStatus.CONFIRMED).aggregate(
        total=Count("pk"),
        attended=Count("pk", filter=Q(attendance=Attendance.ATTENDED)),
        absent=Count("pk", filter=Q(attendance=Attendance.ABSENT)),
    )
    row["unmarked"] = row["total"] - row["attended"] - row["absent"]
    return row


def _can_mark(session: Session, now: dt.datetime) -> bool:
    return session.starts_at is not None and timezone.localdate(now) >= timezone.localdate(
        session.starts_at
    )


@login_required
@require_GET
def register_detail(request: HttpRequest, pk: int) -> HttpResponse:
    session = register_session_or_404(request.user, pk)
    now = timezone.now()
    register = Register.objects.filter(session=session).select_related("closed_by").first()
    bookings = register_bookings(session)
    is_admin = can_manage_sessions(request.user)
    charges: dict[int, NonAttendanceCharge] = {}
    if is_admin:
        charges = {
            charge.booking_id: charge
            for charge in NonAttendanceCharge.objects.filter(
                booking__session=session
            ).select_related("invoice_line__invoice")
        }
    rows = [{"booking": booking, "charge": charges.get(booking.pk)} for booking in bookings]
    return render(
        request,
        "bookings/attendance/register.html",
        {
            "session": session,
            "register": register,
            "is_closed": bool(register and register.is_closed),
            "rows": rows,
            "unnamed": reserved_unnamed_places(session),
            "counts": _counts(session),
            "can_mark": _can_mark(session, now),
            "first_day": timezone.localdate(session.starts_at) if session.starts_at else None,
            "dates": session_dates_label_for(session),
            "is_admin": is_admin,
            "may_add_walk_in": can_add_walk_in(request.user, session),
            "may_record_messages": can_record_session_messages(request.user, session),
            "charges_total": sum((c.amount for c in charges.values() if not c.waived_at), ZERO),
            "reopen_form": ReasonForm(),
        },
    )


def session_dates_label_for(session: Session) -> str:
    parts = session.ordered_parts
    if not parts:
        return ""
    labels = []
    for part in parts:
        start, end = timezone.localtime(part.starts_at), timezone.localtime(part.ends_at)
        labels.append(f"{start:%A %-d %B %Y}, {start:%H:%M}–{end:%H:%M}")
    return "; ".join(labels)


@login_required
@require_POST
def register_mark(request: HttpRequest, pk: int, booking_pk: int) -> HttpResponse:
    """One tap: record attended or absent through the attendance service."""
    session = register_session_or_404(request.user, pk)
    booking = get_object_or_404(
        session.bookings.filter(status=BookingStatus.CONFIRMED), pk=booking_pk
    )
    form = MarkForm(request.POST)
    error = ""
    if not form.is_valid():
        error = "Choose attended or absent."
    else:
        try:
            booking = attendance_record(
                booking=booking,
                attendance=form.cleaned_data["attendance"],
                actor=request.user,
                now=timezone.now(),
                reason=form.cleaned_data["reason"],
            )
        except BookingError as failure:
            error = str(failure)
    if _wants_json(request):
        return JsonResponse(
            {
                "ok": not error,
                "error": error,
                "booking": booking.pk,
                "attendance": booking.attendance,
                "label": booking.get_attendance_display(),
                "counts": _counts(session),
            },
            status=400 if error else 200,
        )
    if error:
        messages.error(request, f"{booking.attendee_name}: {error}")
    return redirect(reverse("attendance:register", args=[session.pk]) + f"#booking-{booking.pk}")


@login_required
def register_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask before closing (closing raises the charges), then close."""
    session = register_session_or_404(request.user, pk)
    register = Register.objects.filter(session=session).first()
    if register is not None and register.is_closed:
        messages.info(request, "This register is already closed.")
        return redirect("attendance:register", pk=session.pk)
    if request.method == "POST":
        try:
            charges = registers.register_close(
                session=session, actor=request.user, now=timezone.now()
            )
        except BookingError as error:
            messages.error(request, str(error))
            return redirect("attendance:register", pk=session.pk)
        charged = [charge for charge in charges if charge.amount > ZERO]
        if charged:
            total = sum((charge.amount for charge in charged), ZERO)
            agencies = len({charge.booking.agency_id for charge in charged})
            messages.success(
                request,
                f"Register closed. {len(charged)} non-attendance "
                f"charge{'s' if len(charged) != 1 else ''} ({format_pounds(total)}) invoiced to "
                + ("the agency." if agencies == 1 else f"{agencies} agencies."),
            )
        else:
            messages.success(request, "Register closed. There are no charges for absence.")
        return redirect("attendance:register", pk=session.pk)
    counts = _counts(session)
    chargeable = set(chargeable_absences(session.bookings.all()).values_list("pk", flat=True))
    absent = [
        (
            booking,
            non_attendance_amount(booking) if booking.pk in chargeable else None,
        )
        for booking in register_bookings(session)
        if booking.attendance == Attendance.ABSENT
    ]
    return render(
        request,
        "bookings/attendance/register_close.html",
        {
            "session": session,
            "counts": counts,
            "absent": absent,
            "absent_total": sum((amount or ZERO for _booking, amount in absent), ZERO),
            "can_mark": _can_mark(session, timezone.now()),
        },
    )


@login_required
@require_POST
def register_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    manage_sessions_or_404(request.user)
    session = register_session_or_404(request.user, pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason for reopening the register.")
        return redirect("attendance:register", pk=session.pk)
    try:
        registers.register_reopen(
            session=session,
            actor=request.user,
            now=timezone.now(),
            reason=form.cleaned_data["reason"],
        )
    except BookingError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Register reopened. Charges already raised stay as they are.")
    return redirect("attendance:register", pk=session.pk)


@login_required
@require_GET
def sign_in_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    session = register_session_or_404(request.user, pk)
    response = HttpResponse(sign_in_sheet_pdf(session), content_type="application/pdf")
    day = f"{timezone.localtime(session.starts_at):%Y-%m-%d}" if session.starts_at else "undated"
    response["Content-Disposition"] = (
        f'inline; filename="sign-in-sheet-{session.course.slug}-{day}.pdf"'
    )
    return response


@login_required
@require_GET
def register_export(request: HttpRequest, pk: int, file_format: str) -> HttpResponse:
    if file_format not in ("csv", "xlsx"):
        raise Http404("Registers export as .csv or .xlsx.")
    session = register_session_or_404(request.user, pk)
    bookings = export_queryset().filter(session=session).order_by("attendee_name", "pk")
    day = f"{timezone.localtime(session.starts_at):%Y-%m-%d}" if session.starts_at else "undated"
    return spreadsheet_response(
        headers=EXPORT_COLUMNS,
        rows=export_rows(bookings),
        file_format=file_format,
        filename=f"register-{session.course.slug}-{day}",
        title="Register",
    )


@login_required
@require_GET
def attendance_export(request: HttpRequest) -> HttpResponse:
    """Every place on sessions between two dates, for administrators."""
    manage_sessions_or_404(request.user)
    form = AttendanceExportForm(request.GET or None)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                # An ErrorList yields each error's message text.
                messages.error(request, cast(str, error))
        return redirect("attendance:registers")
    start, end = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    bookings = (
        export_queryset()
        .filter(
            session__starts_at__gte=_day_bounds(start),
            session__starts_at__lt=_day_bounds(end + dt.timedelta(days=1)),
        )
        .order_by("session__starts_at", "session_id", "attendee_name", "pk")
    )
    return spreadsheet_response(
        headers=EXPORT_COLUMNS,
        rows=export_rows(bookings),
        file_format=form.cleaned_data["file_format"],
        filename=f"attendance-{start:%Y-%m-%d}-to-{end:%Y-%m-%d}",
        title="Attendance",
    )


@login_required
def charge_waive(request: HttpRequest, pk: int) -> HttpResponse:
    manage_sessions_or_404(request.user)
    charge = get_object_or_404(
        NonAttendanceCharge.objects.select_related(
            "booking__session__course", "booking__agency", "invoice_line__invoice", "waived_by"
        ),
        pk=pk,
    )
    form = WaiveForm(request.POST or None)
    if request.method == "POST" and charge.waived_at is None and form.is_valid():
        try:
            registers.charge_waive(
                charge=charge,
                actor=request.user,
                now=timezone.now(),
                reason=form.cleaned_data["reason"],
            )
        except BookingError as error:
            form.add_error("reason", str(error))
        else:
            credited = " A credit note has been sent to the agency." if charge.invoice_line else ""
            messages.success(
                request,
                f"The {format_pounds(charge.amount)} charge for "
                f"{charge.booking.attendee_name} is waived." + credited,
            )
            return redirect("attendance:register", pk=charge.booking.session_id)
    return render(
        request, "bookings/attendance/charge_waive.html", {"charge": charge, "form": form}
    )
