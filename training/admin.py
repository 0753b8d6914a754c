from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from import_export import fields, resources
from import_export.admin import ImportExportModelAdmin
from import_export.widgets import ForeignKeyWidget

from training.admin_filters import AnswerBadFiltersMixin
from training.membership import agency_approve, membership_verify, membership_verify_by_domain
from training.models import (
    Agency,
    BookerGrant,
    Course,
    CoursePrice,
    LearningOutcome,
    MembershipVerification,
    PriceBand,
    Profile,
    Sector,
    Session,
    SessionPart,
    SessionPrice,
    Trainer,
    Venue,
)
from training.programme_import import SessionResource
from training.services import MOVE_ON_THE_PAGE, session_change_problems, session_is_booked


class SectorInline(admin.TabularInline):
    model = Sector
    extra = 0
    fields = ["name", "order"]


@admin.register(PriceBand)
class PriceBandAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "order"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [SectorInline]


@admin.register(Sector)
class SectorAdmin(admin.ModelAdmin):
    list_display = ["name", "price_band", "order"]
    list_editable = ["price_band"]
    prepopulated_fields = {"slug": ["name"]}


class AgencyResource(resources.ModelResource):
    sector = fields.Field(
        attribute="sector", column_name="sector", widget=ForeignKeyWidget(Sector, "name")
    )

    class Meta:
        model = Agency
        import_id_fields = ["name"]
        fields = [
            "name",
            "sector",
            "address",
            "invoice_contact_name",
            "invoice_contact_email",
            "purchase_order_required",
            "subsidised_places_per_year",
            "approved",
            "email_domains",
        ]
        skip_unchanged = True

    def validate_instance(
        self,
        instance: Agency,
        import_validation_errors: dict[str, Any] | None = None,
        validate_unique: bool = True,
    ) -> None:
        errors = dict(import_validation_errors or {})
        waiting = (
            instance.pk is not None
            and Agency.objects.filter(pk=instance.pk, approved=False).exists()
        )
        if waiting and instance.approved:
            # Approving verifies the proposer and re-prices what was booked while it waited.
            errors.setdefault(
                "approved",
                ValidationError(
                    "Approve a proposed agency with the Approve action, not an import."
                ),
            )
        super().validate_instance(instance, errors, validate_unique)


class BookerGrantForm(forms.ModelForm):
    """A grant is for a verified member of the agency (their membership is approved first)."""

    def clean(self) -> dict[str, Any]:
        cleaned = cast(dict[str, Any], super().clean())
        user, agency = cleaned.get("user"), self.instance.agency if self.instance.pk else None
        agency = agency or getattr(self, "parent_agency", None)
        if user is not None and agency is not None and not self.instance.pk:
            profile = Profile.objects.filter(user=user).first()
            if profile is None or profile.verified_agency_id != agency.pk:
                self.add_error(
                    "user",
                    f"{user} is not a verified member of {agency}: approve their membership "
                    "first (Profiles, or the Membership requests page).",
                )
        return cleaned


class BookerGrantInline(admin.TabularInline):
    """Who books for the agency. Give rights by adding a row; take them by setting
    'revoked at' (the row stays, as the history of who could book when)."""

    model = BookerGrant
    form = BookerGrantForm
    extra = 0
    can_delete = False
    fields = ["user", "granted_by", "granted_at", "revoked_at", "revoked_by"]
    readonly_fields = ["granted_by", "granted_at", "revoked_by"]
    raw_id_fields = ["user"]
    verbose_name = "booker"

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.parent_agency = obj  # type: ignore[attr-defined]
        return formset


@admin.register(Agency)
class AgencyAdmin(AnswerBadFiltersMixin, ImportExportModelAdmin):
    resource_classes = [AgencyResource]
    list_display = ["name", "sector", "approved", "subsidised_places_per_year"]
    list_filter = ["approved", "sector"]
    search_fields = ["name", "invoice_contact_email"]
    actions = ["approve"]
    inlines = [BookerGrantInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Approving goes through the action, which verifies the proposer and re-prices
        # what was booked while the agency waited; a ticked box would skip both.
        return ["approved"] if obj is not None and not obj.approved else []

    @admin.action(description="Approve the selected proposed agencies (check their sector first)")
    def approve(self, request: HttpRequest, queryset: QuerySet[Agency]) -> None:
        now = timezone.now()
        approved = sum(
            agency_approve(agency=agency, actor=request.user, now=now)
            for agency in queryset.filter(approved=False).select_related("sector__price_band")
        )
        self.message_user(
            request,
            f"{approved} agencies approved. Places booked while they waited that cost less "
            "than their sector's price have been invoiced the difference.",
        )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        now = timezone.now()
        grants = formset.save(commit=False)
        for grant in grants:
            if grant.pk is None:
                grant.granted_by, grant.granted_at = request.user, now
            elif grant.revoked_at is not None and grant.revoked_by_id is None:
                grant.revoked_by = request.user
            grant.save()
        formset.save_m2m()


class VenueResource(resources.ModelResource):
    class Meta:
        model = Venue
        import_id_fields = ["name"]
        fields = ["name", "mode", "address", "postcode", "area", "directions"]
        skip_unchanged = True


@admin.register(Venue)
class VenueAdmin(AnswerBadFiltersMixin, ImportExportModelAdmin):
    resource_classes = [VenueResource]
    list_display = ["name", "mode", "area", "postcode", "lent_by"]
    list_filter = ["mode", "area"]
    search_fields = ["name", "postcode"]


@admin.register(Trainer)
class TrainerAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "user"]
    search_fields = ["name", "email"]
    raw_id_fields = ["user"]


class LearningOutcomeInline(admin.TabularInline):
    model = LearningOutcome
    extra = 1


class CoursePriceInline(admin.TabularInline):
    model = CoursePrice
    extra = 0


class CourseResource(resources.ModelResource):
    class Meta:
        model = Course
        import_id_fields = ["title"]
        fields = [
            "title",
            "kind",
            "theme",
            "level",
            "duration_half_days",
            "description",
            "follow_up_weeks",
            "is_active",
        ]
        skip_unchanged = True


@admin.register(Course)
class CourseAdmin(AnswerBadFiltersMixin, ImportExportModelAdmin):
    resource_classes = [CourseResource]
    list_display = ["title", "kind", "theme", "level", "duration_half_days", "is_active"]
    list_filter = ["kind", "level", "is_active"]
    search_fields = ["title", "theme"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [LearningOutcomeInline, CoursePriceInline]


class SessionPartFormSet(BaseInlineFormSet):
    """A booked session's parts are moved on its Move this session page, never here."""

    def clean(self) -> None:
        super().clean()
        # A new, changed or deleted part (deleting ticks a box, so it counts as a change).
        changed = any(form.has_changed() for form in self.forms)
        if changed and session_is_booked(self.instance.pk):
            raise ValidationError(_move_link(self.instance.pk))


class SessionPartInline(admin.TabularInline):
    model = SessionPart
    formset = SessionPartFormSet
    extra = 1
    min_num = 1


def _move_link(session_id: int) -> str:
    return format_html(
        '{} <a href="{}">Move this session</a>',
        MOVE_ON_THE_PAGE,
        reverse("bookings:move_session", args=[session_id]),
    )


class SessionPriceInline(admin.TabularInline):
    model = SessionPrice
    extra = 0
    verbose_name = "price override"


class SessionAdminForm(forms.ModelForm):
    """The admin's session form (ModelAdmin supplies the model and fields)."""

    def clean(self) -> dict[str, Any]:
        cleaned = cast(dict[str, Any], super().clean())  # ModelForm.clean() returns cleaned_data
        venue = cleaned.get("venue")
        problems = session_change_problems(
            self.instance.pk,
            capacity=cleaned.get("capacity"),
            status=cleaned.get("status", ""),
            venue_id=venue.pk if venue is not None else None,
        )
        for field, message in problems.items():
            if field in self.fields:
                self.add_error(field, _move_link(self.instance.pk) if field == "venue" else message)
        return cleaned


class SessionWhenFilter(admin.SimpleListFilter):
    """The session list opens on what is coming (from today, soonest first), not on 2016."""

    title = "when"
    parameter_name = "when"
    DEFAULT = "upcoming"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("upcoming", "From today"), ("past", "Past (latest first)"), ("all", "All")]

    def choices(self, changelist: Any) -> Any:
        current = self.value() or self.DEFAULT
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        today = timezone.localdate()
        midnight = timezone.make_aware(dt.datetime(today.year, today.month, today.day))
        when = self.value() or self.DEFAULT
        if when == "upcoming":
            return queryset.filter(starts_at__gte=midnight)
        if when == "past":
            return queryset.filter(starts_at__lt=midnight)
        return queryset


@admin.register(Session)
class SessionAdmin(AnswerBadFiltersMixin, ImportExportModelAdmin):
    form = SessionAdminForm
    resource_classes = [SessionResource]
    list_display = ["course", "starts_at", "venue", "capacity", "status"]
    list_filter = [SessionWhenFilter, "status", "course__kind", "venue__area"]

    def get_ordering(self, request: HttpRequest) -> list[str]:
        if request.GET.get(SessionWhenFilter.parameter_name) in ("past", "all"):
            return ["-starts_at", "pk"]
        return ["starts_at", "pk"]

    search_fields = ["course__title", "venue__name"]
    date_hierarchy = "starts_at"
    filter_horizontal = ["trainers"]
    list_select_related = ["course", "venue"]
    inlines = [SessionPartInline, SessionPriceInline]


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "job_title", "agency", "agency_verified_at", "consent_to_calls"]
    list_filter = [("agency_verified_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "user__first_name", "user__last_name", "agency__name"]
    list_select_related = ["user", "agency"]
    raw_id_fields = ["user", "agency"]
    readonly_fields = [
        "agency_requested_at",
        "agency_verified_at",
        "agency_verified_by",
        "agency_verified_how",
    ]
    actions = ["approve_membership"]

    @admin.action(description="Approve the selected people's agency membership")
    def approve_membership(self, request: HttpRequest, queryset: QuerySet[Profile]) -> None:
        now = timezone.now()
        approved = sum(
            membership_verify(
                profile=profile,
                how=MembershipVerification.ADMINISTRATOR,
                verified_by=request.user,
                now=now,
            )
            for profile in queryset.filter(agency__isnull=False, agency_verified_at=None)
        )
        self.message_user(request, f"{approved} memberships approved.")

    def save_model(self, request: HttpRequest, obj: Profile, form: Any, change: bool) -> None:
        # Changing someone's agency here is a new, unverified request, like on their page.
        if change and "agency" in form.changed_data:
            obj.agency_requested_at, obj.agency_verified_at = timezone.now(), None
            obj.agency_verified_by, obj.agency_verified_how = None, ""
            BookerGrant.objects.filter(user_id=obj.user_id, revoked_at=None).update(
                revoked_at=timezone.now(), revoked_by=request.user
            )
        super().save_model(request, obj, form, change)
        if obj.agency_id and obj.agency_verified_at is None:
            membership_verify_by_domain(profile=obj, now=timezone.now())
