"""Date arithmetic that means the same on SQLite and PostgreSQL (SQLAlchemy custom constructs).

Measures compare calendar days (an intervention on day 30 counts, on day 31 it does not), so
timestamps are turned into UTC days, and durations into hours or days, the same way on both.
SQLite keeps timestamps as text in UTC ('YYYY-MM-DD HH:MM:SS.ffffff'); PostgreSQL as timestamptz.
"""

from __future__ import annotations

from sqlalchemy import Date, Float, Integer, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class day_of(FunctionElement):  # noqa: N801 (reads like SQL)
    """The UTC calendar day of a timestamp (or a date)."""

    type = Date()
    inherit_cache = True
    name = "day_of"


@compiles(day_of)
def _day_of_default(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(day_of, "postgresql")
def _day_of_pg(element, compiler, **kw):
    arg = compiler.process(element.clauses, **kw)
    return f"CAST(timezone('UTC', CAST({arg} AS timestamptz)) AS date)"


class _add_days(FunctionElement):  # noqa: N801
    type = Date()
    inherit_cache = True
    name = "add_days"


def add_days(day, n: int) -> _add_days:
    """day + n days. n is written into the SQL (a literal column is part of the statement's cache key)."""
    return _add_days(day, literal_column(str(int(n))))


@compiles(_add_days)
def _add_days_default(element, compiler, **kw):
    day, n = list(element.clauses)
    return f"date({compiler.process(day, **kw)}, '{int(n.name):+d} days')"


@compiles(_add_days, "postgresql")
def _add_days_pg(element, compiler, **kw):
    day, n = list(element.clauses)
    return f"(CAST({compiler.process(day, **kw)} AS date) + {int(n.name)})"


class days_between(FunctionElement):  # noqa: N801
    """later - earlier in whole days (both days)."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between)
def _days_between_default(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


@compiles(days_between, "postgresql")
def _days_between_pg(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CAST({later} AS date) - CAST({earlier} AS date))"


class hours_between(FunctionElement):  # noqa: N801
    """later - earlier in hours (fractional), for two timestamps."""

    type = Float()
    inherit_cache = True
    name = "hours_between"


@compiles(hours_between)
def _hours_between_default(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 24.0)"


@compiles(hours_between, "postgresql")
def _hours_between_pg(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 3600.0)"
