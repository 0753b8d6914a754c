"""Evaluation and impact: surveys, 'test and check' calls and the board's reports."""
