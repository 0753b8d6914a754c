"""Evaluation and impact surveys, community members' calls, and reports (to come)."""
