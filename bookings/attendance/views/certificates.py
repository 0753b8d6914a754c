"""Certificates and training records: download, public verification, a person's record."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from bookings.attendance.certificates import (
    certificate_filename,
    certificate_find,
    certificate_link_booking,
    certificate_pdf,
    certificate_verify_url,
    certificates_pdf,
    session_certificates,
    session_dates_label,
    training_record,
)
from bookings.attendance.forms import (
    CertificateLookupForm,
)
from bookings.permissions import (
    can_download_certificate,
    can_download_session_certificates,
    can_see_training_record,
    certificate_booking_for_or_404,
)
from bookings.ratelimit import rate_limit
from training.models import Profile, Session


@login_required
@require_GET
def certificate_download(request: HttpRequest, pk: int) -> HttpResponse:
    booking = certificate_booking_for_or_404(request.user, pk)
    response = HttpResponse(certificate_pdf(booking), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{certificate_filename(booking)}"'
    return response


@require_GET
def certificate_link(request: HttpRequest, token: str) -> HttpResponse:
    """Public: the certificate by the signed link in its email (no account needed)."""
    booking = certificate_link_booking(token)
    if booking is None:
        return render(request, "bookings/attendance/certificate_link_gone.html", status=404)
    response = HttpResponse(certificate_pdf(booking), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{certificate_filename(booking)}"'
    return response


@login_required
@require_GET
def session_certificates_download(request: HttpRequest, pk: int) -> HttpResponse:
    """Every certificate of a session in one PDF, for the administrators."""
    if not can_download_session_certificates(request.user):
        raise Http404("No such session.")
    session = get_object_or_404(Session.objects.select_related("course"), pk=pk)
    bookings = session_certificates(session)
    if not bookings:
        messages.info(request, "Nobody is marked attended on this session yet: no certificates.")
        return redirect("attendance:register", pk=session.pk)
    response = HttpResponse(certificates_pdf(bookings), content_type="application/pdf")
    day = f"{timezone.localtime(session.starts_at):%Y-%m-%d}" if session.starts_at else "undated"
    response["Content-Disposition"] = (
        f'attachment; filename="certificates-{session.course.slug}-{day}.pdf"'
    )
    return response


@require_GET
@rate_limit("certificate", per_address=30)
def certificate_lookup(request: HttpRequest) -> HttpResponse:
    """Public: type a code from a certificate to check it."""
    form = CertificateLookupForm(request.GET or None)
    if form.is_bound and form.is_valid():
        code = "".join(char for char in form.cleaned_data["code"].upper() if char.isalnum())
        if code:
            return redirect("attendance:certificate_verify", code=code)
        form.add_error("code", "Enter the letters and numbers of the code.")
    return render(request, "bookings/attendance/certificate_lookup.html", {"form": form})


@require_GET
@rate_limit("certificate", per_address=30)
def certificate_verify(request: HttpRequest, code: str) -> HttpResponse:
    """Public: is this certificate genuine? Name, course and date, or a clear 'not found'."""
    booking = certificate_find(code)
    context: dict[str, Any] = {"code": code, "booking": booking, "form": CertificateLookupForm()}
    if booking is None:
        return render(request, "bookings/attendance/certificate_verify.html", context, status=404)
    context.update(
        {
            "dates": session_dates_label(booking),
            "verify_url": certificate_verify_url(booking),
        }
    )
    return render(request, "bookings/attendance/certificate_verify.html", context)


def _training_record_page(request: HttpRequest, person: Any) -> HttpResponse:
    today = timezone.localdate()
    entries, refreshers = training_record(person, today=today)
    downloadable = {
        entry.booking.pk
        for entry in entries
        if can_download_certificate(request.user, entry.booking)
    }
    profile = Profile.objects.filter(user=person).select_related("agency__sector").first()
    return render(
        request,
        "bookings/attendance/training_record.html",
        {
            "person": person,
            "profile": profile,
            "is_own": person.pk == request.user.pk,
            "entries": entries,
            "downloadable": downloadable,
            "refreshers": refreshers,
            "today": today,
        },
    )


@login_required
@require_GET
def my_training_record(request: HttpRequest) -> HttpResponse:
    return _training_record_page(request, request.user)


@login_required
@require_GET
def person_training_record(request: HttpRequest, user_id: int) -> HttpResponse:
    person = get_user_model().objects.filter(pk=user_id).first()
    if person is None or not can_see_training_record(request.user, person):
        raise Http404("No such person.")
    return _training_record_page(request, person)
