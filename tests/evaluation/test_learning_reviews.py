"""Learning reviews traced into training: the demo's Child L and J review reaches the
practitioners of the sessions that carry it, by sector and area, on the page and in downloads."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from evaluation.models import LearningReview
from evaluation.reports.annual.figures import annual_pack
from evaluation.reports.attendance import attendance_by_sector
from evaluation.reports.periods import Period
from evaluation.reports.reviews.report import review_report, review_sessions
from tests.conftest import make_person
from training.models import CourseKind, Session
from training.roles import Role

pytestmark = pytest.mark.django_db

FY_2016 = Period.financial_year(2016)
CHILD_L = "Child L and Child J"


@pytest.fixture
def demo() -> None:
    call_command("demo", "--quiet-logins", stdout=io.StringIO())


def appendix_e_places(title: str, kind: str) -> dict[str, int]:
    table = attendance_by_sector(FY_2016, kind).table
    [row] = [row for row in table.rows if row[0] == title]
    return dict(zip(table.header_words()[2:], row[2:], strict=True))


def test_the_demos_child_l_review_reaches_the_practitioners_of_its_courses_in_2016_17(
    demo: None,
) -> None:
    review = LearningReview.objects.get(title=CHILD_L)
    report = review_report(review, now=FY_2016.bounds()[1])
    # Its courses' Appendix E rows (Working Together, Update; the Think Family MAPIG), added up.
    expected: dict[str, int] = {}
    for title, kind in (
        ("Working Together", CourseKind.COURSE),
        ("Update", CourseKind.COURSE),
        ("MAPIG: Think Family", CourseKind.MAPIG),
    ):
        for sector, places in appendix_e_places(title, kind).items():
            expected[sector] = expected.get(sector, 0) + places
    total = expected.pop("All")
    assert total > 877  # 454 + 423 on courses, and the MAPIG's
    assert report.practitioners == total
    assert {row[0]: row[1] for row in report.by_sector.rows} == {
        sector: places for sector, places in expected.items() if places
    }
    assert report.by_area.footer[0][1] == total
    assert sum(row[1] for row in report.by_area.rows) == total


def test_a_session_tagged_directly_or_through_an_outcome_carries_the_learning(
    demo: None,
) -> None:
    review = LearningReview.objects.get(title="Operation Fenestra")
    end = FY_2016.bounds()[1]
    before = set(review_sessions(review, now=end).values_list("pk", flat=True))
    other = Session.objects.exclude(pk__in=before).filter(starts_at__lt=end).first()
    assert other is not None
    review.sessions.add(other)
    assert other.pk in set(review_sessions(review, now=end).values_list("pk", flat=True))
    review.sessions.clear()
    outcome = other.course.outcomes.create(text="Spot grooming early", order=9)
    review.outcomes.add(outcome)
    carried = list(review_sessions(review, now=end).values_list("pk", flat=True))
    assert other.pk in carried and len(carried) == len(set(carried))


def test_a_board_member_reads_the_review_and_downloads_it_with_the_pages_words(
    client: Any, demo: None
) -> None:
    board = make_person("chair@example.org", agency=None, roles=(Role.BOARD_VIEWER,))
    client.force_login(board)
    review = LearningReview.objects.get(title=CHILD_L)
    listing = client.get(reverse("reports:reviews")).content.decode()
    assert CHILD_L in listing and "Operation Fenestra" in listing
    page = client.get(reverse("reports:review", args=[review.pk])).content.decode()
    assert "Over reliance on the word of the parents" in page
    assert "Practitioners reached, by sector" in page
    text = client.get(reverse("reports:review", args=[review.pk]), {"format": "csv"})
    rows = list(csv.reader(io.StringIO(text.content.decode("utf-8-sig"))))
    assert ["Sector", "Practitioners attended"] in rows
    assert ["For the action plan", "Text"] in rows
    assert ["Recommendation", "Revise the escalation policy"] in rows
    assert client.get(reverse("reports:review", args=[99999])).status_code == 404


def test_practitioners_and_community_members_cannot_read_a_review(
    client: Any, practitioner: Any, community_member: Any
) -> None:
    review = LearningReview.objects.create(
        title=CHILD_L, published_on=FY_2016.end, themes="Disguised compliance"
    )
    for person in (practitioner, community_member):
        client.force_login(person)
        assert client.get(reverse("reports:review", args=[review.pk])).status_code == 403
        assert client.get(reverse("reports:reviews")).status_code == 403


def test_the_annual_pack_says_how_each_reviews_learning_reached_practitioners(
    demo: None,
) -> None:
    pack = annual_pack(2016)
    [section] = [s for s in pack.sections if s.title == "Learning from reviews in training"]
    assert any(p.startswith(CHILD_L) for p in section.paragraphs)
    assert any(t.title.startswith("Operation Fenestra") for t in section.tables)
