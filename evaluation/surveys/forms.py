"""The survey form: built from a survey's questions, two ratings per outcome where asked.

Before the course (the pre-course questionnaire, ``before_only``) a before/after question is
one rating per outcome, "now", stored as the *before*.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django import forms

from evaluation.models import Moment, Question, QuestionType
from evaluation.surveys.services import AnswerData
from training.models import LearningOutcome

# One before/after row of a per-outcome question: (outcome, before field, after field); the
# after field's name is "" before the course.
OutcomePair = tuple[LearningOutcome | None, str, str]

SCALE_CHOICES = [(str(n), str(n)) for n in range(1, 6)]
YES_NO_CHOICES = [("yes", "Yes"), ("no", "No")]
MAX_TEXT = 5000


@dataclass
class OutcomeRow:
    """One learning outcome of a before/after question: its two ratings."""

    label: str
    outcome: LearningOutcome | None
    before: forms.BoundField
    after: forms.BoundField | None


@dataclass
class Item:
    """One question as the page shows it."""

    question: Question
    field: forms.BoundField | None = None
    rows: list[OutcomeRow] = dataclasses.field(default_factory=list)

    @property
    def widget(self) -> str:
        if self.question.per_outcome:
            return "per_outcome"
        widgets: dict[str, str] = {  # keyed by str: question.type is a plain CharField value
            QuestionType.SCALE: "scale",
            QuestionType.YES_NO: "radios",
            QuestionType.SINGLE_CHOICE: "radios",
            QuestionType.MULTIPLE_CHOICE: "checkboxes",
            QuestionType.FREE_TEXT: "text",
            QuestionType.KNOWLEDGE_CHECK: "radios",
        }
        return widgets[self.question.type]


def _short(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class SurveyForm(forms.Form):
    """A form with a field per question; a before/after question gets two fields per outcome."""

    def __init__(
        self,
        *args: Any,
        questions: Sequence[Question],
        outcomes: Sequence[LearningOutcome] = (),
        before_only: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.before_only = before_only
        self.questions = list(questions)
        self.outcomes = list(outcomes)
        self._layout: list[tuple[Question, str | list[OutcomePair]]] = []
        for question in self.questions:
            if question.per_outcome:
                pairs: list[OutcomePair] = []
                whole: list[LearningOutcome | None] = [None]  # no outcomes: the course as a whole
                for outcome in self.outcomes or whole:
                    label = outcome.text if outcome else "The subject of the course as a whole"
                    before = self._name(question, outcome, Moment.BEFORE)
                    if before_only:
                        self.fields[before] = forms.ChoiceField(
                            choices=SCALE_CHOICES,
                            required=question.required,
                            label="Now",
                            error_messages={
                                "required": f"Choose how confident you feel now: {_short(label)}"
                            },
                        )
                        pairs.append((outcome, before, ""))
                        continue
                    after = self._name(question, outcome, Moment.AFTER)
                    self.fields[before] = forms.ChoiceField(
                        choices=SCALE_CHOICES,
                        required=question.required,
                        label="Before the course",
                        error_messages={
                            "required": f"Choose how confident you felt before the course: "
                            f"{_short(label)}"
                        },
                    )
                    self.fields[after] = forms.ChoiceField(
                        choices=SCALE_CHOICES,
                        required=question.required,
                        label="Now",
                        error_messages={
                            "required": f"Choose how confident you feel now: {_short(label)}"
                        },
                    )
                    pairs.append((outcome, before, after))
                self._layout.append((question, pairs))
            else:
                name = self._name(question)
                self.fields[name] = self._field_for(question)
                self._layout.append((question, name))

    @staticmethod
    def _name(question: Question, outcome: LearningOutcome | None = None, moment: str = "") -> str:
        if not moment:
            return f"q{question.pk}"
        return f"q{question.pk}-o{outcome.pk if outcome else 0}-{moment}"

    @staticmethod
    def _field_for(question: Question) -> forms.Field:
        text = _short(question.text)
        required = question.required
        if question.type == QuestionType.SCALE:
            return forms.ChoiceField(
                choices=SCALE_CHOICES,
                required=required,
                label=question.text,
                error_messages={"required": f"Choose a number from 1 to 5: {text}"},
            )
        if question.type == QuestionType.YES_NO:
            return forms.ChoiceField(
                choices=YES_NO_CHOICES,
                required=required,
                label=question.text,
                error_messages={"required": f"Choose yes or no: {text}"},
            )
        options = [(option, option) for option in question.choice_list()]
        if question.type in (QuestionType.SINGLE_CHOICE, QuestionType.KNOWLEDGE_CHECK):
            return forms.ChoiceField(
                choices=options,
                required=required,
                label=question.text,
                error_messages={"required": f"Choose one option: {text}"},
            )
        if question.type == QuestionType.MULTIPLE_CHOICE:
            return forms.MultipleChoiceField(
                choices=options,
                required=required,
                label=question.text,
                error_messages={"required": f"Choose at least one option: {text}"},
            )
        return forms.CharField(
            required=required,
            label=question.text,
            max_length=MAX_TEXT,
            widget=forms.Textarea,
            strip=True,
            error_messages={
                "required": f"Write an answer: {text}",
                "max_length": f"Keep your answer under {MAX_TEXT} characters: {text}",
            },
        )

    @property
    def items(self) -> list[Item]:
        items = []
        for question, layout in self._layout:
            if isinstance(layout, str):
                items.append(Item(question=question, field=self[layout]))
            else:
                rows = [
                    OutcomeRow(
                        label=outcome.text if outcome else "The subject of the course as a whole",
                        outcome=outcome,
                        before=self[before],
                        after=self[after] if after else None,
                    )
                    for outcome, before, after in layout
                ]
                items.append(Item(question=question, rows=rows))
        return items

    def answers(self) -> list[AnswerData]:
        """The cleaned answers, one per answered item (blank optional ones are left out)."""
        data = self.cleaned_data
        answers: list[AnswerData] = []
        for question, layout in self._layout:
            if not isinstance(layout, str):
                for outcome, before, after in layout:
                    for moment, name in ((Moment.BEFORE, before), (Moment.AFTER, after)):
                        if name and data.get(name):
                            answers.append(
                                AnswerData(
                                    question_id=question.pk,
                                    outcome_id=outcome.pk if outcome else None,
                                    moment=moment,
                                    scale=int(data[name]),
                                )
                            )
                continue
            value = data.get(layout)
            if value in (None, "", []):
                continue
            if question.type == QuestionType.SCALE:
                answers.append(AnswerData(question_id=question.pk, scale=int(value)))
            elif question.type == QuestionType.YES_NO:
                answers.append(AnswerData(question_id=question.pk, yes_no=value == "yes"))
            elif question.type in (QuestionType.SINGLE_CHOICE, QuestionType.KNOWLEDGE_CHECK):
                answers.append(AnswerData(question_id=question.pk, choice=value))
            elif question.type == QuestionType.MULTIPLE_CHOICE:
                answers.extend(AnswerData(question_id=question.pk, choice=v) for v in value)
            else:
                answers.append(AnswerData(question_id=question.pk, text=value))
        return answers

    def answer_for_key(self, key: str) -> Any:
        for question, layout in self._layout:
            if question.key == key and isinstance(layout, str):
                return self.cleaned_data.get(layout)
        return None
