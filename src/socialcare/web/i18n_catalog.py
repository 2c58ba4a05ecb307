"""The translatable messages: those Babel extracts from the templates the Spanish catalogue must
cover, plus the labels that reach a template as data (statuses, steps, channels, need domains,
screening questions and answers), which no extractor can see.

    python -m socialcare.web.i18n_catalog            # lists what es.po lacks
    python -m socialcare.web.i18n_catalog --update   # adds the missing msgids (empty) to es.po

``tests/web/test_i18n.py`` fails while any of them has no Spanish.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.extract import extract_from_file

from socialcare.web.localization import LOCALE_DIR

TEMPLATES = Path(__file__).resolve().parent / "templates"
# the CBO worker's screens and the member-facing screening: complete in Spanish
COVERED_TEMPLATES = (
    "base.html", "_macros.html", "_pickers.html", "_pick_results.html", "home.html",
    "referrals/list.html", "referrals/_row.html", "referrals/detail.html",
    "delivery/service_form.html", "delivery/services.html", "delivery/_tabs.html", "delivery/_problems.html",
    "notifications/inbox.html", "notifications/settings.html", "screening/form.html",
)
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}


def template_messages(names=COVERED_TEMPLATES) -> dict[str, str]:
    """msgid -> where it is (template:line)."""
    found: dict[str, str] = {}
    for name in names:
        for lineno, message, _comments, _context in extract_from_file("jinja2", TEMPLATES / name,
                                                                      options=JINJA_OPTIONS):
            for msg in (message if isinstance(message, tuple) else (message,)):
                if msg:
                    found.setdefault(msg, f"{name}:{lineno}")
    return found


def data_messages() -> dict[str, str]:
    """Labels shown through ``_(value)``: code lists and screening instruments."""
    from socialcare.delivery.rules import PLACES_OF_SERVICE
    from socialcare.kit.codes import NEED_DOMAINS
    from socialcare.notifications.rules import KINDS
    from socialcare.referrals import pages as referral_pages
    from socialcare.referrals import rules as r
    from socialcare.screening import rules as screening_rules
    from socialcare.security.rules import ROLE_LABELS

    found: dict[str, str] = {}

    def add(values, where):
        for v in values:
            if v:
                found.setdefault(str(v), where)

    add(r.STATUS_LABELS.values(), "referrals.rules.STATUS_LABELS")
    add(r.BUSINESS_STATUSES.values(), "referrals.rules.BUSINESS_STATUSES")
    add(r.CHANNELS.values(), "referrals.rules.CHANNELS")
    add(r.OUTREACH_RESULTS.values(), "referrals.rules.OUTREACH_RESULTS")
    add(r.CONSENT_SCOPES.values(), "referrals.rules.CONSENT_SCOPES")
    add(r.ESCALATION_CATEGORIES.values(), "referrals.rules.ESCALATION_CATEGORIES")
    add(r.PRIORITIES, "referrals.rules.PRIORITIES")
    add((a.label for a in r.ACTIONS.values()), "referrals.rules.ACTIONS")
    add(referral_pages.ACTION_HINTS.values(), "referrals.pages.ACTION_HINTS")
    add(referral_pages.SORTS.values(), "referrals.pages.SORTS")
    add(("First outreach", "Contact with the member", "Service start", "open", "closed", "resolved",
         "in-progress", "verbal", "written", "electronic"), "referrals.pages")
    add((d.label for d in NEED_DOMAINS.values()), "kit.codes.NEED_DOMAINS")
    add(PLACES_OF_SERVICE.values(), "delivery.rules.PLACES_OF_SERVICE")
    add(KINDS.values(), "notifications.rules.KINDS")
    add(ROLE_LABELS.values(), "security.rules.ROLE_LABELS")
    for inst in screening_rules.instruments().values():
        add([inst.name], f"screening:{inst.code}")
        for item in inst.items:
            add([item.text], f"screening:{inst.code}:{item.loinc}")
            add((a.text for a in item.answers), f"screening:{inst.code}:{item.loinc}")
    return found


def required_messages() -> dict[str, str]:
    return {**data_messages(), **template_messages()}


def catalog_path(lang: str = "es") -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"


def missing(lang: str = "es") -> dict[str, str]:
    from babel.messages.pofile import read_po

    path = catalog_path(lang)
    translated: set[str] = set()
    if path.exists():
        with path.open("rb") as fh:
            for m in read_po(fh, locale=lang):
                if m.id and m.string and not m.fuzzy:
                    translated.add(m.id if isinstance(m.id, str) else m.id[0])
    return {k: v for k, v in required_messages().items() if k not in translated}


def main(argv: list[str]) -> int:
    lack = missing()
    if "--update" in argv:
        from babel.messages.pofile import read_po, write_po

        path = catalog_path()
        with path.open("rb") as fh:
            cat = read_po(fh, locale="es")
        for msgid, where in lack.items():
            if msgid not in cat:
                cat.add(msgid, "", auto_comments=[where])
        with path.open("wb") as fh:
            write_po(fh, cat, width=110)
    for msgid, where in lack.items():
        print(f"{where}\t{msgid}")
    return 1 if lack else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
