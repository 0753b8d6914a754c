"""Forms for booking, changing and managing places. They only collect and check input; every
rule is in the services.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.forms import formset_factory
from django.utils import timezone

from bookings.models import BookingStatus, PaymentMethod
from bookings.places.booking import AttendeeSpec
from training.models import Agency, Sector, Session, SessionPart, Venue

PAYMENT_METHOD_LABELS = {
    PaymentMethod.CARD: "Pay by card now",
    PaymentMethod.INVOICE: "Invoice my agency",
    PaymentMethod.SUBSIDISED: "Use a subsidised place",
    PaymentMethod.FREE: "Free",
}


class BookingForm(forms.Form):
    """How to pay, and for agency bookers whether they book themselves too.

    The attendees of an agency booking come from ``AttendeeFormSet`` beside it.
    """

    payment_method = forms.ChoiceField(
        label="How will you pay?", widget=forms.RadioSelect, choices=()
    )
    purchase_order_number = forms.CharField(
        label="Purchase-order number", max_length=60, required=False
    )
    include_myself = forms.BooleanField(label="Book a place for myself too", required=False)
    line_manager_name = forms.CharField(
        label="Your line manager's name", max_length=200, required=False
    )
    line_manager_email = forms.EmailField(
        label="Your line manager's work email",
        required=False,
        help_text="We email them a link to approve the place; no account is needed.",
    )
    manager_agreed = forms.BooleanField(
        label="The line manager has already agreed to these places", required=False
    )
    access_needs = forms.CharField(
        label="Access or dietary needs (optional)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Only the training team and the trainers see this.",
    )
    # The total the booker saw on the confirmation step; the service refuses a different one.
    quoted_total = forms.DecimalField(
        max_digits=10, decimal_places=2, required=False, widget=forms.HiddenInput
    )

    def __init__(
        self,
        *args: Any,
        methods: Sequence[PaymentMethod],
        purchase_order_required: bool = False,
        for_colleagues: bool = False,
        subsidised_left: int = 0,
        myself: str = "",
        needs_manager: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.purchase_order_required = purchase_order_required
        self.needs_manager = needs_manager
        if not needs_manager:
            for name in ("line_manager_name", "line_manager_email", "manager_agreed"):
                del self.fields[name]
        elif for_colleagues:
            self.fields["line_manager_name"].label = "Their line manager's name"
            self.fields["line_manager_email"].label = "Their line manager's work email"
        else:
            del self.fields["manager_agreed"]
        self.for_colleagues = for_colleagues
        labels = dict(PAYMENT_METHOD_LABELS)
        if subsidised_left:
            labels[PaymentMethod.SUBSIDISED] = (
                f"Use a subsidised place ({subsidised_left} left this financial year)"
            )
        cast(forms.ChoiceField, self.fields["payment_method"]).choices = [
            (m, labels[m]) for m in methods
        ]
        if len(methods) == 1:
            self.fields["payment_method"].initial = methods[0]
            self.fields["payment_method"].widget = forms.HiddenInput()
        purchase_order = self.fields["purchase_order_number"]
        purchase_order.label = "Purchase-order number for the invoice"
        purchase_order.help_text = (
            "Only when you choose to be invoiced. Your agency needs one on every invoice."
            if purchase_order_required
            else "Optional, only when you choose to be invoiced. It is printed on the invoice."
        )
        if not for_colleagues:
            del self.fields["include_myself"]
        elif myself:
            self.fields["include_myself"].label = f"Myself ({myself})"

    def clean(self) -> dict[str, Any]:
        data = cast(dict[str, Any], super().clean())  # Form.clean() returns cleaned_data
        if (
            data.get("payment_method") == PaymentMethod.INVOICE
            and self.purchase_order_required
            and not (data.get("purchase_order_number") or "").strip()
        ):
            self.add_error(
                "purchase_order_number", "Enter the purchase-order number for the invoice."
            )
        if self.needs_manager and not data.get("manager_agreed"):
            if not (data.get("line_manager_name") or "").strip():
                self.add_error("line_manager_name", "Enter the line manager's name.")
            if not data.get("line_manager_email") and "line_manager_email" not in self.errors:
                self.add_error("line_manager_email", "Enter the line manager's work email.")
        return data


class AttendeeForm(forms.Form):
    name = forms.CharField(label="Full name", max_length=200)
    email = forms.EmailField(label="Email address")
    job_title = forms.CharField(label="Job title", max_length=150, required=False)
    access_needs = forms.CharField(label="Access or dietary needs", max_length=2000, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["autocomplete"] = "off"
        self.fields["email"].widget.attrs["autocomplete"] = "off"

    def spec(self) -> AttendeeSpec:
        return AttendeeSpec(
            name=self.cleaned_data["name"],
            email=self.cleaned_data["email"],
            job_title=self.cleaned_data.get("job_title", ""),
            access_needs=self.cleaned_data.get("access_needs", ""),
        )


class BaseAttendeeFormSet(forms.BaseFormSet):
    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        # Every row may stay empty: the booker fills as many as they need.
        return {"empty_permitted": True}

    def attendees(self) -> list[AttendeeSpec]:
        """The filled-in rows; empty rows are ignored."""
        return [form.spec() for form in self.forms if form.is_valid() and form.cleaned_data]


AttendeeFormSet = formset_factory(
    AttendeeForm, formset=BaseAttendeeFormSet, extra=1, max_num=30, validate_max=True
)


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Why are you cancelling?",
        required=False,
        max_length=200,
        help_text="This helps the training team. For example: 'Off sick' or 'Rota changed'.",
    )


class TransferForm(forms.Form):
    name = forms.CharField(label="Colleague's full name", max_length=200)
    email = forms.EmailField(
        label="Colleague's email address",
        help_text="We send them the joining details. They must work for the same agency.",
    )
    job_title = forms.CharField(label="Colleague's job title", max_length=150, required=False)


class MoveForm(forms.Form):
    """Which other date of the course a place moves to (the choices are the allowed ones)."""

    session = forms.TypedChoiceField(
        label="Move the place to", coerce=int, widget=forms.RadioSelect, choices=()
    )

    def __init__(self, *args: Any, targets: Sequence[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.TypedChoiceField, self.fields["session"])
        field.choices = [(session.pk, f"{session}, {session.venue.name}") for session in targets]
        field.error_messages["required"] = "Choose the date to move the place to."
        field.error_messages["invalid_choice"] = (
            "That date is not open for booking. Choose another."
        )


class SessionCapacityForm(forms.Form):
    capacity = forms.IntegerField(label="Places on this session", min_value=1, max_value=10_000)


class SessionCancelForm(forms.Form):
    reason = forms.CharField(
        label="Reason for cancelling",
        max_length=200,
        help_text="Sent to everyone booked. For example: 'The trainer is ill'.",
    )


class BookingSearchForm(forms.Form):
    q = forms.CharField(
        label="Name, email, order reference or agency", required=False, max_length=100
    )
    status = forms.ChoiceField(
        label="Booking status", required=False, choices=[("", "Any status"), *BookingStatus.choices]
    )
    payment_method = forms.ChoiceField(
        label="Payment method",
        required=False,
        choices=[("", "Any method"), *PaymentMethod.choices],
    )
    when = forms.ChoiceField(
        label="Sessions",
        required=False,
        choices=[("", "All"), ("upcoming", "Upcoming"), ("past", "Past")],
    )


FRONT_DESK_METHOD_LABELS = {
    PaymentMethod.CARD: "Card: email them a link to pay",
    PaymentMethod.INVOICE: "Invoice the agency",
    PaymentMethod.SUBSIDISED: "A subsidised place (the agency's allowance)",
    PaymentMethod.NO_CHARGE: "No charge (give a reason)",
}


class FrontDeskPersonForm(forms.Form):
    """The person booked at the front desk, and their agency (from the list, or a new one)."""

    name = forms.CharField(label="Full name", max_length=200)
    email = forms.EmailField(label="Email address")
    job_title = forms.CharField(label="Job title", max_length=150, required=False)
    agency = forms.ModelChoiceField(
        label="Agency",
        queryset=Agency.objects.select_related("sector").order_by("name"),
        required=False,
        empty_label="Not listed: a new agency",
    )
    new_agency_name = forms.CharField(
        label="New agency's name",
        max_length=200,
        required=False,
        help_text="Only when the agency is not in the list.",
    )
    new_agency_sector = forms.ModelChoiceField(
        label="New agency's sector",
        queryset=Sector.objects.order_by("order", "name"),
        required=False,
        empty_label="Choose the sector",
        help_text="The price depends on it.",
    )
    purchase_order_number = forms.CharField(
        label="Purchase-order number for the invoice", max_length=60, required=False
    )

    def clean(self) -> dict[str, Any]:
        data = cast(dict[str, Any], super().clean())
        if data.get("agency") is None and not (data.get("new_agency_name") or "").strip():
            self.add_error("agency", "Choose the person's agency, or give a new agency's name.")
        return data

    def spec(self) -> AttendeeSpec:
        return AttendeeSpec(
            name=self.cleaned_data["name"],
            email=self.cleaned_data["email"],
            job_title=self.cleaned_data.get("job_title", ""),
        )


class BookOnBehalfForm(FrontDeskPersonForm):
    payment_method = forms.ChoiceField(
        label="How will they pay?", choices=list(FRONT_DESK_METHOD_LABELS.items())
    )
    no_charge_reason = forms.CharField(
        label="Reason for no charge",
        max_length=200,
        required=False,
        help_text="Only for no charge. For example: 'Speaker at the session'.",
    )
    capacity_override_reason = forms.CharField(
        label="Reason for booking beyond the capacity",
        max_length=200,
        required=False,
        help_text="Only when the session is full and the room can take one more.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (
            data.get("payment_method") == PaymentMethod.NO_CHARGE
            and not (data.get("no_charge_reason") or "").strip()
        ):
            self.add_error("no_charge_reason", "Say why there is no charge for this place.")
        return data


class WalkInForm(FrontDeskPersonForm):
    waive_reason = forms.CharField(
        label="Reason for not charging",
        max_length=200,
        required=False,
        help_text="Leave empty to invoice the agency the course's price for its sector.",
    )

    def __init__(self, *args: Any, may_waive: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not may_waive:
            # A trainer adds someone at the course's price; only the administrator waives it.
            del self.fields["waive_reason"]


class DateInput(forms.DateInput):
    input_type = "date"
    format = "%Y-%m-%d"


class TimeInput(forms.TimeInput):
    input_type = "time"
    format = "%H:%M"


class SessionMoveForm(forms.Form):
    """New dates, times and venue for a session's parts, and whether to tell people."""

    venue = forms.ModelChoiceField(queryset=Venue.objects.order_by("name"), label="Venue")
    tell = forms.ChoiceField(
        choices=[("yes", "Yes, email them the new details"), ("no", "No, tell nobody")],
        widget=forms.RadioSelect,
        error_messages={"required": "Say whether to tell the people booked."},
    )

    def __init__(self, *args: Any, parts: Sequence[SessionPart], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.part_count = len(parts)
        for number, part in enumerate(parts, start=1):
            start, end = timezone.localtime(part.starts_at), timezone.localtime(part.ends_at)
            self.fields[f"part_{number}_date"] = forms.DateField(
                label=f"Part {number}: date" if len(parts) > 1 else "Date",
                initial=start.date(),
                widget=DateInput(),
            )
            self.fields[f"part_{number}_start"] = forms.TimeField(
                label="Starts at", initial=start.strftime("%H:%M"), widget=TimeInput()
            )
            self.fields[f"part_{number}_end"] = forms.TimeField(
                label="Ends at", initial=end.strftime("%H:%M"), widget=TimeInput()
            )

    def part_rows(self) -> list[tuple[forms.BoundField, forms.BoundField, forms.BoundField]]:
        return [
            (self[f"part_{n}_date"], self[f"part_{n}_start"], self[f"part_{n}_end"])
            for n in range(1, self.part_count + 1)
        ]

    def new_parts(self) -> list[tuple[dt.datetime, dt.datetime]]:
        """The parts' new start and end, in the unit's time zone."""
        data = self.cleaned_data
        rows = []
        for n in range(1, self.part_count + 1):
            day = data[f"part_{n}_date"]
            rows.append(
                (
                    timezone.make_aware(dt.datetime.combine(day, data[f"part_{n}_start"])),
                    timezone.make_aware(dt.datetime.combine(day, data[f"part_{n}_end"])),
                )
            )
        return rows


class AccessNeedsForm(forms.Form):
    access_needs = forms.CharField(
        label="Access or dietary needs",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example step-free access, a hearing loop, or food you cannot eat. Only "
        "the training team and the trainers see this. Leave empty if there are none.",
    )


class SessionMessageForm(forms.Form):
    subject = forms.CharField(
        label="Subject",
        max_length=150,
        error_messages={"required": "Write a subject for the message."},
    )
    body = forms.CharField(
        label="Message",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 8}),
        error_messages={"required": "Write the message."},
        help_text="Each person gets their own email, greeted by name, with the session's details.",
    )
    include_trainers = forms.BooleanField(
        label="Send it to the session's trainers too", required=False
    )

    def clean_subject(self) -> str:
        subject = " ".join(self.cleaned_data["subject"].split())
        if not subject:
            raise forms.ValidationError("Write a subject for the message.")
        return subject

    def clean_body(self) -> str:
        body = self.cleaned_data["body"].strip()
        if not body:
            raise forms.ValidationError("Write the message.")
        return body


class SessionChoiceField(forms.ModelChoiceField):
    """Sessions by course title and first day."""

    def label_from_instance(self, obj: Any) -> str:
        if obj.starts_at is None:
            return str(obj.course.title)
        return f"{obj.course.title}, {timezone.localtime(obj.starts_at):%-d %b %Y}"


class ReservePlacesForm(forms.Form):
    """Unnamed places to reserve: on which session, how many, and (for the administrator)
    for which agency."""

    session = SessionChoiceField(
        label="Session",
        queryset=Session.objects.none(),
        empty_label="Choose the session",
        error_messages={"required": "Choose the session.", "invalid_choice": "Choose a session."},
    )
    agency = forms.ModelChoiceField(
        label="For which agency",
        queryset=Agency.objects.select_related("sector").order_by("name"),
        empty_label="Choose the agency",
        error_messages={"required": "Choose the agency the places are for."},
    )
    places = forms.IntegerField(
        label="How many places",
        min_value=1,
        max_value=50,
        help_text="You name the people later, by the deadline.",
        error_messages={"required": "Say how many places to reserve."},
    )
    purchase_order_number = forms.CharField(
        label="Purchase-order number for the invoice", max_length=60, required=False
    )

    def __init__(
        self, *args: Any, sessions: QuerySet[Session], choose_agency: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        cast(SessionChoiceField, self.fields["session"]).queryset = sessions
        self.fields["places"].widget.attrs.update({"inputmode": "numeric"})
        if not choose_agency:
            del self.fields["agency"]


class NamePlaceForm(forms.Form):
    """The colleague taking one reserved place."""

    name = forms.CharField(label="Full name", max_length=200)
    email = forms.EmailField(label="Work email address")
    job_title = forms.CharField(label="Job title", max_length=150, required=False)

    def spec(self) -> AttendeeSpec:
        return AttendeeSpec(
            name=self.cleaned_data["name"],
            email=self.cleaned_data["email"],
            job_title=self.cleaned_data.get("job_title", ""),
        )
