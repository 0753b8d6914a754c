"""The database cache's table, so `migrate` is all a production deployment needs.

Production keeps its cache in the database (``CACHE_BACKEND=database``, the default there):
throttling counts must be shared by every worker process. The table is created here rather
than by a separate `createcachetable` step, so no deployment and no test database can miss it;
it is harmless where the memory cache is in use.
"""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

CACHE_TABLE = "django_cache"  # settings.CACHE_TABLE


def create_cache_table(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, CACHE_TABLE, False)


def drop_cache_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(CACHE_TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("training", "0003_course_refresh_interval_months")]

    operations = [migrations.RunPython(create_cache_table, drop_cache_table, elidable=False)]
