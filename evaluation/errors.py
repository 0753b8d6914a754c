"""The evaluation app's one domain error, carrying a message a person can act on."""

from __future__ import annotations


class EvaluationError(Exception):
    """A survey or call could not be recorded; the message tells the person what to do."""
