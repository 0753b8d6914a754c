"""The evaluation app's demo data, loaded by ``manage.py demo`` (idempotent).

``surveys.load_demo_evaluation`` answers surveys and gives the demo community member calls;
``pre_course.load_demo_pre_course`` pairs some of those evaluations with a true "before";
``knowledge.load_demo_knowledge_checks`` adds a course's knowledge checks and scored answers;
``costs.load_demo_cost_targets`` sets the training team's costs the income report compares with.
"""
