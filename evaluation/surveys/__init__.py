"""Evaluation and follow-up surveys, and the invitations that carry their links."""
