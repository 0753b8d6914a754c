"""Learning reviews (serious case reviews, learning reviews, safeguarding conversations)."""

from __future__ import annotations

from django.db import models

from training.models import Course, LearningOutcome, Session


class ReviewKind(models.TextChoices):
    SERIOUS_CASE_REVIEW = "scr", "Serious case review"
    LEARNING_REVIEW = "learning_review", "Learning review"
    SAFEGUARDING_CONVERSATION = "conversation", "Safeguarding conversation"


class LearningReview(models.Model):
    """A review whose learning the training carries, and where it went.

    Tagged from this side (courses, sessions, learning outcomes), so the training app knows
    nothing of reviews. A session carries the review's learning when it is tagged itself or
    its course, or one of its course's outcomes, is.
    """

    title = models.CharField(max_length=200, unique=True)
    kind = models.CharField(
        max_length=20, choices=ReviewKind.choices, default=ReviewKind.SERIOUS_CASE_REVIEW
    )
    published_on = models.DateField("date", help_text="Published, or when the findings came.")
    themes = models.TextField(help_text="One theme a line, e.g. 'Disguised compliance'.")
    recommendations = models.TextField(blank=True, help_text="One recommendation a line.")
    courses = models.ManyToManyField(Course, blank=True, related_name="+")
    sessions = models.ManyToManyField(Session, blank=True, related_name="+")
    outcomes = models.ManyToManyField(
        LearningOutcome, blank=True, related_name="+", verbose_name="learning outcomes"
    )

    class Meta:
        app_label = "evaluation"
        ordering = ["-published_on", "title"]

    def __str__(self) -> str:
        return self.title

    @property
    def theme_list(self) -> list[str]:
        return [line.strip() for line in self.themes.splitlines() if line.strip()]

    @property
    def recommendation_list(self) -> list[str]:
        return [line.strip() for line in self.recommendations.splitlines() if line.strip()]
