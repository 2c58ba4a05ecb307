"""Pure rules of the partnership workspace: proposal sections and responses, the guide's practices by
phase, stages of member interaction, the data-sharing matrix, barrier categories, business days, and
hiding member identities in shared notes. No database."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

# ---- co-authored contracts ----------------------------------------------------------------------

SECTIONS = {
    "vision": "Shared vision",
    "scope": "Scope of work",
    "goals": "Goals (measure targets)",
    "terms": "Terms (payment terms and end date)",
    "contacts": "Contacts and escalation pathway",
}
RESPONSES = {"accept": "accepted", "counter": "countered", "decline": "declined"}
PROPOSAL_STATUSES = ("open", "accepted", "countered", "declined", "withdrawn")

EXPECTATION_ABOUT = {
    "partner": "Of the partner",
    "partnership": "Of the partnership",
    "program": "Of the program",
}

# ---- the guide's lifecycle practices --------------------------------------------------------------

PHASES = ("shared_vision", "scoping", "pre_launch", "implementation", "renewal")


@dataclass(frozen=True)
class PracticeKind:
    label: str
    phase: str
    purpose: str


PRACTICES: dict[str, PracticeKind] = {
    "site_visit": PracticeKind("Site visit", "shared_vision",
                               "Visit each other's sites; record what you saw and the member stories heard (de-identified)."),
    "teaming": PracticeKind("Teaming event", "shared_vision",
                            "Staff of both parties meet to learn each other's work and culture."),
    "co_design": PracticeKind("Co-design session", "scoping",
                              "Design the program together; define who does what at each stage of member interaction."),
    "data_strategy": PracticeKind("Data systems strategy session", "scoping",
                                  "Agree what data moves between the parties, how, how often and under which standard."),
    "security_review": PracticeKind("Data security review", "pre_launch",
                                    "Review the partner's data security; recurs on the contract's cadence."),
    "comm_plan": PracticeKind("Member communication plan", "pre_launch",
                              "Which party contacts the member, how and when, so a member is not called by three parties."),
    "sunset": PracticeKind("Sunset plan", "renewal",
                           "If the contract ends: the message to each member (in their language) and the members with open work."),
    "lessons": PracticeKind("Lessons learned", "implementation", "What worked, what did not, what to change."),
    "celebration": PracticeKind("Celebration", "implementation", "Milestones reached together, recorded and shared."),
}
PRACTICE_STATUSES = {"planned": "Planned", "done": "Done", "closed": "Closed"}
PARTIES = {"plan": "Plan", "partner": "Partner", "both": "Both"}

STAGES = {
    "identification": "Identification",
    "engagement": "Engagement",
    "enrollment": "Enrollment",
    "service_provision": "Service provision",
    "completion": "Completion",
}

MATRIX_DIRECTIONS = {"to_partner": "Plan → partner", "to_plan": "Partner → plan", "both": "Both ways"}
MATRIX_MODES = {"file": "File", "fhir": "FHIR", "portal": "Portal"}
MATRIX_STANDARDS = ("Z code", "HCPCS", "CPT", "LOINC", "ICD-10-CM", "SNOMED CT", "none")

# ---- escalations ------------------------------------------------------------------------------

BARRIERS = {
    "prior_authorization": "Prior authorization",
    "eligibility": "Eligibility",
    "policy": "Policy",
    "capacity": "Capacity",
    "communication": "Communication",
    "other": "Other",
}


# ---- business days ------------------------------------------------------------------------------


def add_business_days(start: datetime, days: int) -> datetime:
    """``days`` working days (Monday to Friday) after ``start``, at the same time of day: a Friday plus
    3 business days is the next Wednesday. A start on a weekend counts from the next Monday's start."""
    current = start
    if current.weekday() >= 5:  # Saturday or Sunday: the clock starts Monday 00:00
        current = (current + timedelta(days=7 - current.weekday())).replace(hour=0, minute=0, second=0,
                                                                             microsecond=0)
    added = 0
    while added < days:
        current += timedelta(days=1)
        if current.weekday() < 5:
            added += 1
    return current


def add_time(start: datetime, within: int, unit: str) -> datetime:
    if unit == "hours":
        return start + timedelta(hours=within)
    if unit == "business_days":
        return add_business_days(start, within)
    return start + timedelta(days=within)


def describe_timing(milestone: str, within: int, unit: str) -> str:
    units = {"hours": "hour", "days": "day", "business_days": "business day"}[unit]
    return f"{milestone} within {within} {units}{'' if within == 1 else 's'}"


_TIMING_TEXT = re.compile(
    r"(?P<milestone>outreach|contact|service)[^.;\d]*?(?P<n>\d+)\s*(?P<unit>business days?|days?|hours?)"
    r"|(?P<n2>\d+)\s*(?P<unit2>business days?|days?|hours?)\s*(?:to|for)\s*(?P<milestone2>outreach|contact|service)",
    re.I)


def parse_timing(text: str) -> list[tuple[str, int, str]]:
    """Timing expectations written in words, e.g. "3 business days to contact" or "First contact within
    2 business days": [(milestone, n, unit)]."""
    found = []
    for m in _TIMING_TEXT.finditer(text or ""):
        milestone = (m.group("milestone") or m.group("milestone2")).lower()
        n = int(m.group("n") or m.group("n2"))
        unit = (m.group("unit") or m.group("unit2")).lower()
        unit = "business_days" if unit.startswith("business") else "hours" if unit.startswith("hour") else "days"
        found.append((milestone, n, unit))
    return found


# ---- identities in shared notes -----------------------------------------------------------------


def hide_identities(text: str, people: list[tuple[str, list[str]]]) -> str:
    """Replace each listed member's names and ids with their case label ("Case 2") in a note."""
    out = text or ""
    for label, tokens in people:
        for token in sorted({t for t in tokens if t and len(t) >= 2}, key=len, reverse=True):
            out = re.sub(rf"\b{re.escape(token)}\b", label, out, flags=re.I)
    return out


def security_review_due(last_review: date | None, every_months: int | None, start: date) -> date | None:
    """When the next data security review is due: a cadence after the last one, or at the start."""
    if not every_months:
        return None
    if last_review is None:
        return start
    month = last_review.month - 1 + every_months
    year = last_review.year + month // 12
    month = month % 12 + 1
    day = min(last_review.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31,
                                30, 31, 31, 30, 31, 30, 31][month - 1])
    return date(year, month, day)
