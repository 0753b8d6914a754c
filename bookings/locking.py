"""Row locks for capacity, in one global order."""

from __future__ import annotations

from collections.abc import Iterable

from training.models import Session


def session_lock_for_booking(session_id: int) -> Session:
    """Lock one session's row until the transaction ends (with its course, read not locked).

    The lock serialises every booking of this session: count, then insert. Only the session's
    own row is locked: locking its course too would make every session of a course wait.
    """
    return (
        Session.objects.select_for_update(of=("self",)).select_related("course").get(pk=session_id)
    )


def sessions_lock(session_ids: Iterable[int]) -> dict[int, Session]:
    # Several sessions are locked in primary-key order so two operations cannot deadlock.
    return {
        session.pk: session
        for session in Session.objects.select_for_update()
        .filter(pk__in=set(session_ids))
        .order_by("pk")
    }
