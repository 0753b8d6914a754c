"""The administrator's side of calls: draw the month's calls, share them out, follow them up."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from evaluation.calls.forms import DrawCallsForm
from evaluation.calls.services import (
    call_assign,
    call_cancel,
    calls_assign_evenly,
    followup_calls_draw,
)
from evaluation.errors import EvaluationError
from evaluation.models import CallAttempt, CallDraw, FollowUpCall


class CallAttemptInline(admin.TabularInline):
    model = CallAttempt
    extra = 0
    fields = ["number", "outcome", "call_back_at", "attempted_at", "recorded_by"]
    readonly_fields = cast("list[str]", fields)  # plain field names, no groups
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
