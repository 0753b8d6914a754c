"""Forms of the register, non-attendance and certificate pages."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms

from bookings.models import Attendance

REASON_HELP = "For example: signed in late, left at lunch, marked in error."


class MarkForm(forms.Form):
    """One tap on the register: attended or absent (with a reason once the register is closed)."""

    attendance = forms.ChoiceField(
        choices=[(Attendance.ATTENDED, "Attended"), (Attendance.ABSENT, "Absent")]
    )
    reason = forms.CharField(max_length=300, required=False, strip=True)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=300,
        strip=True,
        error_messages={"required": "Enter a reason."},
    )


class WaiveForm(forms.Form):
    reason = forms.CharField(
        label="Why is the charge being waived?",
        help_text="The agency sees this on the credit note. For example: illness reported "
        "on the morning, or the session moved at short notice.",
        max_length=300,
        strip=True,
        widget=forms.Textarea,
        error_messages={"required": "Enter why the charge is being waived."},
    )


class AttendanceExportForm(forms.Form):
    date_from = forms.DateField(
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "Enter the first date.", "invalid": "Enter a real date."},
    )
    date_to = forms.DateField(
        label="To",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "Enter the last date.", "invalid": "Enter a real date."},
    )
    file_format = forms.ChoiceField(
        label="Format", choices=[("xlsx", "Excel (.xlsx)"), ("csv", "CSV")], initial="xlsx"
    )

    def clean(self) -> dict[str, Any]:
        data = cast(dict[str, Any], super().clean())  # Form.clean() returns cleaned_data
        start: dt.date | None = data.get("date_from")
        end: dt.date | None = data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The last date must be on or after the first date.")
        return data


class CertificateLookupForm(forms.Form):
    code = forms.CharField(
        label="Verification code",
        help_text="The 10 letters and numbers at the bottom right of the certificate.",
        max_length=20,
        strip=True,
        error_messages={"required": "Enter the verification code."},
    )
