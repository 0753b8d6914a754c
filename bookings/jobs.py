"""Background jobs by name: services enqueue work without importing the tasks modules.

Each app's ``tasks.py`` registers its tasks here (``@jobs.register`` above ``@task``) and the
apps load those modules when Django starts, so a service can say "send these emails after
commit" while the arrow still runs from tasks to services and never back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Expression
from django.tasks import Task
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.compat import normalize_json

from bookings.rows import rows_insert

if TYPE_CHECKING:
    from django_tasks_db.models import DBTaskResult

_registry: dict[str, Task[Any, Any]] = {}


def register(task: Task[Any, Any]) -> Task[Any, Any]:
    """Make ``task`` reachable by its function's name; names are unique across the apps."""
    name = task.name
    known = _registry.get(name)
    if known is not None and known.module_path != task.module_path:
        raise RuntimeError(f"Two background tasks are called {name!r}")
    _registry[name] = task
    return task


def _task(name: str) -> Task[Any, Any]:
    try:
        return _registry[name]
    except KeyError:
        raise RuntimeError(f"No background task called {name!r} is registered") from None


def enqueue(name: str, *args: Any) -> None:
    """Queue the task called ``name`` now (callers are already outside their transaction)."""
    _task(name).enqueue(*args)


def enqueue_on_commit(name: str, *args: Any) -> None:
    """Queue the task called ``name`` so that a worker never sees rows that were rolled back.

    With the database-backed task queue the task is a row like any other: written inside the
    current transaction, a worker sees it only once the transaction commits, and it vanishes
    with a rollback, as the rows it works on do; so it goes in with them, not in a statement
    and a commit of its own afterwards. Any other backend (in process, in tests and
    development) is handed the task once the transaction commits (at once outside one).
    """
    task = _task(name)
    connection = transaction.get_connection()
    if connection.in_atomic_block and isinstance(task.get_backend(), DatabaseBackend):
        task.enqueue(*args)
        return
    transaction.on_commit(lambda: task.enqueue(*args))


class DatabaseQueue(DatabaseBackend):
    """django-tasks-db's queue, writing each task's row in one plain insert.

    Every booking queues its emails' task. Through ``objects.create`` the row cost the web
    process about half a millisecond to build; ``rows_insert`` writes the same values: the
    queue's own id, its arguments as the queue normalises them, and "no time set" stored as
    the queue's far-off date, as its ``pre_save`` handler does. The queue reads it as its own
    (tests/bookings/test_jobs.py).
    """

    def _task_to_db_task(
        self, task: Task[Any, Any], args: Any, kwargs: Any
    ) -> DBTaskResult[Any, Any]:
        # The model is imported here, as the queue does: backends are made before the apps load.
        from django_tasks_db.models import DBTaskResult, get_date_max

        key = self._get_id()
        if isinstance(key, Expression):  # an id the database makes: the queue's own way
            return super()._task_to_db_task(task, args, kwargs)
        row: DBTaskResult[Any, Any] = DBTaskResult(
            id=key,
            args_kwargs=normalize_json({"args": args, "kwargs": kwargs}),
            priority=task.priority,
            task_path=task.module_path,
            queue_name=task.queue_name,
            run_after=task.run_after if task.run_after is not None else get_date_max(),
            backend_name=self.alias,
        )
        (written,) = rows_insert([row])
        return written
