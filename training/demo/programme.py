"""The demo programme's facts: the 2016/17 courses and prices, MAPIG themes, venues, agencies."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from training.models import (
    Area,
)

LONDON = ZoneInfo("Europe/London")


# Full-day and half-day prices per band (statutory, voluntary, independent).
FULL_DAY = {"statutory": "65.00", "voluntary": "45.00", "independent": "95.00"}


HALF_DAY = {"statutory": "40.00", "voluntary": "30.00", "independent": "55.00"}


CONFERENCE = {"statutory": "50.00", "voluntary": "35.00", "independent": "75.00"}


@dataclass(frozen=True)
class CourseSpec:
    title: str
    sessions_2016_17: int
    half_days: int
    level: str
    theme: str
    outcomes: tuple[str, ...]
    description: str


# The 11 course titles of the annual report's Appendix E, with its numbers of courses.
COURSES: tuple[CourseSpec, ...] = (
    CourseSpec(
        "Working Together",
        17,
        2,
        "2",
        "Multi-agency working",
        (
            "Describe the roles and responsibilities of each agency in safeguarding children",
            "Recognise the signs and indicators of abuse and neglect",
            "Know how to make a referral and share information lawfully",
        ),
        "The core multi-agency course based on Working Together to Safeguard Children.",
    ),
    CourseSpec(
        "Update",
        17,
        1,
        "2",
        "Multi-agency working",
        (
            "Apply recent changes in legislation, guidance and local procedures",
            "Reflect on lessons from local and national serious case reviews",
        ),
        "A refresher for practitioners who completed Working Together within three years.",
    ),
    CourseSpec(
        "CSE half day",
        5,
        1,
        "2",
        "Child sexual exploitation",
        (
            "Recognise the warning signs of child sexual exploitation",
            "Use the CSE screening tool and know when to refer",
        ),
        "An introduction to child sexual exploitation for all practitioners.",
    ),
    CourseSpec(
        "CSE working with parents/ skills and practice",
        3,
        2,
        "3",
        "Child sexual exploitation",
        (
            "Work alongside parents of children at risk of exploitation",
            "Plan safety with the child and family",
        ),
        "Skills for practitioners supporting families affected by exploitation.",
    ),
    CourseSpec(
        "Safer Recruitment",
        1,
        2,
        "3",
        "Safer workforce",
        (
            "Apply safer recruitment practice at every stage of appointment",
            "Meet the statutory requirement for a trained member of every interview panel",
        ),
        "Accredited training for those who recruit staff and volunteers working with children.",
    ),
    CourseSpec(
        "Parental MH",
        2,
        2,
        "3",
        "Think Family",
        (
            "Understand how parental mental ill-health can affect children",
            "Work jointly with adult mental health services",
        ),
        "Parental mental health and its impact on children.",
    ),
    CourseSpec(
        "Signs of safety",
        1,
        2,
        "3",
        "Practice model",
        (
            "Use the Signs of Safety mapping framework",
            "Involve children and families in safety planning",
        ),
        "The strengths-based practice model used across the county.",
    ),
    CourseSpec(
        "Thresholds",
        1,
        1,
        "2",
        "Multi-agency working",
        (
            "Apply the county's threshold document to real cases",
            "Choose the right level of support for a family",
        ),
        "Using the effective support threshold document.",
    ),
    CourseSpec(
        "CSE and CWD",
        1,
        1,
        "3",
        "Child sexual exploitation",
        (
            "Recognise why disabled children are more vulnerable to exploitation",
            "Adapt communication to hear the voice of disabled children",
        ),
        "Child sexual exploitation and children with disabilities.",
    ),
    CourseSpec(
        "CSE Train the trainer",
        1,
        4,
        "4",
        "Child sexual exploitation",
        (
            "Deliver the CSE awareness session in your own agency",
            "Evaluate the impact of single-agency training",
        ),
        "Prepares experienced practitioners to train colleagues in their own agency.",
    ),
    CourseSpec(
        "Courageous conversations",
        1,
        1,
        "3",
        "Practice skills",
        (
            "Hold difficult conversations with families and colleagues",
            "Challenge and escalate professional disagreement",
        ),
        "Skills for challenging conversations in safeguarding practice.",
    ),
)


MAPIG_THEMES = ("Think Family", "Vulnerabilities of adolescence", "Transitions — Choices for Life")


MAPIG_AREAS = (Area.TAUNTON, Area.BRIDGWATER, Area.YEOVIL, Area.GLASTONBURY)


CONFERENCE_TITLE = "Working Together to Tackle CSE"


VENUES = (
    ("Taunton Training Centre", "Blackbrook Park Avenue\nTaunton", "TA1 2PX", Area.TAUNTON),
    ("Bridgwater Community Hall", "Northgate\nBridgwater", "TA6 3EU", Area.BRIDGWATER),
    ("Yeovil Innovation Suite", "Copse Road\nYeovil", "BA22 8RN", Area.YEOVIL),
    ("Glastonbury Town Hall", "Magdalene Street\nGlastonbury", "BA6 9EL", Area.GLASTONBURY),
    ("Minehead Family Centre", "Alcombe Road\nMinehead", "TA24 6BD", Area.MINEHEAD),
)

# The online venue of the demo's online session: its joining link reaches confirmed attendees
# only (their confirmation, reminder and booking page).
ONLINE_VENUE = (
    "Online (Microsoft Teams)",
    "https://teams.example.org/l/meetup-join/somerset-safeguarding-update",
    "Meeting ID 348 221 907 · passcode SSP2017. Join from a laptop with a camera if you can.",
)


# Fictional agencies, two or more per sector; the first venue-lender gets subsidised places.
AGENCIES: dict[str, tuple[str, ...]] = {
    "Central Education": ("County Education Safeguarding Service", "Inclusion and Attendance Team"),
    "Charities": ("Levels Family Support Trust", "Quantock Young Carers", "Brue Valley Mentoring"),
    "Children's Social Care": (
        "Children's Social Care – Taunton Team",
        "Fostering and Adoption Service",
    ),
    "Children's Centres": ("Priorswood Children's Centre", "Westfield Children's Centre"),
    "District Councils": ("Sedgemoor District Council Housing", "Mendip District Council"),
    "Early Years Providers": (
        "Little Acorns Day Nursery",
        "Rainbow Pre-school",
        "Brookside Childminders",
    ),
    "Health": (
        "Quantock Health Visiting Team",
        "Parrett School Nursing Service",
        "Tone Valley GP Practice",
    ),
    "Independent Schools": ("Kingsmoor College", "St Aldhelm's Preparatory School"),
    "Other": ("Mendip Sports Club", "Faith Communities Network"),
    "Police": ("Avon and Somerset Police – Public Protection",),
    "Probation": ("National Probation Service – Somerset",),
    "Schools": (
        "Blackdown Primary School",
        "Holway Park Academy",
        "Chard Community Academy",
        "Wellsprings Primary School",
        "Huish Episcopi Academy",
    ),
}


TRAINERS = ("Jo Harding", "Sam Okafor", "Priya Natarajan", "Mark Ellison")
