"""The surveys: questions, personal invitations, opt-outs, and the responses and answers.

How answers are stored (one row per answered item) is told in ``evaluation.models``.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking
from training.models import Course, LearningOutcome, Sector


def new_survey_token() -> str:
    # 256 bits from the OS's CSPRNG: a link nobody can guess, and the only key to the survey.
    return secrets.token_urlsafe(32)


# --- surveys ----------------------------------------------------------------------------------


class SurveyKind(models.TextChoices):
    EVALUATION = "evaluation", "Course evaluation"
    FOLLOW_UP = "follow_up", "Follow-up impact survey"
    CALL_SCRIPT = "call_script", "Call script"
    PRE_COURSE = "pre_course", "Pre-course questionnaire"
    MANAGER = "manager", "Line manager's view"


class Survey(models.Model):
    """One of the surveys the unit runs; the administrator edits the questions.

    The pre-course questionnaire is a true "before": sent with the confirmation for the
    courses that ask for it (``PreCourseQuestionnaire``), its before/after questions are asked
    once per outcome ("how confident are you now?") and stored as the *before* rating. The
    line manager's view goes, at the follow-up, to the line manager recorded on the booking
    when the attendee agrees ("have you seen the learning applied?").
    """

    kind = models.CharField(max_length=20, choices=SurveyKind.choices, unique=True)
    title = models.CharField(max_length=200)
    introduction = models.TextField(
        blank=True,
        help_text="Shown above the questions. For the call script: what to say first.",
    )
    closing_text = models.TextField(
        blank=True, help_text="Shown after the person has answered (or read out at the end)."
    )

    class Meta:
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.title

    def asked_questions(self, course: Course | None = None) -> models.QuerySet[Question]:
        """The questions asked: everyone's, and with ``course`` that course's own (its
        knowledge checks) too."""
        only_for_course = Q(course__isnull=True)
        if course is not None:
            only_for_course |= Q(course=course)
        return self.questions.filter(only_for_course, is_active=True).order_by("order", "pk")


class QuestionType(models.TextChoices):
    SCALE = "scale", "Scale 1–5"
    YES_NO = "yes_no", "Yes or no"
    SINGLE_CHOICE = "single_choice", "Single choice"
    MULTIPLE_CHOICE = "multiple_choice", "Multiple choice"
    FREE_TEXT = "free_text", "Free text"
    KNOWLEDGE_CHECK = "knowledge_check", "Knowledge check (one correct option)"


class Question(models.Model):
    """One question of a survey. A knowledge check belongs to one course and has one correct
    option; each answer to it is scored when it is stored (``Answer.correct``)."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveSmallIntegerField(default=0)
    text = models.CharField(max_length=300)
    hint = models.CharField(
        max_length=300, blank=True, help_text="Shown under the question, e.g. what 1 and 5 mean."
    )
    type = models.CharField(max_length=20, choices=QuestionType.choices)
    required = models.BooleanField(default=True)
    choices = models.TextField(
        blank=True,
        help_text="Single choice, multiple choice and knowledge checks: one option per line.",
    )
    correct_choice = models.CharField(
        "correct option",
        max_length=300,
        blank=True,
        help_text="Knowledge checks only: the correct option, exactly as written above.",
    )
    course = models.ForeignKey(
        Course,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="survey_questions",
        help_text="Knowledge checks only: asked in the evaluation of this course alone.",
    )
    per_outcome = models.BooleanField(
        "before and after, per learning outcome",
        default=False,
        help_text=(
            "Scale questions only: asked twice (before the course, and now) for each learning "
            "outcome of the attendee's course; once for the course as a whole if it has none."
        ),
    )
    key = models.SlugField(
        max_length=50,
        blank=True,
        help_text=(
            "A fixed name reports use to find this question (e.g. used_learning, confidence, "
            "example, quote_consent). Keep it when you reword the question."
        ),
    )
    is_active = models.BooleanField(
        "asked",
        default=True,
        help_text="Untick to stop asking a question that already has answers (it cannot be "
        "deleted then).",
    )

    class Meta:
        ordering = ["survey", "order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "key"], condition=~Q(key=""), name="question_key_unique_in_survey"
            ),
            models.CheckConstraint(
                condition=Q(per_outcome=False) | Q(type="scale"),
                name="per_outcome_only_for_scale_questions",
            ),
            models.CheckConstraint(
                condition=Q(type="knowledge_check", course__isnull=False)
                | Q(~Q(type="knowledge_check"), correct_choice="", course__isnull=True),
                name="knowledge_checks_belong_to_a_course_others_to_none",
            ),
        ]

    def __str__(self) -> str:
        return self.text

    def choice_list(self) -> list[str]:
        return [line.strip() for line in self.choices.splitlines() if line.strip()]

    def clean(self) -> None:
        if self.per_outcome and self.type != QuestionType.SCALE:
            raise ValidationError(
                {"per_outcome": "Only a 1–5 scale can be asked before and after per outcome."}
            )
        is_check = self.type == QuestionType.KNOWLEDGE_CHECK
        is_choice = is_check or self.type in (
            QuestionType.SINGLE_CHOICE,
            QuestionType.MULTIPLE_CHOICE,
        )
        if is_choice and len(self.choice_list()) < 2:
            raise ValidationError({"choices": "Give at least two options, one per line."})
        if not is_choice and self.choice_list():
            raise ValidationError({"choices": "Only choice questions have options."})
        if is_check:
            errors = {}
            if self.course_id is None:
                errors["course"] = "Choose the course whose evaluation asks this knowledge check."
            if self.correct_choice.strip() not in self.choice_list():
                errors["correct_choice"] = "Give the correct option, exactly as one of the options."
            if self.survey_id and self.survey.kind != SurveyKind.EVALUATION:
                errors["type"] = "Knowledge checks are asked in the course evaluation only."
            if errors:
                raise ValidationError(errors)
        elif self.course_id is not None or self.correct_choice:
            raise ValidationError(
                {"type": "Only a knowledge check has a course and a correct option."}
            )

    def is_correct(self, choice: str) -> bool | None:
        """A knowledge check's score for one chosen option; None for any other question."""
        if self.type != QuestionType.KNOWLEDGE_CHECK:
            return None
        return choice.strip() == self.correct_choice.strip()


# --- invitations ------------------------------------------------------------------------------


class InvitationKind(models.TextChoices):
    EVALUATION = SurveyKind.EVALUATION.value, "Course evaluation"
    FOLLOW_UP = SurveyKind.FOLLOW_UP.value, "Follow-up impact survey"
    PRE_COURSE = SurveyKind.PRE_COURSE.value, "Pre-course questionnaire"
    MANAGER = SurveyKind.MANAGER.value, "Line manager's view"


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def first_email_due(self, now: dt.datetime) -> InvitationQuerySet:
        return self.filter(sent_at=None, cancelled_at=None, responded_at=None, send_after__lte=now)

    def reminder_due(self, now: dt.datetime, reminder_after: dt.timedelta) -> InvitationQuerySet:
        return self.filter(
            sent_at__lte=now - reminder_after,
            reminder_sent_at=None,
            responded_at=None,
            cancelled_at=None,
            expires_at__gt=now,
        )


class Invitation(models.Model):
    """A personal link to one survey about one booking: used once, then closed; it expires.

    Its emails go through the one outbox (``bookings.outbox``). ``sent_at`` and
    ``reminder_sent_at`` say when the first email and the reminder were *handed to the
    outbox*: each is set by a conditional update in the same transaction as the outbox row is
    written, so at most two emails ever go per invitation; the outbox then sends, retries and
    reports failures. ``expires_at`` counts the link's lifetime from the first email: set when
    it is queued, and moved on if the outbox sends it later (after a retry). A failed send's
    reason is on its outbox row.
    """

    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="invitations")
    kind = models.CharField(max_length=20, choices=InvitationKind.choices)
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="invitations")
    token = models.CharField(max_length=64, unique=True, default=new_survey_token, editable=False)
    send_after = models.DateTimeField(db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-send_after", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["booking", "kind"], name="one_invitation_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.booking.attendee_name}"

    def get_absolute_url(self) -> str:
        return reverse("evaluation:survey", args=[self.token])

    def is_usable(self, now: dt.datetime) -> bool:
        return (
            self.sent_at is not None
            and self.responded_at is None
            and self.cancelled_at is None
            and self.expires_at is not None
            and now < self.expires_at
        )

    @property
    def status(self) -> str:
        if self.responded_at:
            return "answered"
        if self.cancelled_at:
            return "cancelled"
        if self.sent_at is None:
            return "scheduled"
        if self.expires_at and self.expires_at <= timezone.now():
            return "expired"
        return "sent"


class PreCourseQuestionnaire(models.Model):
    """This course sends the pre-course questionnaire with each confirmation (an opt-in)."""

    course = models.OneToOneField(
        Course, on_delete=models.CASCADE, related_name="pre_course_questionnaire"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["course__title"]
        verbose_name = "pre-course questionnaire for a course"
        verbose_name_plural = "pre-course questionnaires for courses"

    def __str__(self) -> str:
        return f"Pre-course questionnaire: {self.course}"


class FollowUpOptOut(models.Model):
    """This person wants no follow-up survey emails and no 'test and check' calls."""

    email = models.EmailField(unique=True, help_text="Stored in lower case.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_up_opt_outs",
    )
    created_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(
        max_length=50, blank=True, help_text="How they told us: the email link, by phone…"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "follow-up opt-out"

    def __str__(self) -> str:
        return self.email

    def save(self, *args: object, **kwargs: object) -> None:
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)  # type: ignore[arg-type]


# --- responses and answers -----------------------------------------------------------------


class Channel(models.TextChoices):
    ONLINE = "online", "Online survey"
    PHONE = "phone", "Phone call"


class ImpactCode(models.TextChoices):
    JOINT_WORKING = "joint_working", "Joint working"
    INFORMATION_SHARING = "information_sharing", "Information sharing"
    SPECIFIC_ACTION = "specific_action", "Specific action taken"
    INCREASED_AWARENESS = "increased_awareness", "Increased awareness"
    VOICE_OF_CHILD = "voice_of_child", "Voice of the child heard"
    NO_CHANGE = "no_change", "No change"


class Response(models.Model):
    """One completed survey: online from an invitation, or by phone on a call."""

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="survey_responses")
    invitation = models.OneToOneField(
        Invitation, null=True, blank=True, on_delete=models.PROTECT, related_name="response"
    )
    call = models.OneToOneField(
        "FollowUpCall", null=True, blank=True, on_delete=models.PROTECT, related_name="response"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # Copied from the booking so reports group and filter without joining through it.
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="survey_responses")
    sector = models.ForeignKey(
        Sector,
        on_delete=models.PROTECT,
        related_name="survey_responses",
        help_text="The attendee's sector as it was when they booked.",
    )
    session_date = models.DateField(db_index=True)
    submitted_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The community member who took the answers by phone.",
    )
    good_practice = models.BooleanField(
        "good-practice example",
        default=False,
        help_text="Flagged by the community member (calls) or the administrator.",
    )
    quote_consent = models.BooleanField(
        "may be quoted anonymously",
        default=False,
        help_text="From the answer to the 'may we quote your example' question.",
    )
    quote = models.TextField(
        blank=True,
        help_text="The example as it may be quoted: no names of people, children, agencies "
        "or places. Only shown in reports when flagged and consented.",
    )

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(invitation__isnull=False) | Q(call__isnull=False),
                name="response_comes_from_an_invitation_or_a_call",
            )
        ]

    def __str__(self) -> str:
        return f"{self.survey} – {self.booking.attendee_name} ({self.submitted_at:%d %b %Y})"

    @property
    def is_quotable(self) -> bool:
        return self.good_practice and self.quote_consent and bool(self.quote.strip())


class Moment(models.TextChoices):
    NONE = "", "—"
    BEFORE = "before", "Before the course"
    AFTER = "after", "Now"


class Answer(models.Model):
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    outcome = models.ForeignKey(
        LearningOutcome,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="survey_answers",
        help_text="For a before/after question: the learning outcome this rating is about.",
    )
    moment = models.CharField(max_length=10, choices=Moment.choices, blank=True)
    scale = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    yes_no = models.BooleanField(null=True, blank=True)
    choice = models.CharField(max_length=300, blank=True)
    text = models.TextField(blank=True)
    correct = models.BooleanField(
        null=True, blank=True, help_text="A knowledge check's answer: was it the correct option?"
    )

    class Meta:
        ordering = ["response", "question__order", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(scale__isnull=True) | Q(scale__gte=1, scale__lte=5),
                name="answer_scale_is_1_to_5",
            )
        ]
        indexes = [models.Index(fields=["question", "outcome", "moment"])]

    def __str__(self) -> str:
        return f"{self.question}: {self.display_value}"

    @property
    def display_value(self) -> str:
        if self.scale is not None:
            return str(self.scale)
        if self.yes_no is not None:
            return "Yes" if self.yes_no else "No"
        return self.choice or self.text


class ResponseImpact(models.Model):
    """An impact code given to a response (by the community member, or the administrator)."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="impacts")
    code = models.CharField(max_length=30, choices=ImpactCode.choices)

    class Meta:
        ordering = ["response", "code"]
        constraints = [
            models.UniqueConstraint(fields=["response", "code"], name="impact_code_once_each")
        ]

    def __str__(self) -> str:
        return self.get_code_display()
