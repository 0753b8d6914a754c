"""The learning reviews' pages: the register, and a report per review with its downloads."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.text import slugify

from evaluation.models import LearningReview
from evaluation.reports.exports import download, export_format
from evaluation.reports.impact import MIN_RESPONSES_FOR_SHARE
from evaluation.reports.periods import Period
from evaluation.reports.reviews.report import review_report
from training.roles import Role, role_required

REPORT_READERS = (Role.TRAINING_ADMINISTRATOR, Role.BOARD_VIEWER)


@role_required(*REPORT_READERS)
def reviews_page(request: HttpRequest) -> HttpResponse:
    reviews = LearningReview.objects.order_by("-published_on", "title")
    return render(
        request,
        "evaluation/reports/reviews.html",
        {"title": "Learning reviews traced into training", "reviews": reviews},
    )


@role_required(*REPORT_READERS)
def review_page(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_object_or_404(LearningReview, pk=pk)
    now = timezone.now()
    report = review_report(review, now=now)
    if file_format := export_format(request):
        slug = slugify(review.title)
        return download(
            report.tables(),
            name=f"learning-review-{slug}",
            period=Period(review.published_on, timezone.localdate(now)),
            file_format=file_format,
            heading=f"{review.title}: learning traced into training",
        )
    return render(
        request,
        "evaluation/reports/review.html",
        {
            "title": review.title,
            "review": review,
            "report": report,
            "csv_url": "?format=csv",
            "xlsx_url": "?format=xlsx",
            "min_responses": MIN_RESPONSES_FOR_SHARE,
        },
    )
