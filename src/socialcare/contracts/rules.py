"""Pure contract logic (no database): the Scope of Work Checklist, the lifecycle, amendment diffs.

- The checklist is the guide's "Resource Guide: Scope of Work Checklist" (seed
  002_9f9b125fbb7ccb6a.txt), encoded row for row as data in ``checklist.yaml`` and evaluated against a
  scope of work document.
- The lifecycle is the guide's "Operationalizing Contracts": shared vision -> scoping -> pre-launch
  -> implementation -> renewal -> ended. Launch (pre-launch -> implementation) is blocked until every
  required pre-launch task is done or waived with a reason.
- An amendment's diff is field by field (dotted paths) plus a unified diff of a normalized YAML
  rendering of the version, so a reader sees exactly what changed.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from socialcare.core.errors import Conflict, InvalidInput, Problem

# ---- the checklist -----------------------------------------------------------------------------

CHECKLIST_FILE = Path(__file__).with_name("checklist.yaml")


@dataclass(frozen=True)
class ChecklistRow:
    id: str
    section: str
    item: str
    present: list[list[str]]
    add: str
    due_date: bool = False
    due_from: list[str] = field(default_factory=list)
    not_applicable_when: list[list[str]] = field(default_factory=list)
    not_applicable_note: str = ""


@dataclass(frozen=True)
class ChecklistResult:
    row: ChecklistRow
    present: bool
    not_applicable: bool
    due: date | None
    comment: str

    @property
    def answer(self) -> str:
        return "Yes" if self.present else "No"


@lru_cache
def checklist_definition() -> tuple[tuple[ChecklistRow, ...], tuple[ChecklistRow, ...]]:
    data = yaml.safe_load(CHECKLIST_FILE.read_text())
    rows = tuple(ChecklistRow(**r) for r in data["rows"])
    extra = tuple(ChecklistRow(**r) for r in data["also_recommended"])
    return rows, extra


def _filled(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return True  # an explicit yes or no is an answer
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, tuple)):
        return any(_filled(v) for v in value)
    if isinstance(value, dict):
        return any(_filled(v) for v in value.values())
    return True


def _walk(doc: Any, parts: list[str]) -> list[Any]:
    """All values at the path; [] when a segment is missing. `[*]` fans out over every list item."""
    if not parts:
        return [doc]
    head, rest = parts[0], parts[1:]
    name, _, selector = head.partition("[")
    value = doc.get(name) if isinstance(doc, dict) else None
    if not selector:
        return [] if value is None else _walk(value, rest)
    selector = selector.rstrip("]")
    items = value if isinstance(value, list) else []
    if selector == "*":
        if not items:
            return [None]  # "every item" of nothing is not filled in
        out: list[Any] = []
        for item in items:
            found = _walk(item, rest)
            out.extend(found if found else [None])
        return out
    key, _, wanted = selector.partition("=")
    matches = [i for i in items if isinstance(i, dict) and str(i.get(key)) == wanted and _filled(i)]
    return _walk(matches[0], rest) if matches else []


def path_holds(doc: dict, path: str) -> bool:
    negate = path.startswith("!")
    path = path.lstrip("!")
    cut = path.rfind("]") + 1  # a trailing "=value" compares; "=" inside [...] selects
    head, eq, expected = path[cut:].partition("=")
    path = path[:cut] + head
    values = _walk(doc, path.split("."))
    if eq:
        want: Any = {"true": True, "false": False, "null": None}.get(expected, expected)
        ok = bool(values) and all(v == want for v in values)
    else:
        ok = bool(values) and all(_filled(v) for v in values)
    return not ok if negate else ok


def _any_of(doc: dict, alternatives: list[list[str]]) -> bool:
    return any(all(path_holds(doc, p) for p in alt) for alt in alternatives)


def _due(doc: dict, paths: list[str]) -> date | None:
    dates = []
    for p in paths:
        for v in _walk(doc, p.split(".")):
            if isinstance(v, date):
                dates.append(v)
            elif isinstance(v, str) and v:
                try:
                    dates.append(date.fromisoformat(v))
                except ValueError:
                    pass
    return min(dates) if dates else None


def evaluate_row(doc: dict, row: ChecklistRow) -> ChecklistResult:
    if row.not_applicable_when and _any_of(doc, row.not_applicable_when):
        return ChecklistResult(row, True, True, None, f"Not applicable. {row.not_applicable_note}".strip())
    present = _any_of(doc, row.present)
    due = _due(doc, row.due_from) if row.due_from else None
    if not present:
        comment = f"Missing. Add: {row.add}"
    elif row.due_date and row.due_from and due is None:
        comment = "Present; no due date set."
    else:
        comment = ""
    return ChecklistResult(row, present, False, due, comment)


@dataclass(frozen=True)
class Checklist:
    rows: list[ChecklistResult]
    also_recommended: list[ChecklistResult]

    @property
    def missing(self) -> list[ChecklistResult]:
        return [r for r in self.rows if not r.present]

    @property
    def complete(self) -> bool:
        return not self.missing

    def sections(self) -> list[tuple[str, bool, list[ChecklistResult]]]:
        """(section, has a due date column, rows) in the guide's order."""
        out: list[tuple[str, bool, list[ChecklistResult]]] = []
        for r in self.rows:
            if not out or out[-1][0] != r.row.section:
                out.append((r.row.section, r.row.due_date, []))
            out[-1][2].append(r)
        return out


def checklist(scope_of_work: dict) -> Checklist:
    """The guide's Scope of Work Checklist generated from a scope of work (a JSON-mode dict)."""
    rows, extra = checklist_definition()
    return Checklist([evaluate_row(scope_of_work, r) for r in rows], [evaluate_row(scope_of_work, r) for r in extra])


# ---- the lifecycle -----------------------------------------------------------------------------


class Phase(StrEnum):
    SHARED_VISION = "shared_vision"
    SCOPING = "scoping"
    PRE_LAUNCH = "pre_launch"
    IMPLEMENTATION = "implementation"
    RENEWAL = "renewal"
    ENDED = "ended"


PHASE_LABELS = {
    Phase.SHARED_VISION: "Shared vision",
    Phase.SCOPING: "Scoping",
    Phase.PRE_LAUNCH: "Pre-launch",
    Phase.IMPLEMENTATION: "Implementation",
    Phase.RENEWAL: "Renewal",
    Phase.ENDED: "Ended",
}

PHASE_PURPOSE = {
    Phase.SHARED_VISION: "Why each party invests in the partnership and what shared success looks like.",
    Phase.SCOPING: "Translate the shared vision into the scope of work and payment terms.",
    Phase.PRE_LAUNCH: "Credentialing, trainings, data security review, technology onboarding and workflow tests before services begin.",
    Phase.IMPLEMENTATION: "Services are delivered; the joint operating committee reviews data and improves the program.",
    Phase.RENEWAL: "Reflect on volumes, measures and payments; decide what to adjust, scale or sunset.",
    Phase.ENDED: "The contract has ended.",
}

TRANSITIONS: dict[Phase, set[Phase]] = {
    Phase.SHARED_VISION: {Phase.SCOPING, Phase.ENDED},
    Phase.SCOPING: {Phase.SHARED_VISION, Phase.PRE_LAUNCH, Phase.ENDED},
    Phase.PRE_LAUNCH: {Phase.SCOPING, Phase.IMPLEMENTATION, Phase.ENDED},
    Phase.IMPLEMENTATION: {Phase.RENEWAL, Phase.ENDED},
    Phase.RENEWAL: {Phase.IMPLEMENTATION, Phase.ENDED},
    Phase.ENDED: set(),
}

# The guide's pre-launch tasks ("Operationalizing Contracts": credentialing of CBO staff; staff
# trainings; data security reviews; onboarding technology; development and testing of workflows
# for referral, reporting and payment/billing; releasing pre-payment funds).
PRELAUNCH_TASKS: dict[str, tuple[str, str]] = {
    # key: (title, scope-of-work prelaunch field it comes from)
    "credentialing": ("Credentialing of CBO staff", "credentialing"),
    "staff_training": ("CBO and health plan staff trainings", "staff_training"),
    "data_security_review": ("Data security review", "data_security_review"),
    "technology_onboarding": ("Onboarding of technology access and interfaces", "technology_onboarding"),
    "referral_workflow_test": ("Referral and reporting workflow test", "workflow_testing"),
    "billing_workflow_test": ("Payment and billing workflow test", "workflow_testing"),
    "prepayment_release": ("Release of pre-payment funds for staffing and technology", "prepayment_release"),
}

TASK_STATUSES = ("open", "in_progress", "done", "waived")


@dataclass(frozen=True)
class TaskState:
    id: int
    title: str
    required: bool
    status: str
    waived_reason: str | None = None


def launch_blockers(tasks: list[TaskState]) -> list[str]:
    """Why the contract cannot launch yet: each required task neither done nor waived with a reason."""
    out = []
    for t in tasks:
        if not t.required:
            continue
        if t.status == "done":
            continue
        if t.status == "waived" and (t.waived_reason or "").strip():
            continue
        out.append(f"{t.title} is {t.status.replace('_', ' ')}" + (" (waived without a reason)" if t.status == "waived" else ""))
    return out


def check_transition(current: str, target: str, *, tasks: list[TaskState], checklist_complete: bool, note: str) -> None:
    """Refuse a phase change the lifecycle does not allow; say why."""
    try:
        cur, tgt = Phase(current), Phase(target)
    except ValueError:
        raise InvalidInput("Unknown phase", [Problem(f"'{target}' is not a phase", field="to_phase")]) from None
    if tgt not in TRANSITIONS[cur]:
        allowed = ", ".join(PHASE_LABELS[p] for p in sorted(TRANSITIONS[cur], key=list(Phase).index)) or "none"
        raise Conflict(f"A contract in {PHASE_LABELS[cur]} cannot move to {PHASE_LABELS[tgt]} (allowed: {allowed}).")
    if cur == Phase.SCOPING and tgt == Phase.PRE_LAUNCH and not checklist_complete:
        raise Conflict("The scope of work checklist still has missing items; complete them before pre-launch.")
    if cur == Phase.PRE_LAUNCH and tgt == Phase.IMPLEMENTATION:
        blockers = launch_blockers(tasks)
        if not tasks:
            raise Conflict("Launch is blocked: no pre-launch tasks are recorded.")
        if blockers:
            raise Conflict("Launch is blocked until required pre-launch tasks are done or waived with a reason: "
                           + "; ".join(blockers) + ".")
    if tgt == Phase.ENDED and not note.strip():
        raise InvalidInput("Say why the contract ends", [Problem("a note is required to end a contract", field="note")])


def add_months(day: date, months: int) -> date:
    y, m = divmod(day.year * 12 + day.month - 1 + months, 12)
    month_len = [31, 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return date(y, m + 1, min(day.day, month_len[m]))


def renewal_opens_on(end_date: date, window_months: int) -> date:
    return add_months(end_date, -window_months)


def renewal_due(phase: str, end_date: date, window_months: int, today: date) -> bool:
    return phase == Phase.IMPLEMENTATION and today >= renewal_opens_on(end_date, window_months)


# ---- amendments: readable diffs ----------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if _filled(v) or isinstance(v, bool)}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def version_document(*, start_date: date, end_date: date, services_covered: list, payment_terms_yaml: str,
                     scope_of_work: dict) -> dict:
    """What a version says, normalized (empty fields dropped) for comparison and display."""
    try:
        terms = yaml.safe_load(payment_terms_yaml) if payment_terms_yaml.strip() else None
    except yaml.YAMLError:
        terms = payment_terms_yaml
    return _plain({
        "term": {"start_date": start_date, "end_date": end_date},
        "services_covered": services_covered,
        "payment_terms": terms,
        "scope_of_work": scope_of_work,
    })


def render_yaml(doc: dict) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(_flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def changes(before: dict, after: dict) -> list[dict]:
    """Field-by-field changes between two version documents: [{path, before, after}]."""
    a, b = _flatten(before), _flatten(after)
    out = []
    for path in sorted(set(a) | set(b), key=lambda p: (p.split(".")[0], p)):
        if a.get(path) != b.get(path):
            out.append({"path": path, "before": a.get(path), "after": b.get(path)})
    return out


def unified_diff(before: dict, after: dict, v_from: int, v_to: int) -> str:
    return "".join(
        difflib.unified_diff(
            render_yaml(before).splitlines(keepends=True),
            render_yaml(after).splitlines(keepends=True),
            fromfile=f"version {v_from}",
            tofile=f"version {v_to}",
        )
    )
