"""The database session store, with the one read every signed-in request makes in plain SQL.

Django's own store reads the row through the ORM, whose building and compiling of that
one-table query cost about five times the query itself; everything else (creating, saving,
deleting, clearing expired sessions) is Django's.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.utils import timezone


class SessionStore(DatabaseSessionStore):
    def load(self) -> dict[str, Any]:
        if not self.session_key:
            self._session_key = None
            return {}
        alias = router.db_for_read(self.model)
        connection = connections[alias]
        table = connection.ops.quote_name(self.model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f'SELECT "session_data" FROM {table} '
                'WHERE "session_key" = %s AND "expire_date" > %s',
                [self.session_key, connection.ops.adapt_datetimefield_value(timezone.now())],
            )
            row = cursor.fetchone()
        if row is None:  # unknown or expired: a new session, as Django's store starts one
            self._session_key = None
            return {}
        return self.decode(row[0])
