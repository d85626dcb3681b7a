"""The live pages' sequence clocks: one row each, numbered in commit order."""

from __future__ import annotations

from django.db import connection, models


def clock_next(clock: type[models.Model]) -> int:
    """Takes the next number of a one-row clock (pk 1, a `seq` column), making the row if it is missing.

    The UPDATE holds the row lock until commit, so writers take numbers in
    commit order: a live page that sees a gap knows it missed something.
    """
    table = connection.ops.quote_name(clock._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET seq = seq + 1 WHERE id = 1 RETURNING seq")  # noqa: S608 - our own table name
        row = cursor.fetchone()
    if row is None:
        clock._default_manager.bulk_create([clock(pk=1, seq=0)], ignore_conflicts=True)
        return clock_next(clock)
    return int(row[0])
