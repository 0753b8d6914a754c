"""Demo knowledge checks: two questions with a correct option in one course's evaluation, and
the evaluated places' answers to them, scored, so the impact report shows an average score.

Run after ``surveys.load_demo_evaluation``; idempotent. The course is the one the pre-course
demo chose (the most evaluated).
"""

from __future__ import annotations

import random

from django.db import transaction

from evaluation.demo.pre_course import most_evaluated_course_id
from evaluation.models import Answer, Question, QuestionType, Response, Survey, SurveyKind

CHECKS = [
    (
        "Who can you share information with, without consent, to protect a child from harm?",
        [
            "Nobody: consent is always needed",
            "Those who need it to protect the child",
            "Anyone who asks",
        ],
        "Those who need it to protect the child",
    ),
    (
        "A child tells you something worrying. What do you do first?",
        [
            "Promise to keep it secret",
            "Listen, and tell them what you will do next",
            "Ask them to write it down",
        ],
        "Listen, and tell them what you will do next",
    ),
]
# About three in four answers are right, as a first course would expect.
CORRECT_SHARE = 0.75


def load_demo_knowledge_checks() -> int:
    """The knowledge checks and their scored answers; returns how many answers were added."""
    survey = Survey.objects.filter(kind=SurveyKind.EVALUATION).first()
    course_id = most_evaluated_course_id()
    if survey is None or course_id is None:
        return 0
    rng = random.Random(31)
    added = 0
    with transaction.atomic():
        checks = []
        for order, (text, options, correct) in enumerate(CHECKS, start=1):
            question, _ = Question.objects.get_or_create(
                survey=survey,
                course_id=course_id,
                text=text,
                defaults={
                    "order": 30 + order,
                    "type": QuestionType.KNOWLEDGE_CHECK,
                    "required": False,
                    "choices": "\n".join(options),
                    "correct_choice": correct,
                    "hint": "Choose one.",
                },
            )
            checks.append(question)
        evaluations = Response.objects.filter(survey=survey, course_id=course_id).order_by(
            "session_date", "pk"
        )
        for response in evaluations:
            for question in checks:
                if response.answers.filter(question=question).exists():
                    continue
                options = question.choice_list()
                wrong = [option for option in options if option != question.correct_choice]
                choice = (
                    question.correct_choice if rng.random() < CORRECT_SHARE else rng.choice(wrong)
                )
                Answer.objects.create(
                    response=response,
                    question=question,
                    choice=choice,
                    correct=question.is_correct(choice),
                )
                added += 1
    return added
