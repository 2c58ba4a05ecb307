"""Pure rules for joint operating committee meetings.

The member story (seed 002, "Template: Joint operating committee meetings"): receive the member's
consent to share the story, and keep the member's identity anonymous. A story cannot be saved
while it carries the member's name, plan member id, birth date or phone number, or anything that
looks like an identifier (any date written like a birth date, any phone number, any id-like token).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_PHONE = re.compile(r"(?<!\d)(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?!\d)")
_DATE_NUMERIC = re.compile(r"(?<!\d)(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})(?!\d)")
_DATE_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_DATE_WORDS = re.compile(rf"\b(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b", re.IGNORECASE)
# an id-like token: letters+digits mixed, or a long run of digits (member ids, MRNs, SSNs)
_ID_LIKE = re.compile(r"\b(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z0-9]{6,}\b|\b\d{6,}\b|\b\d{3}-\d{2}-\d{4}\b")


@dataclass(frozen=True)
class StoryFinding:
    kind: str  # name, member_id, birth_date, phone, date, identifier
    text: str
    message: str


def _birth_date_forms(d: date) -> set[str]:
    return {
        d.isoformat(),
        f"{d.month}/{d.day}/{d.year}",
        f"{d.month:02d}/{d.day:02d}/{d.year}",
        f"{d.month}-{d.day}-{d.year}",
        f"{d.month:02d}-{d.day:02d}-{d.year}",
        f"{d.month}/{d.day}/{d.year % 100:02d}",
        f"{d.strftime('%B')} {d.day}, {d.year}".lower(),
        f"{d.strftime('%B')} {d.day} {d.year}".lower(),
    }


def check_member_story(
    story: str,
    *,
    first_name: str | None = None,
    last_name: str | None = None,
    member_id: str | None = None,
    birth_date: date | None = None,
    phone: str | None = None,
) -> list[StoryFinding]:
    """Everything in the story that could identify the member. Empty list = the story may be saved."""
    findings: list[StoryFinding] = []
    lowered = story.lower()
    words = set(re.findall(r"[a-z][a-z'-]+", lowered))
    for kind, value in (("name", first_name), ("name", last_name)):
        if value and value.lower() in words:
            findings.append(StoryFinding(kind, value, f"The story names the member ('{value}'); use a pseudonym."))
    if member_id and member_id.lower() in lowered:
        findings.append(StoryFinding("member_id", member_id, "The story contains the member's plan member id."))
    if birth_date:
        for form in _birth_date_forms(birth_date):
            if form in lowered:
                findings.append(StoryFinding("birth_date", form, "The story contains the member's birth date."))
                break
    if phone:
        digits = re.sub(r"\D", "", phone)[-10:]
        story_digits = re.sub(r"\D", "", story)
        if len(digits) == 10 and digits in story_digits:
            findings.append(StoryFinding("phone", phone, "The story contains the member's phone number."))
    for m in _PHONE.finditer(story):
        if not any(f.kind == "phone" for f in findings):
            findings.append(StoryFinding("phone", m.group(0), "The story contains a phone number."))
    for rx in (_DATE_NUMERIC, _DATE_ISO, _DATE_WORDS):
        for m in rx.finditer(story):
            if not any(f.kind in ("birth_date", "date") and f.text.lower() == m.group(0).lower() for f in findings):
                findings.append(
                    StoryFinding("date", m.group(0), "The story contains a full date; say 'last spring' instead.")
                )
    for m in _ID_LIKE.finditer(story):
        token = m.group(0)
        if member_id and token.lower() == member_id.lower():
            continue
        if _PHONE.fullmatch(token):
            continue
        findings.append(StoryFinding("identifier", token, f"'{token}' looks like an identifier; remove it."))
    return findings


# ---- the template's participants and agenda (seed 002, "Template: Joint operating committee meetings") ----

PARTICIPANT_ROLES: dict[str, tuple[str, bool]] = {
    # key: (label, core team?)
    "administrative_lead": ("Administrative lead", True),
    "programmatic_lead": ("Programmatic lead", True),
    "frontline_staff": ("Frontline staff", False),
    "medical_leadership": ("Medical leadership", False),
    "executive_sponsor": ("Executive sponsor", False),
    "cch_staff": ("Community care hub (CCH) staff", False),
    "technology_compliance": ("Technology and compliance staff", False),
    "data_analytics": ("Data and analytics", False),
}

AGENDA: tuple[tuple[str, str], ...] = (
    ("member_story", "Member story"),
    ("data_presentation", "Data presentation"),
    ("process_improvements", "Process improvements and program updates"),
    ("organizational_updates", "Organizational updates"),
)

# The template's topic areas and questions for "Process improvements and program updates".
PROCESS_QUESTIONS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("member_engagement", "Member engagement", (
        ("who_assigns", "Who is identifying and assigning members?"),
        ("how_engaged", "How are members being engaged in services?"),
        ("communication", "What are areas of improvement for member communication processes?"),
        ("higher_engagement", "What are areas of improvement or methods for driving higher engagement?"),
        ("marketing", "How can program marketing to members be adapted or improved?"),
    )),
    ("workflow", "Workflow enhancements", (
        ("bottlenecks", "Where are there bottlenecks in workflows between the CBO and health plan staff?"),
        ("escalation_pathway", "What areas of the escalation pathway should be made more effective?"),
    )),
    ("status_updates", "Status updates", (
        ("progress", "What progress has been made on the program or member concerns discussed in previous meetings?"),
    )),
    ("emerging_opportunities", "Emerging opportunities", (
        ("unexpected_outcomes", "What are unexpected outcomes of the program that can be turned into future work?"),
    )),
)
PROCESS_QUESTION_KEYS = frozenset(q for _, _, qs in PROCESS_QUESTIONS for q, _ in qs)

CADENCES = {"monthly": "Monthly", "biweekly": "Every two weeks", "quarterly": "Quarterly"}
MEETING_STATUSES = {"planned": "Planned", "held": "Held", "sent": "Notes sent"}
ACTION_STATUSES = {"open": "Open", "done": "Done", "dropped": "Dropped"}
CONSENT_METHODS = ("verbal", "written", "electronic")

STORY_GUIDANCE = (
    "Receive consent from the member to share their story at the gathering.",
    "Keep the member's identity anonymous.",
    "Use person-first, strengths-based language to describe the member and current situation.",
    "Take this as an opportunity to demonstrate the member's role in the community and the relationship "
    "they have cultivated with their care team.",
    "Anchor the story in how the program helped facilitate health improvements for the member.",
)


def carried_over(action_status: str, opened_on: date, closed_on: date | None, meeting_on: date) -> bool:
    """An action item appears on a meeting's agenda if opened before it and not closed before it."""
    return opened_on < meeting_on and (closed_on is None or closed_on >= meeting_on) and (
        action_status == "open" or closed_on is not None)
