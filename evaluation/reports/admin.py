"""Admin for what the reports need the administrator to set (imported by evaluation.admin):
costs, narratives, messages, in-kind contributions and the register of learning reviews."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from bookings.templatetags.money import format_pounds
from evaluation.models import (
    AnnualNarrative,
    InKindContribution,
    LearningReview,
    SessionMessage,
    TrainingCostTarget,
)
from training.admin_filters import AnswerBadFiltersMixin
from training.dates import financial_year_label, financial_year_start
from training.models import CourseKind, Session


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


@admin.register(AnnualNarrative)
class AnnualNarrativeAdmin(admin.ModelAdmin):
    list_display = ["year", "updated_at", "updated_by"]
    fields = ["financial_year_start", "what_was_done", "how_well", "difference_made", "next_steps"]

    @admin.display(description="Financial year", ordering="financial_year_start")
    def year(self, obj: AnnualNarrative) -> str:
        return obj.year_label

    def save_model(
        self, request: HttpRequest, obj: AnnualNarrative, form: Any, change: bool
    ) -> None:
        obj.updated_by = request.user  # type: ignore[assignment]
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(SessionMessage)
class SessionMessageAdmin(admin.ModelAdmin):
    """ "Practitioners told us": what was said at a MAPIG session or conference."""

    list_display = ["text", "session", "order", "recorded_at"]
    list_filter = ["session__course__kind", "session__course"]
    search_fields = ["text", "session__course__title"]
    autocomplete_fields = ["session"]
    fields = ["session", "text", "order"]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "session":
            kwargs["queryset"] = Session.objects.filter(
                course__kind__in=[CourseKind.MAPIG, CourseKind.CONFERENCE]
            ).select_related("course")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(
        self, request: HttpRequest, obj: SessionMessage, form: Any, change: bool
    ) -> None:
        if not change:
            obj.recorded_by = request.user  # type: ignore[assignment]
            obj.recorded_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(InKindContribution)
class InKindContributionAdmin(admin.ModelAdmin):
    list_display = ["agency", "year", "kind", "quantity", "rate_pounds", "value_pounds"]
    list_filter = ["financial_year_start", "kind"]
    search_fields = ["agency__name", "description"]
    autocomplete_fields = ["agency"]

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "financial_year_start":
            return forms.TypedChoiceField(
                label="Financial year",
                choices=_year_choices,
                coerce=dt.date.fromisoformat,
                help_text="April to March.",
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description="Financial year", ordering="financial_year_start")
    def year(self, obj: InKindContribution) -> str:
        return obj.year_label

    @admin.display(description="Agreed rate")
    def rate_pounds(self, obj: InKindContribution) -> str:
        return format_pounds(obj.rate)

    @admin.display(description="Value")
    def value_pounds(self, obj: InKindContribution) -> str:
        return format_pounds(obj.value)


@admin.register(LearningReview)
class LearningReviewAdmin(AnswerBadFiltersMixin, admin.ModelAdmin):
    list_display = ["title", "kind", "published_on", "report_link"]
    list_filter = ["kind"]
    search_fields = ["title", "themes", "recommendations"]
    date_hierarchy = "published_on"
    fieldsets = [
        (None, {"fields": ["title", "kind", "published_on", "themes", "recommendations"]}),
        (
            "Training that carries this learning",
            {
                "fields": ["courses", "sessions", "outcomes"],
                "description": "A session carries the learning when it is tagged here, or its "
                "course is, or one of its course's learning outcomes is.",
            },
        ),
    ]
    filter_horizontal = ["courses", "outcomes"]
    autocomplete_fields = ["sessions"]

    @admin.display(description="Report")
    def report_link(self, obj: Any) -> str:
        return format_html(
            '<a href="{}">Read the report</a>', reverse("reports:review", args=[obj.pk])
        )
