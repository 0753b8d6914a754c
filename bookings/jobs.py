"""Background jobs by name: services enqueue work without importing the tasks modules.

Each app's ``tasks.py`` registers its tasks here (``@jobs.register`` above ``@task``) and the
apps load those modules when Django starts, so a service can say "send these emails after
commit" while the arrow still runs from tasks to services and never back.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.tasks import Task

_registry: dict[str, Task[Any, Any]] = {}


def register(task: Task[Any, Any]) -> Task[Any, Any]:
    """Make ``task`` reachable by its function's name; names are unique across the apps."""
    name = task.name
    known = _registry.get(name)
    if known is not None and known.module_path != task.module_path:
        raise RuntimeError(f"Two background tasks are called {name!r}")
    _registry[name] = task
    return task


def enqueue(name: str, *args: Any) -> None:
    """Queue the task called ``name`` now (callers are already outside their transaction)."""
    try:
        task = _registry[name]
    except KeyError:
        raise RuntimeError(f"No background task called {name!r} is registered") from None
    task.enqueue(*args)


def enqueue_on_commit(name: str, *args: Any) -> None:
    """Queue the task called ``name`` once the current transaction commits (at once outside
    one), so a worker never sees rows that were rolled back."""
    transaction.on_commit(lambda: enqueue(name, *args))
