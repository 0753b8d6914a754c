"""The demo's annual-report material for 2016/17: MAPIG messages, the venue ledger, reviews.

All of it is from the annual report (§5.11, §8.2, §8.3 and §11.2); loading twice adds nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from evaluation.models import (
    AnnualNarrative,
    ContributionKind,
    InKindContribution,
    LearningReview,
    ReviewKind,
    SessionMessage,
)
from evaluation.reports.periods import Period
from training.models import Agency, Course, CourseKind, Sector, Session

YEAR_2016 = dt.date(2016, 4, 1)

# §11.2 "Summary of messages": what practitioners told the board at each quarter's MAPIG.
MAPIG_MESSAGES_2016_17 = {
    "MAPIG: Think Family": (
        "They find multi-agency events really useful and would like to have such joint "
        "adults/children events more frequently.",
        "They believe things are moving \u201cin the right direction\u201d in relation to "
        "'Think Family' in Somerset.",
        "Information sharing and consent, with multiple systems that don't interface with "
        "each-other can make effective safeguarding and risk assessment difficult.",
        "They would like to develop stronger working relationships with staff in other "
        "agencies, and enhance their awareness of other services how they can work together "
        "for/with families.",
        "They worry vulnerable children and families may \u201cfall through the gaps\u201d as a "
        "result of service thresholds, and are concerned about risky young people on the cusp "
        "of adulthood who don't meet eligibility criteria for children's or adult services.",
    ),
    "MAPIG: Vulnerabilities of adolescence": (
        "Research should be publicised more prominently.",
        "Multi-agency discussions were rich and really valuable opportunities to engage across "
        "services.",
        "It was really interesting to hear insights from other agencies.",
        "The workshops provided a fantastic opportunity to reflect on practitioners own "
        "practice and children/young people/adults/families that they are currently working "
        "with.",
        "The multi-agency setting and presentation gave people the impetus to work and share "
        "together.",
    ),
    "MAPIG: Transitions — Choices for Life": (
        "Attendees left feeling motivated: the approach to transitions should be under-pinned "
        "with aspiration and the 5 how's.",
        "How can I choose my next school or college? How can I find a job and keep a job?",
        "How can I live more independently? How can I find things to do in my spare time? "
        "How can I stay safe and healthy?",
    ),
}

# §5.11: venues lent free by the acute trusts, in exchange for fully subsidised places, saved
# £3,400 in 2016/17: 17 venue-days at an agreed £200 a day.
ACUTE_TRUSTS = (
    ("Taunton and Somerset NHS Foundation Trust", "Training rooms, Musgrove Park Hospital", 10),
    ("Yeovil District Hospital NHS Foundation Trust", "Education centre, Yeovil Hospital", 7),
)
VENUE_DAY_RATE = Decimal("200.00")

NARRATIVE_2016_17 = {
    "what_was_done": (
        "The multi-agency Working Together and update modules for agency safeguarding leads "
        "continued throughout the year to reflect the recommendations and learning from the "
        "serious case reviews, learning reviews and safeguarding conversations.\n\n"
        "Specialist themed courses were offered throughout the year, provided by a pool of "
        "trainers expert in Child Sexual Exploitation, parental mental health and its effect "
        "on children, and online safety. All delivery is underpinned by 'Think Family' "
        "approaches to practice."
    ),
    "difference_made": (
        "Examples of evidence of impact have seen prompt referral to children's services for "
        "injuries to infants and young children, including urgent referral for two infants by "
        "GPs who were later subject of a serious case review."
    ),
    "next_steps": (
        "Strengthen the links with adult safeguarding around shared priority areas such as "
        "'Think Family' approaches to practice, transitions for vulnerable young people and "
        "CSE.\n\n"
        "Continue to incorporate learning from serious case reviews.\n\n"
        "Obtain impact data to assess transfer of learning into practice, which includes good "
        "practice examples and the voice of the child."
    ),
}

REVIEWS: tuple[dict[str, Any], ...] = (
    {
        "title": "Child L and Child J",
        "kind": ReviewKind.SERIOUS_CASE_REVIEW,
        "published_on": dt.date(2016, 12, 1),
        "themes": "Understanding and reviewing family history\nOver reliance on the word of the "
        "parents\nUnderstanding of normal child development\nCloser liaison between agencies "
        "working with the same family\nEffective supervision and managerial oversight",
        "recommendations": "Revise the escalation policy\nStrengthen guidance around "
        "strategies\nTargeted 'child development' training for police\nPractice standards for "
        "social work assessment, with a focus on disguised compliance",
        "courses": ("Working Together", "Update", "MAPIG: Think Family"),
    },
    {
        "title": "Operation Fenestra",
        "kind": ReviewKind.SERIOUS_CASE_REVIEW,
        "published_on": dt.date(2017, 3, 1),
        "themes": "Child sexual exploitation in a rural county\n'Inappropriate relationship' "
        "and 'boyfriend' models\nLinking information within and between agencies\nMulti-agency "
        "collaboration\nEmotional and mental health support for children",
        "recommendations": "A multi-agency investigative model in CSE investigations\nEducation "
        "on relationships and CSE for children and parents\nTimely, experienced emotional and "
        "mental health support",
        "courses": (
            "CSE half day",
            "CSE working with parents/ skills and practice",
            "CSE and CWD",
            "CSE Train the trainer",
            "Working Together to Tackle CSE",
        ),
    },
)


def load_demo_annual_material() -> dict[str, int]:
    """Messages, ledger rows, the 2016/17 narrative and the reviews, unless already there."""
    counts = {"messages": 0, "contributions": 0, "reviews": 0}
    year = Period.financial_year(2016)
    for title, messages in MAPIG_MESSAGES_2016_17.items():
        sessions = list(
            Session.objects.filter(
                year.sessions_q(), course__title=title, course__kind=CourseKind.MAPIG
            ).order_by("starts_at")
        )
        if not sessions or SessionMessage.objects.filter(session__in=sessions).exists():
            continue
        for order, text in enumerate(messages):
            SessionMessage.objects.create(
                session=sessions[order % len(sessions)], text=text, order=order
            )
            counts["messages"] += 1
    health = Sector.objects.filter(name="Health").first()
    if health is not None:
        for name, venue, days in ACUTE_TRUSTS:
            trust, _ = Agency.objects.get_or_create(
                name=name,
                defaults={
                    "sector": health,
                    "address": f"{name}\nSomerset",
                    "subsidised_places_per_year": 6,
                    "purchase_order_required": True,
                },
            )
            _, created = InKindContribution.objects.get_or_create(
                agency=trust,
                financial_year_start=YEAR_2016,
                kind=ContributionKind.VENUE_DAYS,
                defaults={"quantity": Decimal(days), "rate": VENUE_DAY_RATE, "description": venue},
            )
            counts["contributions"] += created
    AnnualNarrative.objects.get_or_create(
        financial_year_start=YEAR_2016, defaults=NARRATIVE_2016_17
    )
    for spec in REVIEWS:
        review, created = LearningReview.objects.get_or_create(
            title=spec["title"],
            defaults={
                key: spec[key] for key in ("kind", "published_on", "themes", "recommendations")
            },
        )
        if created:
            review.courses.set(Course.objects.filter(title__in=spec["courses"]))
            counts["reviews"] += 1
    return counts
