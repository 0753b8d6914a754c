"""The three default surveys: course evaluation, follow-up impact survey, and the call script.

The administrator edits them afterwards in the admin. Question ``key``s are what the reports
look for (``used_learning``, ``confidence``…); a rerun leaves existing surveys alone.
"""

from django.db import migrations

SCALE, YES_NO, SINGLE, MULTIPLE, TEXT = (
    "scale", "yes_no", "single_choice", "multiple_choice", "free_text"
)

NAMES_HINT = "Please leave out the names of children, families, colleagues and places."

BARRIERS = "\n".join(
    [
        "Time or workload",
        "Support from my manager or team",
        "Other agencies' processes",
        "Not had a case where it applied",
        "Nothing got in the way",
        "Something else",
    ]
)

SURVEYS = [
    {
        "kind": "evaluation",
        "title": "Course evaluation",
        "introduction": "Thank you for coming. Please tell us what you thought of the training.",
        "closing_text": "Thank you. We read every answer and use them to improve our training.",
        "questions": [
            ("usefulness", SCALE, True, False,
             "How useful was the training for your work?",
             "1 means not useful at all, 5 means very useful.", ""),
            ("delivery", SCALE, True, False,
             "How well was the training delivered?",
             "1 means poorly, 5 means very well.", ""),
            ("confidence", SCALE, True, True,
             "How confident were you before the training, and how confident are you now?",
             "For each thing the course set out to teach. 1 means not at all confident, "
             "5 means very confident.", ""),
            ("do_differently", TEXT, False, False,
             "What will you do differently as a result of the training?", NAMES_HINT, ""),
        ],
    },
    {
        "kind": "follow_up",
        "title": "Follow-up impact survey",
        "introduction": "A few weeks have passed since your training. We would like to know "
        "whether it has made a difference to your work with children and families.",
        "closing_text": "Thank you. Your examples help the Board see what difference training "
        "makes.",
        "questions": [
            ("used_learning", YES_NO, True, False,
             "Have you used what you learned on the course in your practice?", "", ""),
            ("example", TEXT, False, False,
             "Please give an example of how you used it", NAMES_HINT, ""),
            ("voice_of_child", TEXT, False, False,
             "What changed for the child or family? How was the child's voice heard?",
             NAMES_HINT, ""),
            ("barriers", MULTIPLE, False, False,
             "What, if anything, got in the way of using the learning?",
             "Choose all that apply.", BARRIERS),
            ("further_training", TEXT, False, False,
             "What further training would help you?", "", ""),
            ("quote_consent", YES_NO, False, False,
             "May we quote your example in our reports, without your name or anything that "
             "could identify you or the family?", "", ""),
        ],
    },
    {
        "kind": "call_script",
        "title": "Follow-up call script",
        "introduction": "Hello, my name is … I am a volunteer community member with the Local "
        "Safeguarding Children Board. You went on a training course with us a few months ago "
        "and said we could phone you. Do you have five minutes to tell me whether you have "
        "been able to use what you learned?\n\nIf now is not a good time, ask when you could "
        "call back.",
        "closing_text": "Thank them for their time and say that what they told us helps the "
        "Board improve training for everyone who works with children.",
        "questions": [
            ("used_learning", YES_NO, True, False,
             "Have you been able to use what you learned on the course in your work?", "", ""),
            ("example", TEXT, False, False,
             "Can you tell me about a time you used it?",
             "Write it down without names of children, families, colleagues, agencies or "
             "places.", ""),
            ("voice_of_child", TEXT, False, False,
             "Did it make a difference for a child or family? Was the child's voice heard?",
             "Again, no names.", ""),
            ("barriers", TEXT, False, False,
             "Has anything made it hard to use what you learned?", "", ""),
            ("further_training", TEXT, False, False,
             "Is there any other training that would help you?", "", ""),
            ("quote_consent", YES_NO, True, False,
             "May we quote your example in our reports, without your name or anything that "
             "could identify you?", "Read this out and record their answer.", ""),
        ],
    },
]


def create_surveys(apps, schema_editor):
    Survey = apps.get_model("evaluation", "Survey")
    Question = apps.get_model("evaluation", "Question")
    for spec in SURVEYS:
        survey, created = Survey.objects.get_or_create(
            kind=spec["kind"],
            defaults={
                "title": spec["title"],
                "introduction": spec["introduction"],
                "closing_text": spec["closing_text"],
            },
        )
        if not created:
            continue
        for order, (key, type_, required, per_outcome, text, hint, choices) in enumerate(
            spec["questions"], start=1
        ):
            Question.objects.create(
                survey=survey,
                order=order * 10,
                key=key,
                type=type_,
                required=required,
                per_outcome=per_outcome,
                text=text,
                hint=hint,
                choices=choices,
            )


def remove_surveys(apps, schema_editor):
    Survey = apps.get_model("evaluation", "Survey")
    Survey.objects.filter(kind__in=[spec["kind"] for spec in SURVEYS]).delete()


class Migration(migrations.Migration):
    dependencies = [("evaluation", "0001_initial")]

    operations = [migrations.RunPython(create_surveys, remove_surveys)]
