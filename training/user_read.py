"""The signed-in person read in one plain statement, with everything almost every page asks.

Their profile, its agency, the agency's sector and the sector's price band, their trainer
record, their role names and whether they hold a booker grant for their verified agency: what
``select_related``, a ``STRING_AGG`` subquery and an ``EXISTS`` read through the ORM, where
building and compiling that query cost several times the query. The columns come from the
models' own fields, the values go through each field's own converters (as the ORM's do) and
the objects are made with ``Model.from_db`` and linked as ``select_related`` links them, so
``user.profile.agency.sector.price_band`` reads what the ORM would have given, without a
query. One row per role (one row for none): no aggregate, which the two databases spell
differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connections, router
from django.db.models import Model

from training.models import Agency, BookerGrant, PriceBand, Profile, Sector, Trainer
from training.plain_rows import Part, part


@dataclass
class _Read:
    sql: str
    parts: dict[str, Part]
    role_index: int
    grant_index: int


@cache
def _read(db: str) -> _Read:
    """The statement and how to read its row, written once per database."""
    connection = connections[db]
    user_model = get_user_model()
    q = connection.ops.quote_name

    def table(model: type[Model]) -> str:
        return q(model._meta.db_table)

    def col(alias: str, model: type[Model], name: str) -> str:
        field: Any = model._meta.get_field(name)
        return f"{q(alias)}.{q(field.column)}"

    models: dict[str, type[Model]] = {
        "u": user_model,
        "p": Profile,
        "a": Agency,
        "s": Sector,
        "b": PriceBand,
        "t": Trainer,
    }
    parts: dict[str, Part] = {}
    columns: list[str] = []
    for alias, model in models.items():
        parts[alias] = part(model, alias, len(columns), connection)
        columns += parts[alias].columns
    role_index, grant_index = len(columns), len(columns) + 1
    groups: Any = user_model._meta.get_field("groups")
    memberships = groups.remote_field.through
    user_pk = col("u", user_model, user_model._meta.pk.name)
    profile_agency = col("p", Profile, "agency")
    grant = (
        f"CASE WHEN {col('p', Profile, 'agency_verified_at')} IS NOT NULL AND EXISTS ("
        f"SELECT 1 FROM {table(BookerGrant)} {q('bg')} "
        f"WHERE {col('bg', BookerGrant, 'user')} = {user_pk} "
        f"AND {col('bg', BookerGrant, 'revoked_at')} IS NULL "
        f"AND {col('bg', BookerGrant, 'agency')} = {profile_agency}) THEN 1 ELSE 0 END"
    )
    sql = (
        f"SELECT {', '.join(columns)}, {col('g', Group, 'name')}, {grant} "
        f"FROM {table(user_model)} {q('u')} "
        f"LEFT JOIN {table(Profile)} {q('p')} ON {col('p', Profile, 'user')} = {user_pk} "
        f"LEFT JOIN {table(Agency)} {q('a')} "
        f"ON {col('a', Agency, 'id')} = {profile_agency} "
        f"LEFT JOIN {table(Sector)} {q('s')} "
        f"ON {col('s', Sector, 'id')} = {col('a', Agency, 'sector')} "
        f"LEFT JOIN {table(PriceBand)} {q('b')} "
        f"ON {col('b', PriceBand, 'id')} = {col('s', Sector, 'price_band')} "
        f"LEFT JOIN {table(Trainer)} {q('t')} ON {col('t', Trainer, 'user')} = {user_pk} "
        f"LEFT JOIN {q(memberships._meta.db_table)} {q('ug')} "
        f"ON {q('ug')}.{q('user_id')} = {user_pk} "
        f"LEFT JOIN {table(Group)} {q('g')} ON {col('g', Group, 'id')} = {q('ug')}.{q('group_id')} "
        f"WHERE {user_pk} = %s"
    )
    return _Read(sql=sql, parts=parts, role_index=role_index, grant_index=grant_index)


def user_with_profile_read(user_id: Any) -> Any:
    """The user with ``user_id`` and all the above, or None when there is none. The role
    names and the grant are left as ``_role_names`` and ``_booker_agency_ids``, where
    ``training.roles`` and ``training.membership`` look first."""
    user_model = get_user_model()
    try:
        key = user_model._meta.pk.to_python(user_id)
    except ValidationError:  # a session holding something that is no user id
        return None
    db = router.db_for_read(user_model)
    connection = connections[db]
    read = _read(db)
    with connection.cursor() as cursor:
        cursor.execute(read.sql, [key])
        rows = cursor.fetchall()
    if not rows:
        return None
    row = rows[0]
    parts = read.parts
    user: Any = parts["u"].build(row, db, connection)
    profile: Any = parts["p"].build(row, db, connection)
    trainer = parts["t"].build(row, db, connection)
    # Linked as select_related links them: a missing one is cached as missing, not asked.
    profile_user = Profile._meta.get_field("user")
    profile_user.remote_field.set_cached_value(user, profile)
    trainer_user = Trainer._meta.get_field("user")
    trainer_user.remote_field.set_cached_value(user, trainer)
    if trainer is not None:
        trainer_user.set_cached_value(trainer, user)
    if profile is not None:
        profile_user.set_cached_value(profile, user)
        agency: Any = parts["a"].build(row, db, connection)
        Profile._meta.get_field("agency").set_cached_value(profile, agency)
        if agency is not None:
            sector: Any = parts["s"].build(row, db, connection)
            Agency._meta.get_field("sector").set_cached_value(agency, sector)
            if sector is not None:
                band = parts["b"].build(row, db, connection)
                Sector._meta.get_field("price_band").set_cached_value(sector, band)
    user._role_names = frozenset(r[read.role_index] for r in rows if r[read.role_index])
    user._booker_agency_ids = (
        frozenset([profile.agency_id])
        if profile is not None and row[read.grant_index]
        else frozenset()
    )
    return user
