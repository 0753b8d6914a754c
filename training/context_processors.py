from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from training.roles import Role, has_role, is_agency_booker


def unit(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    return {
        "UNIT_NAME": settings.UNIT_NAME,
        # Where a page tells someone to write to the unit (a switched-off account, say).
        "TRAINING_TEAM_EMAIL": settings.TRAINING_TEAM_EMAIL,
        "is_training_admin": has_role(user, Role.TRAINING_ADMINISTRATOR),
        "is_agency_booker": is_agency_booker(user),
        "is_community_member": has_role(user, Role.COMMUNITY_MEMBER),
        "is_board_viewer": has_role(user, Role.BOARD_VIEWER, Role.TRAINING_ADMINISTRATOR),
        # A trainer is someone whose login is linked to a Trainer record.
        "is_trainer": bool(getattr(user, "is_authenticated", False) and hasattr(user, "trainer")),
    }
