"""Keep today's people working: every profile's agency counts as verified, and every member of
the agency-booker role gets a booker grant for the agency on their profile.

Before this, an agency on a profile was taken on trust and booker rights followed it; from now
on they are a verified membership and a grant. Existing data is grandfathered (verified
"existing"); agencies still waiting for approval stay unverified.
"""

from django.db import migrations
from django.utils import timezone


def forwards(apps, schema_editor):
    Profile = apps.get_model("training", "Profile")
    BookerGrant = apps.get_model("training", "BookerGrant")
    Group = apps.get_model("auth", "Group")
    now = timezone.now()
    Profile.objects.filter(agency__isnull=False, agency__approved=True).update(
        agency_verified_at=now, agency_requested_at=now, agency_verified_how="existing"
    )
    group = Group.objects.filter(name="Agency booker").first()
    if group is None:
        return
    bookers = Profile.objects.filter(
        user__groups=group, agency__isnull=False, agency__approved=True
    ).values_list("user_id", "agency_id")
    BookerGrant.objects.bulk_create(
        [
            BookerGrant(user_id=user_id, agency_id=agency_id, granted_at=now)
            for user_id, agency_id in bookers
        ]
    )


def backwards(apps, schema_editor):
    apps.get_model("training", "BookerGrant").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("training", "0006_agency_membership_and_booker_grants"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
