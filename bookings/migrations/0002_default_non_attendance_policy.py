"""Seed the non-attendance charging policy the administrator starts from (editable in the admin).

Statutory partners and the voluntary sector pay a flat charge for an absence without notice:
£50 for a half-day session, £90 for a full day or longer. Independent and private providers
buy places at the full commercial price, so a no-show costs the unit that price: their band is
charged the course's full price. Where a place has no price (a free MAPIG) the flat amount
applies instead, so every band is charged something for an empty seat that someone on the
waiting list could have had.
"""

from decimal import Decimal

from django.db import migrations

# (band slug, session length, flat amount, charge the full course price)
POLICY = [
    ("statutory", "half_day", Decimal("50.00"), False),
    ("statutory", "full_day", Decimal("90.00"), False),
    ("voluntary", "half_day", Decimal("50.00"), False),
    ("voluntary", "full_day", Decimal("90.00"), False),
    ("independent", "half_day", Decimal("50.00"), True),
    ("independent", "full_day", Decimal("90.00"), True),
]


def seed(apps, schema_editor):
    PriceBand = apps.get_model("training", "PriceBand")
    NonAttendancePolicy = apps.get_model("bookings", "NonAttendancePolicy")
    bands = {band.slug: band for band in PriceBand.objects.all()}
    for slug, length, amount, full_price in POLICY:
        band = bands.get(slug)
        if band is None:
            continue  # a band the administrator renamed or removed: nothing to seed for it
        NonAttendancePolicy.objects.get_or_create(
            session_length=length,
            band=band,
            defaults={"amount": amount, "charge_full_price": full_price},
        )


def unseed(apps, schema_editor):
    NonAttendancePolicy = apps.get_model("bookings", "NonAttendancePolicy")
    for slug, length, _amount, _full_price in POLICY:
        NonAttendancePolicy.objects.filter(band__slug=slug, session_length=length).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0001_initial"),
        ("training", "0002_sectors_bands_roles"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
