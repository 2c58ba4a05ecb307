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


def parse_fhir_datetime(value: str) -> tuple[datetime, datetime]:
    """The instant range [start, end) a FHIR date/dateTime/instant search value stands for, in UTC.

    Every FHIR precision: ``2026``, ``2026-12``, ``2026-12-03``, ``2026-12-03T10:15``,
    ``2026-12-03T10:15:30`` and fractions of a second, with ``Z`` or any ``±hh:mm`` offset (converted to
    UTC); a value without an offset is read as UTC. Raises ValueError for anything else."""
    import re
    from datetime import timedelta

    v = value.strip()
    m = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?"
                     r"(Z|[+-]\d{2}:\d{2})?)?)?)?", v)
    if not m:
        raise ValueError(f"'{value}' is not a FHIR date, dateTime or instant")
    year, month, day, hour, minute, second, frac, tz = m.groups()
    if month is None:
        start = datetime(int(year), 1, 1, tzinfo=UTC)
        return start, start.replace(year=start.year + 1)
    if day is None:
        start = datetime(int(year), int(month), 1, tzinfo=UTC)
        end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
        return start, end
    if hour is None:
        start = datetime(int(year), int(month), int(day), tzinfo=UTC)
        return start, start + timedelta(days=1)
    offset = UTC
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        from datetime import timezone

        offset = timezone(sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6])))
    micro = int((frac or ".0")[1:7].ljust(6, "0"))
    local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, tzinfo=offset)
    start = local.astimezone(UTC)
    if second is None:
        step = timedelta(minutes=1)
    elif frac is None:
        step = timedelta(seconds=1)
    else:  # the precision given, at most a microsecond (what the databases keep)
        step = timedelta(microseconds=10 ** max(0, 6 - len(frac[1:])))
    return start, start + step


def parse_instant(value: str) -> datetime:
    """A FHIR instant/dateTime (any precision and offset) as an aware UTC datetime (its start)."""
    return parse_fhir_datetime(value)[0]
