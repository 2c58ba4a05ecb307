"""Languages and local time for pages and emails.

Translations are gettext catalogues under ``socialcare/locale/<lang>/LC_MESSAGES/messages.po``
(Babel). A compiled ``.mo`` is used when present; otherwise the ``.po`` is compiled in memory on first
use, so a clean clone works without a build step (``pybabel compile -d src/socialcare/locale`` makes
the ``.mo`` files; ``pybabel extract -F babel.cfg`` refreshes the template of messages).

Templates mark text with ``{% trans %}…{% endtrans %}`` or ``_("…")``; ``render`` picks the language
(the user's, or a member's for member-facing screens) for the duration of one rendering.

Every time shown goes through the ``datetime``/``date`` filters, which convert it to the
organization's time zone and name the zone ("2026-12-04 05:57 EST").
"""

from __future__ import annotations

import contextlib
import contextvars
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from functools import lru_cache
from gettext import NullTranslations
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DEFAULT_LANGUAGE = "en"
# interface languages, by their own name (a user picks "Español", never "es")
UI_LANGUAGES = {"en": "English", "es": "Español"}
# member languages (ISO 639-1, as stored) by name, for pickers and labels
LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "ar": "Arabic", "bn": "Bengali", "fr": "French", "ht": "Haitian Creole",
    "it": "Italian", "ko": "Korean", "my": "Burmese", "ne": "Nepali", "pl": "Polish", "pt": "Portuguese",
    "ru": "Russian", "so": "Somali", "sw": "Swahili", "uk": "Ukrainian", "vi": "Vietnamese", "zh": "Chinese",
    "yi": "Yiddish", "tl": "Tagalog", "fa": "Persian", "ps": "Pashto", "ur": "Urdu", "hi": "Hindi",
    "asl": "American Sign Language",
}
TIME_ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
              "America/Anchorage", "Pacific/Honolulu", "America/Puerto_Rico", "UTC")

_language: contextvars.ContextVar[str] = contextvars.ContextVar("socialcare_language", default=DEFAULT_LANGUAGE)
_time_zone: contextvars.ContextVar[str] = contextvars.ContextVar("socialcare_time_zone", default="UTC")


@lru_cache(maxsize=16)
def translations(lang: str) -> NullTranslations:
    base = LOCALE_DIR / lang / "LC_MESSAGES"
    mo, po = base / "messages.mo", base / "messages.po"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fh:
            return Translations(fh)
    if po.exists():
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        buf = io.BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        return Translations(buf)
    return NullTranslations()


def language_name(code: str | None) -> str:
    """'es' -> 'Spanish' (unknown codes shown as they are)."""
    if not code:
        return ""
    return LANGUAGE_NAMES.get(code.lower(), code)


def language_code(text: str | None) -> str | None:
    """'Spanish', 'spanish', 'es' or 'Español' -> 'es'; None when nothing matches."""
    if not text:
        return None
    t = text.strip().lower()
    if t in LANGUAGE_NAMES:
        return t
    for code, name in list(LANGUAGE_NAMES.items()) + list(UI_LANGUAGES.items()):
        if name.lower() == t or name.lower().startswith(t) and len(t) >= 3:
            return code
    return None


def current_language() -> str:
    return _language.get()


def gettext(message: str) -> str:
    return translations(_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_language.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return translations(_language.get()).pgettext(context, message)


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return translations(_language.get()).npgettext(context, singular, plural, n)


_ = gettext


@contextlib.contextmanager
def use(language: str | None = None, time_zone: str | None = None) -> Iterator[None]:
    """Render (a page, an email) in this language and time zone."""
    t1 = _language.set(language if language in UI_LANGUAGES else DEFAULT_LANGUAGE)
    t2 = _time_zone.set(time_zone or "UTC")
    try:
        yield
    finally:
        _language.reset(t1)
        _time_zone.reset(t2)


def set_for_render(language: str | None, time_zone: str | None) -> None:
    """For ``render``: the rendering runs in the request's thread right after; the next render resets it."""
    _language.set(language if language in UI_LANGUAGES else DEFAULT_LANGUAGE)
    _time_zone.set(time_zone or "UTC")


@lru_cache(maxsize=64)
def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def valid_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def local(dt: datetime | None, tz: str | None = None) -> datetime | None:
    """A stored (UTC) timestamp in the organization's zone; naive values are UTC (SQLite)."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(zone(tz or _time_zone.get()))


def format_datetime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M %Z", tz: str | None = None) -> str:
    if value is None:
        return ""
    if not isinstance(value, datetime):
        return value.strftime(fmt.replace(" %H:%M", "").replace(" %Z", ""))
    return local(value, tz).strftime(fmt if "%Z" in fmt else fmt + " %Z")


def format_date(value: date | datetime | None, fmt: str = "%b %d, %Y", tz: str | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = local(value, tz)
        if "%H" in fmt and "%Z" not in fmt:
            fmt += " %Z"
    return value.strftime(fmt)
