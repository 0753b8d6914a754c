from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.db.models import Q

from training.membership import agency_lookalikes
from training.models import Agency, Area, CourseKind, Sector


class CatalogueFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label="Type", required=False, choices=[("", "All types"), *CourseKind.choices]
    )
    theme = forms.ChoiceField(label="Theme", required=False)
    area = forms.ChoiceField(
        label="Area", required=False, choices=[("", "All areas"), *Area.choices]
    )
    month = forms.ChoiceField(label="Month", required=False)
    places = forms.BooleanField(label="Only sessions with places left", required=False)

    def __init__(self, *args: Any, themes: list[str], today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["theme"]).choices = [("", "All themes")] + [
            (t, t) for t in themes
        ]
        months = []
        year, month = today.year, today.month
        for _ in range(12):
            first = dt.date(year, month, 1)
            months.append((first.strftime("%Y-%m"), first.strftime("%B %Y")))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        cast(forms.ChoiceField, self.fields["month"]).choices = [("", "Any month"), *months]

    def month_start(self) -> dt.date | None:
        value = self.cleaned_data.get("month")
        if not value:
            return None
        return dt.datetime.strptime(value, "%Y-%m").date()


class ProfileForm(forms.Form):
    first_name = forms.CharField(max_length=150, label="First name")
    last_name = forms.CharField(max_length=150, label="Last name")
    job_title = forms.CharField(max_length=150, label="Job title")
    phone = forms.CharField(
        max_length=30,
        required=False,
        label="Phone number",
        help_text="Only used to contact you about your bookings, or if you agree to a call.",
    )
    agency = forms.ModelChoiceField(
        queryset=Agency.objects.none(),
        required=False,
        label="Your agency",
        empty_label="Choose your agency",
        help_text="The school, nursery, practice, team or service you work for.",
    )
    new_agency_name = forms.CharField(
        max_length=200,
        required=False,
        label="Agency name",
        help_text="Only if your agency is not in the list. The training team will check it.",
    )
    new_agency_sector = forms.ModelChoiceField(
        queryset=Sector.objects.all(),
        required=False,
        label="Sector",
        empty_label="Choose a sector",
    )
    new_agency_confirmed = forms.BooleanField(
        required=False,
        label="My agency is none of these: add it",
    )
    join_agency = forms.ModelChoiceField(
        queryset=Agency.objects.filter(approved=True), required=False, widget=forms.HiddenInput
    )
    consent_to_calls = forms.BooleanField(
        required=False,
        label="I agree to be phoned about how I used the training",
        help_text=(
            "A volunteer from the community calls a few past attendees each month to ask how "
            "the training changed their practice. You can change your mind at any time."
        ),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Registered agencies like a proposed name, offered as "ask to join" buttons.
        self.lookalikes: list[Agency] = []
        self.lookalike_exact = False
        # Approved agencies, plus the one this person proposed and is waiting on.
        agency_field = cast("forms.ModelChoiceField[Agency]", self.fields["agency"])
        agency_field.queryset = (
            Agency.objects.filter(Q(approved=True) | Q(proposed_by=user))
            .select_related("sector")
            .order_by("name")
        )
        # Replaces the method on this one field instance, so the function takes no self.
        agency_field.label_from_instance = lambda agency: (  # type: ignore[method-assign,assignment]
            f"{agency.name} ({agency.sector.name})"
            + ("" if agency.approved else " – awaiting approval")
        )

    def clean(self) -> dict[str, Any]:
        data = cast(dict[str, Any], super().clean())  # Form.clean() returns cleaned_data
        if data.get("join_agency"):
            # "Ask to join" pressed on a look-alike: a request for that agency, no proposal.
            data["agency"] = data["join_agency"]
            data["new_agency_name"] = ""
            data["new_agency_sector"] = None
            self.errors.pop("agency", None)
            return data
        if data.get("new_agency_name", "").strip():
            # A name typed under "not in the list" is what the person means, whatever the
            # list above still shows.
            data["agency"] = None
            self.errors.pop("agency", None)
        proposed_name = data.get("new_agency_name")
        if not data.get("agency") and proposed_name:
            same, near = agency_lookalikes(data["new_agency_name"])
            if same is not None:
                self.lookalikes, self.lookalike_exact = [same], True
                self.add_error(
                    "new_agency_name",
                    f"{same.name} is already registered. Ask to join it instead: its booker or "
                    "the training team will approve your request.",
                )
            elif near and not data.get("new_agency_confirmed"):
                self.lookalikes = near
                self.add_error(
                    "new_agency_name",
                    "Agencies with similar names are already registered. Ask to join yours, "
                    "or tick 'My agency is none of these' to add it.",
                )
        if not data.get("agency"):
            if not proposed_name:
                self.add_error(
                    "agency", "Choose your agency, or give its name and sector below to add it."
                )
            elif not data.get("new_agency_sector"):
                self.add_error("new_agency_sector", "Choose the sector your agency belongs to.")
        return data
