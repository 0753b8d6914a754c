"""Registers the admin of each part of evaluation: surveys, calls, reports and privacy."""

from evaluation.calls import admin as calls_admin  # noqa: F401
from evaluation.privacy import admin as privacy_admin  # noqa: F401
from evaluation.reports import admin as reports_admin  # noqa: F401
from evaluation.surveys import admin as surveys_admin  # noqa: F401
