"""Seed the 12 agency sectors of the annual report, their price bands, and the role groups."""

from django.db import migrations

BANDS = [
    ("statutory", "Statutory partner", "Council, health, police, probation and maintained schools", 1),
    ("voluntary", "Voluntary and community", "Charities and community organisations", 2),
    ("independent", "Independent and private", "Independent schools and private providers", 3),
]

# Sector name (as in Appendix E), slug, band slug, display order.
SECTORS = [
    ("Central Education", "central-education", "statutory"),
    ("Charities", "charities", "voluntary"),
    ("Children's Social Care", "childrens-social-care", "statutory"),
    ("Children's Centres", "childrens-centres", "statutory"),
    ("District Councils", "district-councils", "statutory"),
    ("Early Years Providers", "early-years-providers", "independent"),
    ("Health", "health", "statutory"),
    ("Independent Schools", "independent-schools", "independent"),
    ("Other", "other", "voluntary"),
    ("Police", "police", "statutory"),
    ("Probation", "probation", "statutory"),
    ("Schools", "schools", "statutory"),
]

ROLES = [
    "Practitioner",
    "Agency booker",
    "Training administrator",
    "Community member",
    "Board viewer",
]


def seed(apps, schema_editor):
    PriceBand = apps.get_model("training", "PriceBand")
    Sector = apps.get_model("training", "Sector")
    Group = apps.get_model("auth", "Group")
    bands = {}
    for slug, name, description, order in BANDS:
        bands[slug], _ = PriceBand.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description, "order": order}
        )
    for order, (name, slug, band) in enumerate(SECTORS, start=1):
        Sector.objects.get_or_create(
            slug=slug, defaults={"name": name, "price_band": bands[band], "order": order}
        )
    for role in ROLES:
        Group.objects.get_or_create(name=role)


def unseed(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()
    apps.get_model("training", "Sector").objects.all().delete()
    apps.get_model("training", "PriceBand").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("training", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
