"""The evaluation app's management commands."""
