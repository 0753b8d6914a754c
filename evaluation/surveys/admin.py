"""The administrator's side of surveys: edit questions, watch invitations, flag responses,
choose the courses that send the pre-course questionnaire."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from evaluation.models import (
    Answer,
    FollowUpOptOut,
    Invitation,
    PreCourseQuestionnaire,
    Question,
    Response,
    ResponseImpact,
    Survey,
)
from evaluation.surveys.services import response_flag_good_practice
from training.admin_filters import AnswerBadFiltersMixin


class QuestionInline(admin.StackedInline):
    model = Question
    extra = 0
    fields = [
        ("order", "type", "required", "is_active"),
        "text",
        "hint",
        "choices",
        ("per_outcome", "key"),
        ("course", "correct_choice"),
    ]
    ordering = ["order", "pk"]
    autocomplete_fields = ["course"]


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "question_count", "response_count"]
    inlines = [QuestionInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Survey]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_questions=Count("questions", distinct=True),
                n_responses=Count("responses", distinct=True),
            )
        )

    @admin.display(description="questions", ordering="n_questions")
    def question_count(self, survey: Any) -> int:
        return survey.n_questions

    @admin.display(description="responses", ordering="n_responses")
    def response_count(self, survey: Any) -> int:
        return survey.n_responses

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The three surveys are looked up by kind; edit them instead of deleting them.
        return False


@admin.register(Invitation)
class InvitationAdmin(AnswerBadFiltersMixin, admin.ModelAdmin):
    list_display = [
        "attendee",
        "kind",
        "course",
        "send_after",
        "sent_at",
        "reminder_sent_at",
        "responded_at",
        "cancelled_at",
    ]
    list_filter = [
        "kind",
        ("sent_at", admin.EmptyFieldListFilter),
        ("responded_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["booking__attendee_name", "booking__attendee_email"]
    list_select_related = ["booking__session__course"]
    date_hierarchy = "send_after"
    readonly_fields = [
        "booking",
        "kind",
        "survey",
        "send_after",
        "sent_at",
        "expires_at",
        "reminder_sent_at",
        "responded_at",
        "cancelled_at",
        "cancel_reason",
        "created_at",
    ]
    exclude = ["token"]

    @admin.display(ordering="booking__attendee_name")
    def attendee(self, invitation: Invitation) -> str:
        return invitation.booking.attendee_name

    @admin.display(ordering="booking__session__course__title")
    def course(self, invitation: Invitation) -> str:
        return invitation.booking.session.course.title

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0
    fields = ["question", "outcome", "moment", "display_value"]
    readonly_fields = cast("list[str]", fields)  # plain field names, no groups
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ResponseImpactInline(admin.TabularInline):
    model = ResponseImpact
    extra = 0
    verbose_name = "impact code"


@admin.register(Response)
class ResponseAdmin(AnswerBadFiltersMixin, admin.ModelAdmin):
    list_display = [
        "submitted_at",
        "survey",
        "channel",
        "course",
        "sector",
        "good_practice",
        "quote_consent",
    ]
    list_filter = ["survey", "channel", "good_practice", "quote_consent", "sector", "course"]
    list_select_related = ["survey", "course", "sector"]
    date_hierarchy = "submitted_at"
    fields = [
        "survey",
        "channel",
        "booking",
        "course",
        "sector",
        "session_date",
        "submitted_at",
        "recorded_by",
        "good_practice",
        "quote_consent",
        "quote",
    ]
    readonly_fields = [
        "survey",
        "channel",
        "booking",
        "course",
        "sector",
        "session_date",
        "submitted_at",
        "recorded_by",
        "quote_consent",
    ]
    inlines = [AnswerInline, ResponseImpactInline]
    actions = ["flag_good_practice"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Flag as good-practice examples")
    def flag_good_practice(self, request: HttpRequest, queryset: QuerySet[Response]) -> None:
        now = timezone.now()
        for response in queryset:
            response_flag_good_practice(response=response, actor=request.user, now=now)
        self.message_user(request, f"{queryset.count()} responses flagged as good practice.")


@admin.register(FollowUpOptOut)
class FollowUpOptOutAdmin(admin.ModelAdmin):
    list_display = ["email", "created_at", "source"]
    search_fields = ["email"]


@admin.register(PreCourseQuestionnaire)
class PreCourseQuestionnaireAdmin(admin.ModelAdmin):
    """Add a course here and each place confirmed on it is sent the pre-course questionnaire
    (the survey "Pre-course questionnaire", whose questions are edited under Surveys)."""

    list_display = ["course", "created_at"]
    search_fields = ["course__title"]
    autocomplete_fields = ["course"]
