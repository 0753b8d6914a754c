"""Admin for what the reports need the administrator to set (imported by evaluation.admin)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from evaluation.models import TrainingCostTarget
from training.dates import financial_year_label, financial_year_start


def _year_choices() -> list[tuple[str, str]]:
    this_year = financial_year_start(timezone.localdate()).year
    return [
        (f"{year}-04-01", financial_year_label(dt.date(year, 4, 1)))
        for year in range(this_year + 2, 2009, -1)
    ]


class TrainingCostTargetForm(forms.ModelForm):
    financial_year_start = forms.TypedChoiceField(
        label="Financial year",
        choices=_year_choices,
        coerce=dt.date.fromisoformat,
        help_text="April to March.",
    )

    class Meta:
        model = TrainingCostTarget
        fields = ["financial_year_start", "team_cost", "recovery_target_percent"]


@admin.register(TrainingCostTarget)
class TrainingCostTargetAdmin(admin.ModelAdmin):
    form = TrainingCostTargetForm
    list_display = ["year", "team_cost", "recovery_target_percent", "target_income"]
    ordering = ["-financial_year_start"]

    @admin.display(description="Financial year", ordering="financial_year_start")
    def year(self, obj: TrainingCostTarget) -> str:
        return obj.year_label

    @admin.display(description="Income needed")
    def target_income(self, obj: TrainingCostTarget) -> str:
        return f"£{obj.target_income:,.2f}"

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        initial.setdefault(
            "financial_year_start", f"{financial_year_start(timezone.localdate()):%Y-%m-%d}"
        )
        return initial
