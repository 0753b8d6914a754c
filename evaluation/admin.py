"""The administrator's side: edit surveys (questions inline), watch invitations, read and code
responses, draw the monthly calls and share them out."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from evaluation import admin_reports  # noqa: F401  (registers the reports' admin)
from evaluation.forms import DrawCallsForm
from evaluation.models import (
    Answer,
    CallAttempt,
    CallDraw,
    FollowUpCall,
    FollowUpOptOut,
    Invitation,
    Question,
    Response,
    ResponseImpact,
    Survey,
)
from evaluation.services import (
    EvaluationError,
    call_assign,
    call_cancel,
    calls_assign_evenly,
    followup_calls_draw,
    response_flag_good_practice,
)


class QuestionInline(admin.StackedInline):
    model = Question
    extra = 0
    fields = [
        ("order", "type", "required", "is_active"),
        "text",
        "hint",
        "choices",
        ("per_outcome", "key"),
    ]
    ordering = ["order", "pk"]


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
class InvitationAdmin(admin.ModelAdmin):
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
        "last_error",
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
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ResponseImpactInline(admin.TabularInline):
    model = ResponseImpact
    extra = 0
    verbose_name = "impact code"


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
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


class CallAttemptInline(admin.TabularInline):
    model = CallAttempt
    extra = 0
    fields = ["number", "outcome", "call_back_at", "attempted_at", "recorded_by"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(FollowUpCall)
class FollowUpCallAdmin(admin.ModelAdmin):
    change_list_template = "admin/evaluation/followupcall/change_list.html"
    list_display = [
        "attendee",
        "course",
        "sector",
        "month",
        "status",
        "attempt_count",
        "assigned_to",
    ]
    list_editable = ["assigned_to"]
    list_filter = ["month", "status", "sector", "assigned_to"]
    search_fields = ["booking__attendee_name"]
    list_select_related = ["booking__session__course", "sector", "assigned_to"]
    fields = [
        "booking",
        "month",
        "draw",
        "sector",
        "phone",
        "assigned_to",
        "status",
        "call_back_at",
        "created_at",
        "closed_at",
        "close_reason",
    ]
    readonly_fields = [
        "booking",
        "month",
        "draw",
        "sector",
        "phone",
        "status",
        "call_back_at",
        "created_at",
        "closed_at",
        "close_reason",
    ]
    inlines = [CallAttemptInline]
    actions = ["assign_evenly", "cancel_calls"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[FollowUpCall]:
        return super().get_queryset(request).annotate(n_attempts=Count("attempts"))

    @admin.display(ordering="booking__attendee_name")
    def attendee(self, call: FollowUpCall) -> str:
        return call.booking.attendee_name

    @admin.display(ordering="booking__session__course__title")
    def course(self, call: FollowUpCall) -> str:
        return call.booking.session.course.title

    @admin.display(description="attempts", ordering="n_attempts")
    def attempt_count(self, call: Any) -> int:
        return call.n_attempts

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # calls come from the draw

    def save_model(self, request: HttpRequest, obj: FollowUpCall, form: Any, change: bool) -> None:
        # Assigning by hand (the change form, or the list's editable column) goes through the
        # service, so it is checked and audited.
        if "assigned_to" in form.changed_data:
            call_assign(call=obj, member=obj.assigned_to, actor=request.user, now=timezone.now())
        else:
            super().save_model(request, obj, form, change)

    @admin.action(description="Share selected unassigned calls evenly between community members")
    def assign_evenly(self, request: HttpRequest, queryset: QuerySet[FollowUpCall]) -> None:
        count = calls_assign_evenly(calls=list(queryset), actor=request.user, now=timezone.now())
        if count:
            self.message_user(request, f"{count} calls assigned.")
        else:
            self.message_user(
                request,
                "No calls assigned: choose open, unassigned calls, and check that someone has "
                "the Community member role.",
                messages.WARNING,
            )

    @admin.action(description="Cancel the selected open calls")
    def cancel_calls(self, request: HttpRequest, queryset: QuerySet[FollowUpCall]) -> None:
        now = timezone.now()
        for call in queryset:
            call_cancel(
                call=call, reason="Cancelled by the training team", actor=request.user, now=now
            )
        self.message_user(request, "Selected open calls cancelled.")

    def get_urls(self) -> list[URLPattern]:
        draw = path(
            "draw/",
            self.admin_site.admin_view(self.draw_view),
            name="evaluation_followupcall_draw",
        )
        return [draw, *super().get_urls()]

    def draw_view(self, request: HttpRequest) -> HttpResponse:
        """The monthly draw, as the management command runs it."""
        if not self.has_change_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        now = timezone.now()
        initial = {"month": timezone.localdate(now).replace(day=1), "size": 10}
        form = DrawCallsForm(request.POST if request.method == "POST" else None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                draw = followup_calls_draw(
                    month=form.cleaned_data["month"],
                    size=form.cleaned_data["size"],
                    actor=request.user,
                    now=now,
                )
            except EvaluationError as error:
                form.add_error(None, str(error))
            else:
                per_sector = ", ".join(f"{name}: {n}" for name, n in draw.allocation.items())
                self.message_user(
                    request,
                    f"{draw.drawn} new calls drawn for {draw.month:%B %Y} from {draw.eligible} "
                    f"eligible. Calls per sector: {per_sector or 'none'}.",
                    messages.SUCCESS if draw.drawn else messages.WARNING,
                )
                return HttpResponseRedirect(
                    reverse("admin:evaluation_followupcall_changelist")
                    + f"?month={draw.month:%Y-%m-%d}"
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Draw this month's calls",
            "form": form,
        }
        return TemplateResponse(request, "admin/evaluation/followupcall/draw.html", context)


@admin.register(CallDraw)
class CallDrawAdmin(admin.ModelAdmin):
    list_display = ["month", "size", "drawn", "eligible", "drawn_at", "drawn_by"]
    readonly_fields = ["month", "size", "drawn", "eligible", "allocation", "drawn_at", "drawn_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
