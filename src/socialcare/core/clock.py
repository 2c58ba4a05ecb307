"""One place for 'now' so tests can reason about time. Timestamps are stored in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return utcnow().date()


def as_utc(dt: datetime | None) -> datetime | None:
    """A stored timestamp as an aware UTC datetime (SQLite hands back naive ones)."""
    if dt is None:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
