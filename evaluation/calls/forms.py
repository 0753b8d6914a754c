"""Forms of the calls: the call script with its coding, a call attempt, and the monthly draw."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms

from evaluation.models import AttemptOutcome, ImpactCode
from evaluation.surveys.forms import SurveyForm


class CallScriptForm(SurveyForm):
    """The call script's questions, then the community member's coding of the call."""

    impact_codes = forms.MultipleChoiceField(
        choices=ImpactCode.choices,
        label="Impact codes",
        help_text="Tick every kind of change they described.",
        error_messages={"required": "Choose at least one impact code (or ‘No change’)."},
    )
    good_practice = forms.BooleanField(
        required=False,
        label="This is a good-practice example",
        help_text="Only quoted in reports if they agreed, and without their name.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The coding fields come after the script's questions.
        for name in ("impact_codes", "good_practice"):
            self.fields[name] = self.fields.pop(name)

    def clean(self) -> dict[str, Any]:
        data = cast(dict[str, Any], super().clean())  # Form.clean() returns cleaned_data
        codes = data.get("impact_codes") or []
        if ImpactCode.NO_CHANGE in codes and len(codes) > 1:
            self.add_error("impact_codes", "‘No change’ cannot go with other impact codes.")
        if data.get("good_practice") and not (self.answer_for_key("example") or "").strip():
            self.add_error(
                "good_practice", "Write down the example before flagging it as good practice."
            )
        return data


class CallAttemptForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=AttemptOutcome.choices,
        label="What happened?",
        error_messages={"required": "Choose what happened when you called."},
    )
    call_back_at = forms.DateTimeField(
        required=False,
        label="When to call back",
        input_formats=["%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"invalid": "Enter the day and time to call back, like 14/06/2025 18:30."},
    )

    def __init__(self, *args: Any, now: dt.datetime, stopping: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now = now
        if stopping:
            # Reached, but they cannot go on: ring back later, or they no longer want to.
            cast(forms.ChoiceField, self.fields["outcome"]).choices = [
                (value, label)
                for value, label in AttemptOutcome.choices
                if value in (AttemptOutcome.CALL_BACK, AttemptOutcome.DECLINED)
            ]

    def clean(self) -> dict[str, Any]:
        data = cast(dict[str, Any], super().clean())  # Form.clean() returns cleaned_data
        if data.get("outcome") == AttemptOutcome.CALL_BACK:
            when = data.get("call_back_at")
            if when is None and "call_back_at" not in self.errors:
                self.add_error(
                    "call_back_at", "Enter the day and time they asked you to call back."
                )
            elif when is not None and when <= self.now:
                self.add_error("call_back_at", "The time to call back must be in the future.")
        return data


class DrawCallsForm(forms.Form):
    month = forms.DateField(
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
        help_text="The month the calls are for.",
    )
    size = forms.IntegerField(
        min_value=1, max_value=1000, help_text="How many calls to make this month."
    )

    def clean_month(self) -> dt.date:
        month: dt.date = self.cleaned_data["month"]
        return month.replace(day=1)
