from __future__ import annotations

from typing import Any

from allauth.account.signals import user_signed_up
from django.contrib.auth.models import Group
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from training.models import Profile, Session, SessionPart
from training.roles import Role


@receiver(user_signed_up)
def give_new_user_a_profile(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Everyone who signs up is a practitioner with an (empty) profile."""
    Profile.objects.get_or_create(user=user)
    group, _ = Group.objects.get_or_create(name=Role.PRACTITIONER)
    user.groups.add(group)


@receiver(post_save, sender=SessionPart)
@receiver(post_delete, sender=SessionPart)
def keep_session_start_in_step(sender: Any, instance: SessionPart, **kwargs: Any) -> None:
    session = Session.objects.filter(pk=instance.session_id).first()
    if session is not None:
        session.refresh_starts_at()
