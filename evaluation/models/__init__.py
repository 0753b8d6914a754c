"""Every model of the evaluation app, so ``from evaluation.models import X`` finds each one.

Answers are stored one row per answered item (``Answer``), with the question's type deciding
which value column is filled, so reports count with one ``GROUP BY`` each:

- a 1–5 scale fills ``scale``; a question asked "before and after, per learning outcome" gives
  two rows per outcome (``moment`` before/after, ``outcome`` set);
- yes/no fills ``yes_no``; single choice fills ``choice``; multiple choice gives one row per
  option ticked; free text fills ``text``.

Each ``Response`` copies the course, the booking's sector (as at booking time) and the session
date from the booking, so reports group and filter on its own columns. Reports find the
questions they need by ``Question.key`` (``used_learning``, ``confidence``…), which stays put
when the administrator rewords a question.
"""

from evaluation.models.annual import AnnualNarrative, SessionMessage
from evaluation.models.calls import (
    MAX_CALL_ATTEMPTS,
    UNSUCCESSFUL_CALL_STATUSES,
    AttemptOutcome,
    CallAttempt,
    CallDraw,
    CallStatus,
    FollowUpCall,
    first_of_month,
)
from evaluation.models.ledger import CONTRIBUTION_UNITS, ContributionKind, InKindContribution
from evaluation.models.privacy import RetentionPolicy
from evaluation.models.reports import TrainingCostTarget
from evaluation.models.reviews import LearningReview, ReviewKind
from evaluation.models.surveys import (
    Answer,
    Channel,
    FollowUpOptOut,
    ImpactCode,
    Invitation,
    InvitationKind,
    InvitationQuerySet,
    Moment,
    PreCourseQuestionnaire,
    Question,
    QuestionType,
    Response,
    ResponseImpact,
    Survey,
    SurveyKind,
    new_survey_token,
)

__all__ = [
    "CONTRIBUTION_UNITS",
    "AnnualNarrative",
    "ContributionKind",
    "InKindContribution",
    "LearningReview",
    "ReviewKind",
    "SessionMessage",
    "MAX_CALL_ATTEMPTS",
    "UNSUCCESSFUL_CALL_STATUSES",
    "Answer",
    "AttemptOutcome",
    "CallAttempt",
    "CallDraw",
    "CallStatus",
    "Channel",
    "FollowUpCall",
    "FollowUpOptOut",
    "ImpactCode",
    "Invitation",
    "InvitationKind",
    "InvitationQuerySet",
    "Moment",
    "PreCourseQuestionnaire",
    "Question",
    "QuestionType",
    "Response",
    "ResponseImpact",
    "RetentionPolicy",
    "Survey",
    "SurveyKind",
    "TrainingCostTarget",
    "first_of_month",
    "new_survey_token",
]
