"""Admin for attendance: the non-attendance charging policy, the charges (with a "waive"
action that asks for a reason), and registers with the historical registers import.

Imported from ``bookings/admin.py`` (``from bookings import admin_attendance``) so that
Django's admin autodiscovery registers these.

The import uses django-import-export's upload → preview → confirm screens, but the work is
done by :func:`bookings.importing.registers_import`, the same service the
``import_registers`` command uses: the resource below only translates its report into the
preview (every bad row with its line number and reason, or the places that will be created).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from import_export import fields, resources
from import_export.admin import ImportMixin
from import_export.formats import base_formats
from import_export.results import Result, RowResult
from tablib import Dataset

from bookings.attendance.importing import (
    COLUMNS,
    ImportResult,
    RegisterFileError,
    RegisterTable,
    register_table_read,
    registers_import,
)
from bookings.attendance.registers import charge_waive
from bookings.audit import audit_record
from bookings.errors import BookingError
from bookings.models import NonAttendanceCharge, NonAttendancePolicy, Register
from bookings.permissions import can_manage_sessions
from training.admin_filters import AnswerBadFiltersMixin

# --- the charging policy ----------------------------------------------------------------------


@admin.register(NonAttendancePolicy)
class NonAttendancePolicyAdmin(admin.ModelAdmin):
    list_display = ["band", "session_length", "amount", "charge_full_price"]
    list_display_links = ["band"]
    list_editable = ["amount", "charge_full_price"]
    ordering = ["band__order", "session_length"]
    list_select_related = ["band"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit_record(
            obj=obj,
            action="policy changed" if change else "policy added",
            actor=request.user,
            now=timezone.now(),
            changes={name: str(form.cleaned_data.get(name)) for name in form.changed_data},
        )


# --- charges ----------------------------------------------------------------------------------


class WaivedFilter(admin.SimpleListFilter):
    title = "waived"
    parameter_name = "waived"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "Standing"), ("yes", "Waived")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "no":
            return queryset.filter(waived_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(waived_at__isnull=False)
        return queryset


class WaiveReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="The agency sees this on the credit note.",
    )


@admin.register(NonAttendanceCharge)
class NonAttendanceChargeAdmin(AnswerBadFiltersMixin, admin.ModelAdmin):
    list_display = ["attendee", "session", "agency", "amount", "invoice", "status", "created_at"]
    list_filter = [WaivedFilter, "created_at"]
    search_fields = [
        "booking__attendee_name",
        "booking__attendee_email",
        "booking__agency__name",
        "invoice_line__invoice__number",
    ]
    list_select_related = ["booking__session__course", "booking__agency", "invoice_line__invoice"]
    date_hierarchy = "created_at"
    actions = ["waive"]
    fields = [
        "booking",
        "amount",
        "invoice",
        "created_at",
        "waived_at",
        "waived_by",
        "waive_reason",
        "register",
    ]
    readonly_fields = cast("list[str]", fields)  # plain field names, no groups

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # charges are raised by closing a register, never by hand

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Viewable, not editable; the waive action needs the change permission (no row).
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Attendee", ordering="booking__attendee_name")
    def attendee(self, charge: NonAttendanceCharge) -> str:
        return charge.booking.attendee_name

    @admin.display(description="Session", ordering="booking__session__starts_at")
    def session(self, charge: NonAttendanceCharge) -> str:
        return str(charge.booking.session)

    @admin.display(description="Agency", ordering="booking__agency__name")
    def agency(self, charge: NonAttendanceCharge) -> str:
        return charge.booking.agency.name

    @admin.display(description="Invoice")
    def invoice(self, charge: NonAttendanceCharge) -> str:
        return charge.invoice_line.invoice.number if charge.invoice_line else "–"

    @admin.display(description="Status")
    def status(self, charge: NonAttendanceCharge) -> str:
        return "Waived" if charge.waived_at else "Standing"

    @admin.display(description="Register")
    def register(self, charge: NonAttendanceCharge) -> str:
        url = reverse("attendance:register", args=[charge.booking.session_id])
        return format_html('<a href="{}">Open the register</a>', url)

    @admin.action(
        description="Waive the selected charges (asks for a reason)", permissions=["change"]
    )
    def waive(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        standing = list(
            queryset.filter(waived_at__isnull=True).select_related(
                "booking__agency", "booking__session__course", "invoice_line__invoice"
            )
        )
        if not standing:
            self.message_user(request, "The selected charges are already waived.", messages.WARNING)
            return None
        form = WaiveReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            now = timezone.now()
            waived = 0
            for charge in standing:
                try:
                    charge_waive(
                        charge=charge,
                        actor=request.user,
                        now=now,
                        reason=form.cleaned_data["reason"],
                    )
                    waived += 1
                except BookingError as error:
                    self.message_user(
                        request, f"{charge.booking.attendee_name}: {error}", messages.ERROR
                    )
            self.message_user(
                request,
                f"{waived} charge{'s' if waived != 1 else ''} waived; credit notes "
                "were raised for those already invoiced.",
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Waive non-attendance charges",
            "opts": self.model._meta,
            "charges": standing,
            "form": form,
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "bookings/attendance/admin_waive.html", context)


# --- registers and the historical import ------------------------------------------------------


class RegisterCSV(base_formats.CSV):
    """CSV read by the import service's own reader: blank lines are kept, so the line numbers
    in the preview are the file's (tablib's reader drops them). It is read as bytes, so the
    service finds the encoding exactly as the command does (django-import-export would
    decode it as UTF-8 and refuse the Windows-1252 files Excel saves)."""

    def is_binary(self) -> bool:
        return True

    def get_read_mode(self) -> str:
        return "rb"

    def create_dataset(self, in_stream: Any, **kwargs: Any) -> Dataset:
        return _dataset(in_stream, "upload.csv")


class RegisterXLSX(base_formats.XLSX):
    def create_dataset(self, in_stream: Any, **kwargs: Any) -> Dataset:
        return _dataset(in_stream, "upload.xlsx")


def _dataset(content: Any, name: str) -> Dataset:
    table = register_table_read(content, name=name)
    width = len(table.headers)
    dataset = Dataset(headers=[str(header) for header in table.headers])
    for row in table.rows:
        cells = list(row or [])[:width]
        dataset.append(cells + [None] * (width - len(cells)))
    return dataset


class _HistoricalRegisterResource(resources.Resource):
    """The columns of a historical register (fields added below, one per column); the import
    itself is the service's."""

    class Meta:
        name = "Historical registers"

    @classmethod
    def get_display_name(cls) -> str:
        return cls._meta.name

    def import_data(
        self,
        dataset: Dataset,
        dry_run: bool = False,
        raise_errors: bool = False,
        use_transactions: bool | None = None,
        collect_failed_rows: bool = False,
        rollback_on_validation_errors: bool = False,
        **kwargs: Any,
    ) -> Result:
        report = registers_import(
            table=RegisterTable(
                headers=list(dataset.headers or []), rows=(list(row) for row in dataset)
            ),
            actor=kwargs.get("user"),
            now=timezone.now(),
            dry_run=dry_run,
            source=kwargs.get("file_name") or "admin upload",
        )
        return import_result(report)


# The resource's fields are the import's columns, declared once in attendance.exports: the
# resource's metaclass collects Field attributes given when the class is made.
HistoricalRegisterResource = type(resources.Resource)(
    "HistoricalRegisterResource",
    (_HistoricalRegisterResource,),
    {
        "__module__": __name__,
        "__doc__": _HistoricalRegisterResource.__doc__,
        **{column: fields.Field(column_name=column) for column in COLUMNS},
    },
)


def import_result(report: ImportResult) -> Result:
    """The service's report in the shape django-import-export's preview page shows."""
    result = Result()
    result.diff_headers = list(COLUMNS)
    result.register_import = report
    if report.problems:
        by_line: dict[int, list[Any]] = defaultdict(list)
        for problem in report.problems:
            by_line[problem.line].append(problem)
        for line, problems in sorted(by_line.items()):
            errors: dict[str, list[str]] = defaultdict(list)
            for problem in problems:
                errors[problem.column or NON_FIELD_ERRORS].append(problem.reason)
            # The name is reused below for a preview row's cells.
            values: dict[str, Any] | tuple[str, ...] = dict(
                zip(COLUMNS, problems[0].values, strict=False)
            )
            result.append_invalid_row(
                number=line, row=values, validation_error=ValidationError(errors)
            )
        result.totals[RowResult.IMPORT_TYPE_INVALID] = len(by_line)
        return result
    result.totals[RowResult.IMPORT_TYPE_NEW] = report.places_created
    result.totals[RowResult.IMPORT_TYPE_SKIP] = report.places_unchanged
    if report.dry_run:
        for line, values, is_new in report.preview:
            row = RowResult()
            row.import_type = RowResult.IMPORT_TYPE_NEW if is_new else RowResult.IMPORT_TYPE_SKIP
            row.diff = [line, *values]
            result.append_row_result(row)
    return result


@admin.register(Register)
class RegisterAdmin(ImportMixin, admin.ModelAdmin):
    """Registers are kept on the register page; here they can be listed, opened and imported."""

    resource_classes = [HistoricalRegisterResource]
    import_formats = [RegisterCSV, RegisterXLSX]
    import_template_name = "bookings/attendance/admin_import.html"
    skip_admin_log = True
    list_display = ["session", "starts_at", "closed_at", "closed_by", "open_register"]
    list_filter = [("closed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["session__course", "session__venue", "closed_by"]
    search_fields = ["session__course__title", "session__venue__name"]
    ordering = ["-session__starts_at"]
    fields = ["session", "closed_at", "closed_by", "open_register"]
    readonly_fields = cast("list[str]", fields)  # plain field names, no groups

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_import_permission(self, request: HttpRequest) -> bool:
        return can_manage_sessions(request.user)

    @admin.display(description="Starts", ordering="session__starts_at")
    def starts_at(self, register: Register) -> Any:
        return register.session.starts_at

    @admin.display(description="Register")
    def open_register(self, register: Register) -> str:
        url = reverse("attendance:register", args=[register.session_id])
        return format_html('<a href="{}">Open</a>', url)

    def add_data_read_fail_error_to_form(self, form: Any, e: Exception) -> None:
        if isinstance(e, RegisterFileError):
            form.add_error("import_file", str(e))  # says what is wrong, and where
        else:
            super().add_data_read_fail_error_to_form(form, e)

    def add_success_message(self, result: Result, request: HttpRequest) -> None:
        report: ImportResult = result.register_import
        messages.success(request, report.summary())

    def process_result(self, result: Result, request: HttpRequest) -> HttpResponse:
        if result.has_validation_errors():
            # The data changed between preview and confirm; nothing was written.
            report: ImportResult = result.register_import
            for problem in report.problems[:20]:
                messages.error(request, str(problem))
            messages.error(request, report.summary())
            return HttpResponseRedirect(reverse("admin:bookings_register_import"))
        return super().process_result(result, request)
