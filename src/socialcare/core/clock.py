"""One place for 'now' so tests can reason about time. Timestamps are stored in UTC.

The clock can be injected: ``set_clock(fn)`` in-process, or ``SOCIALCARE_CLOCK_FILE`` (tests only,
refused in production) naming a file that holds seconds to add to the real clock, so a test can move
time forward for a server and its workers running in other processes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

_clock: Callable[[], datetime] | None = None
_offset_cache: tuple[str, float, float] | None = None  # (path, mtime, seconds)


def set_clock(fn: Callable[[], datetime] | None) -> None:
    """Replace the clock (None: the real one again)."""
    global _clock
    _clock = fn


def _file_offset() -> float:
    global _offset_cache
    path = os.environ.get("SOCIALCARE_CLOCK_FILE")
    if not path:
        return 0.0
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return 0.0
    if _offset_cache and _offset_cache[0] == path and _offset_cache[1] == mtime:
        return _offset_cache[2]
    try:
        with open(path, encoding="utf-8") as fh:
            seconds = float(fh.read().strip() or 0)
    except (OSError, ValueError):
        return 0.0
    _offset_cache = (path, mtime, seconds)
    return seconds


def utcnow() -> datetime:
    if _clock is not None:
        return _clock()
    offset = _file_offset()
    now = datetime.now(UTC)
    return now + timedelta(seconds=offset) if offset else now


def today() -> date:
    return utcnow().date()


def as_utc(dt: datetime | None) -> datetime | None:
    """A stored timestamp as an aware UTC datetime (SQLite hands back naive ones)."""
    if dt is None:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
