"""The annual pack page: choose a year, edit the narrative (administrator), download PDF or Word."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from evaluation.models import AnnualNarrative
from evaluation.reports.annual.documents import (
    DOCX_CONTENT_TYPE,
    PDF_CONTENT_TYPE,
    pack_docx,
    pack_pdf,
)
from evaluation.reports.annual.figures import annual_pack
from evaluation.reports.periods import Period, financial_years_with_sessions
from evaluation.reports.services import narrative_save
from training.dates import financial_year_label, financial_year_start
from training.roles import Role, has_role, role_required

PACK_READERS = (Role.TRAINING_ADMINISTRATOR, Role.BOARD_VIEWER)


class NarrativeForm(forms.ModelForm):
    class Meta:
        model = AnnualNarrative
        fields = ["what_was_done", "how_well", "difference_made", "next_steps"]
        help_texts = {
            "what_was_done": "Printed after the year's figures. A blank line starts a new "
            "paragraph.",
        }


def _chosen_year(request: HttpRequest, years: list[int]) -> int:
    """The financial year asked for, if the menu offers it; else the latest that has begun."""
    value = request.GET.get("year") or request.POST.get("year") or ""
    if value.isdigit() and int(value) in years:
        return int(value)
    return years[0]


@role_required(*PACK_READERS)
def annual_pack_page(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    years = financial_years_with_sessions(today)  # none that has not begun
    year = _chosen_year(request, years)
    start = Period.financial_year(year).start
    file_format = request.GET.get("format")
    if file_format in {"pdf", "docx"}:
        pack = annual_pack(year)
        slug = financial_year_label(start).replace("/", "-")
        if file_format == "pdf":
            response = HttpResponse(pack_pdf(pack), content_type=PDF_CONTENT_TYPE)
        else:
            response = HttpResponse(pack_docx(pack), content_type=DOCX_CONTENT_TYPE)
        response["Content-Disposition"] = (
            f'attachment; filename="training-section-{slug}.{file_format}"'
        )
        return response
    can_edit = has_role(request.user, Role.TRAINING_ADMINISTRATOR)
    narrative = AnnualNarrative.objects.filter(financial_year_start=start).first()
    form = NarrativeForm(instance=narrative)
    if request.method == "POST":
        if not can_edit:
            return HttpResponse("Only a training administrator can edit the narrative.", status=403)
        form = NarrativeForm(request.POST, instance=narrative)
        if form.is_valid():
            narrative_save(
                year_start=start, fields=form.cleaned_data, user=request.user, now=timezone.now()
            )
            messages.success(request, f"Narrative for {financial_year_label(start)} saved.")
            return redirect(f"{reverse('reports:annual_pack')}?year={year}")
    return render(
        request,
        "evaluation/reports/annual/pack.html",
        {
            "title": "Annual report: training section",
            "years": [(value, financial_year_label(dt.date(value, 4, 1))) for value in years],
            "year": year,
            "year_label": financial_year_label(start),
            "previous_label": financial_year_label(dt.date(year - 1, 4, 1)),
            "narrative": narrative,
            "form": form,
            "can_edit": can_edit,
            "this_year": financial_year_start(today).year,
        },
    )
