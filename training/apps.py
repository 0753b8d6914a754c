from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate

# Apps whose every model the training administrator manages in the admin.
ADMINISTERED_APPS = ("training", "bookings", "evaluation", "import_export")


def grant_administrator_permissions(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """Keep the training administrator group's permissions in step with the models.

    Permissions only exist after migrate has created them, so this runs on post_migrate
    rather than in a data migration.
    """
    from django.contrib.auth.models import Group, Permission

    from training.roles import Role

    group = Group.objects.using(using).filter(name=Role.TRAINING_ADMINISTRATOR).first()
    if group is None:
        return
    permissions = Permission.objects.using(using).filter(
        content_type__app_label__in=ADMINISTERED_APPS
    )
    group.permissions.add(*permissions)


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Training programme"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from training import signals  # noqa: F401  (connects the signup signal)

        # No sender: bookings' and evaluation's permissions only exist once their own
        # post_migrate has run, so the grant runs after every app (adding twice is harmless).
        post_migrate.connect(
            grant_administrator_permissions,
            dispatch_uid="training.grant_administrator_permissions",
        )
