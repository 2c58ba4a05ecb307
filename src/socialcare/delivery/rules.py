"""Service delivery rules, pure (no database): codes, validation, the episode window and renewals,
pathway steps and the flexible fund limits.

Episodes (seed 002_9f9b125fbb7ccb6a.txt, MARC / BlueKC): "a case rate (bundled payment) for the case
management services for up to three months, with an option for approved renewal periods". An episode
runs ``period_days`` (the contract's maximum, 90 by default, the bundled term's ``episode_days``) from its
start, both ends included, so its first period ends on ``start + period_days - 1``, the day the payments
engine takes as the episode's end. Each approved renewal adds one more period of the same length, starting
the day after the previous one ends. A renewal is requested by the delivering organization and approved
or denied by the plan; only approved periods are paid, and at most ``max_renewals`` of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

import yaml

from socialcare.core.errors import InvalidInput, Problem
from socialcare.core.money import has_at_most_cents
from socialcare.kit.codes import npi_valid

DEFAULT_PERIOD_DAYS = 90  # "up to three months" (MARC case rate)

# ---- codes -----------------------------------------------------------------------------------

# CMS place of service codes a CBO uses (docs/standards.md §5.3).
PLACES_OF_SERVICE: dict[str, str] = {
    "12": "Home",
    "11": "Office",
    "02": "Telehealth (not in the member's home)",
    "10": "Telehealth in the member's home",
    "04": "Homeless shelter",
    "15": "Mobile unit",
    "16": "Temporary lodging",
    "27": "Outreach site / street",
    "99": "Other place of service",
}

ENGAGEMENT_KINDS: dict[str, str] = {
    "home_visit": "Home visit",
    "community_visit": "Visit at a community site",
}

# The flexible member fund's usual categories (seed 002: "a gift card or directly purchase goods for the
# member, such as food, utilities, gas or a taxi voucher"); a contract's flex_funds term may list others.
FLEX_CATEGORIES: dict[str, str] = {
    "gift_card": "Gift card",
    "utilities": "Utilities",
    "transport_voucher": "Transport voucher (gas, taxi, bus)",
    "food": "Food",
    "goods": "Goods purchased for the member",
}

# HCPCS Level II (letter + 4 digits) or CPT (5 digits, or 4 digits + F/T/U), then up to four 2-character
# modifiers separated by '-' or ':' (S5170-U6, T1016-U8-GQ).
_CODE_RE = re.compile(r"^([A-Z]\d{4}|\d{4}[0-9FTU])((?:[-:][A-Z0-9]{2}){0,4})$")
_ZCODE_RE = re.compile(r"^Z\d{2}(\.[0-9A-Z]{1,4})?$")


@dataclass(frozen=True)
class ServiceCode:
    hcpcs: str
    modifiers: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return "-".join((self.hcpcs, *self.modifiers))

    @property
    def modifier_text(self) -> str | None:
        return ":".join(self.modifiers) or None


def parse_service_code(raw: str) -> ServiceCode:
    """'s5170-u6' -> ServiceCode('S5170', ('U6',)). ValueError when it is not a HCPCS/CPT code."""
    text = (raw or "").strip().upper().replace(" ", "")
    m = _CODE_RE.match(text)
    if not m:
        raise ValueError(f"'{raw}' is not a HCPCS or CPT code with optional modifiers (e.g. S5170-U6)")
    mods = tuple(x for x in re.split(r"[-:]", m.group(2)) if x)
    return ServiceCode(m.group(1), mods)


def code_offered(offered: str | None, entered: ServiceCode) -> bool:
    """The entered code is the service's code, possibly with extra modifiers (GQ for telehealth...)."""
    if not offered:
        return False
    try:
        o = parse_service_code(offered)
    except ValueError:
        return False
    return o.hcpcs == entered.hcpcs and all(m in entered.modifiers for m in o.modifiers)


def normalize_z_code(raw: str | None) -> str | None:
    """'z5941' -> 'Z59.41'; ValueError when it is not an ICD-10-CM Z code."""
    if raw is None or not raw.strip():
        return None
    t = raw.strip().upper()
    if "." not in t and len(t) > 3:
        t = t[:3] + "." + t[3:]
    if not _ZCODE_RE.match(t):
        raise ValueError(f"'{raw}' is not an ICD-10-CM Z code (social determinants are Z55-Z65, e.g. Z59.41)")
    return t


# ---- service records -------------------------------------------------------------------------


@dataclass
class ServiceRecordInput:
    """What a user enters; checked by validate_service_record before anything is written."""

    member_id: int | None
    service_id: int | None
    service_date: date | None
    units: int | None
    place_of_service: str | None = "12"
    service_code: str | None = None
    diagnosis_code: str | None = None
    referral_id: int | None = None
    note: str | None = None
    staff_user_id: int | None = None
    rendering_npi: str | None = None  # the individual who delivered it, when they have an NPI
    contract_id: int | None = None  # a person's choice when several contracts could cover it


@dataclass(frozen=True)
class CheckedServiceRecord:
    code: ServiceCode | None
    place_of_service: str
    diagnosis_code: str | None


def validate_service_record(
    data: ServiceRecordInput, *, today: date, offered_code: str | None, row: int | None = None,
    file: str | None = None,
) -> tuple[CheckedServiceRecord | None, list[Problem]]:
    """Field checks (scoping and the service's organization are checked by the service layer).

    The code defaults to the service's own code; a service without a billing code records none."""
    problems: list[Problem] = []

    def bad(fld: str, msg: str) -> None:
        problems.append(Problem(msg, field=fld, row=row, file=file))

    if data.member_id is None:
        bad("member_id", "which member received the service?")
    if data.service_id is None:
        bad("service_id", "which service was delivered?")
    if data.service_date is None:
        bad("service_date", "the service date is required")
    elif data.service_date > today:
        bad("service_date", f"{data.service_date} is in the future; record a service once it is delivered")
    elif data.service_date < today - timedelta(days=3 * 366):
        bad("service_date", f"{data.service_date} is more than three years ago")
    if data.units is None:
        bad("units", "the number of units is required")
    elif isinstance(data.units, bool) or not isinstance(data.units, int):
        bad("units", "units must be a whole number")
    elif data.units <= 0:
        bad("units", "units must be at least 1")
    elif data.units > 9999:
        bad("units", f"{data.units} units in one record is not plausible (at most 9,999)")
    pos = (data.place_of_service or "").strip()
    if pos not in PLACES_OF_SERVICE:
        bad("place_of_service", f"'{pos}' is not a place of service code we accept "
            f"({', '.join(f'{k} {v}' for k, v in PLACES_OF_SERVICE.items())})")
    code: ServiceCode | None = None
    raw = (data.service_code or "").strip() or (offered_code or "")
    if raw:
        try:
            code = parse_service_code(raw)
        except ValueError as exc:
            bad("service_code", str(exc))
        else:
            if data.service_id is not None and not code_offered(offered_code, code):
                if offered_code:
                    bad("service_code", f"{code.text} is not the code of this service ({offered_code})")
                else:
                    bad("service_code", "this service has no billing code in the directory; leave the code empty")
    dx = None
    try:
        dx = normalize_z_code(data.diagnosis_code)
    except ValueError as exc:
        bad("diagnosis_code", str(exc))
    if data.note and len(data.note) > 2000:
        bad("note", "the note is longer than 2,000 characters")
    if data.rendering_npi and not npi_valid(data.rendering_npi.strip()):
        bad("rendering_npi", f"'{data.rendering_npi}' is not a valid 10-digit NPI (check digit)")
    if problems:
        return None, problems
    return CheckedServiceRecord(code=code, place_of_service=pos, diagnosis_code=dx), []


# ---- care episodes ---------------------------------------------------------------------------


class EpisodeStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    CLOSED_EARLY = "closed-early"


EPISODE_STATUS_LABELS = {
    EpisodeStatus.ACTIVE: "Active",
    EpisodeStatus.COMPLETED: "Completed",
    EpisodeStatus.CLOSED_EARLY: "Closed early",
}


class RenewalStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    DENIED = "denied"


@dataclass(frozen=True)
class RenewalState:
    sequence: int
    period_start: date
    period_end: date
    status: str


def period_end(start: date, period_days: int) -> date:
    """Last day of a period of ``period_days`` days beginning on ``start`` (both ends included)."""
    if period_days < 1:
        raise ValueError("a period is at least one day")
    return start + timedelta(days=period_days - 1)


def planned_end(start: date, period_days: int, approved_renewals: int) -> date:
    """End of the initial period plus every approved renewal period."""
    return period_end(start, period_days * (1 + approved_renewals))


def next_renewal_period(start: date, period_days: int, renewals: list[RenewalState]) -> tuple[date, date]:
    """The period a new renewal request would cover: the day after the last approved period ends."""
    approved = sum(1 for r in renewals if r.status == RenewalStatus.APPROVED)
    begin = planned_end(start, period_days, approved) + timedelta(days=1)
    return begin, period_end(begin, period_days)


def renewal_refusal(status: str, period_days: int, start: date, renewals: list[RenewalState],
                    max_renewals: int | None, on: date) -> str | None:
    """Why a renewal cannot be requested now (None when it can)."""
    if status != EpisodeStatus.ACTIVE:
        return "only an active episode can be renewed"
    if any(r.status == RenewalStatus.REQUESTED for r in renewals):
        return "a renewal is already waiting for the plan's decision"
    approved = sum(1 for r in renewals if r.status == RenewalStatus.APPROVED)
    if max_renewals is not None and approved >= max_renewals:
        return f"the contract allows at most {max_renewals} renewal{'s' if max_renewals != 1 else ''}"
    if on < start:
        return "the episode has not started yet"
    end = planned_end(start, period_days, approved)
    if on > end:
        return f"the episode's current period ended on {end}; open a new episode instead"
    return None


def decision_refusal(renewal_status: str, episode_status: str) -> str | None:
    if renewal_status != RenewalStatus.REQUESTED:
        return f"this renewal was already {renewal_status}"
    if episode_status != EpisodeStatus.ACTIVE:
        return "the episode is closed"
    return None


def close_status(start: date, planned: date, actual_end: date) -> EpisodeStatus:
    """An episode closed on or after its planned end is completed; before it, closed early."""
    if actual_end < start:
        raise ValueError("an episode cannot end before it starts")
    return EpisodeStatus.COMPLETED if actual_end >= planned else EpisodeStatus.CLOSED_EARLY


def paid_periods(start: date, period_days: int, renewals: list[RenewalState],
                 max_renewals: int | None) -> list[tuple[str, date, bool]]:
    """(kind, period start, approved) for the initial period and each renewal, in order.

    Denied or pending renewals are listed as not approved; approved renewals beyond ``max_renewals``
    cannot exist (renewal_refusal stops them), so every approved one is paid."""
    out: list[tuple[str, date, bool]] = [("initial", start, True)]
    for r in sorted(renewals, key=lambda r: r.sequence):
        out.append(("renewal", r.period_start, r.status == RenewalStatus.APPROVED))
    if max_renewals is not None:
        n = 0
        capped = []
        for kind, day, ok in out:
            if kind == "renewal" and ok:
                n += 1
                ok = n <= max_renewals
            capped.append((kind, day, ok))
        out = capped
    return out


# ---- pathways --------------------------------------------------------------------------------

PATHWAYS_FILE = Path(__file__).with_name("pathways.yaml")


class PathwayStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    FINISHED_INCOMPLETE = "finished-incomplete"


PATHWAY_STATUS_LABELS = {
    PathwayStatus.OPEN: "Open",
    PathwayStatus.COMPLETED: "Completed",
    PathwayStatus.FINISHED_INCOMPLETE: "Finished incomplete",
}


@dataclass(frozen=True)
class StepDef:
    code: str
    label: str
    benchmark: int | None = None


@dataclass(frozen=True)
class PathwayDef:
    code: str
    name: str
    need_domain: str
    obu: Decimal  # default weight; the contract's terms decide what is paid
    outcome: str
    steps: tuple[StepDef, ...]

    def step(self, code: str) -> StepDef | None:
        return next((s for s in self.steps if s.code == code), None)


@dataclass(frozen=True)
class PathwayCatalog:
    pathways: tuple[PathwayDef, ...]
    file: str = ""
    by_code: dict[str, PathwayDef] = field(default_factory=dict, compare=False, hash=False)

    def get(self, code: str) -> PathwayDef:
        try:
            return self.by_code[code]
        except KeyError:
            raise InvalidInput(f"'{code}' is not a pathway", [
                Problem(f"unknown pathway (known: {', '.join(self.by_code)})", field="pathway_code")]) from None


def _steps(raw, file: str, where: str, problems: list[Problem]) -> tuple[StepDef, ...]:
    out = []
    if not isinstance(raw, list) or not raw:
        problems.append(Problem("steps are a non-empty list", field=where, file=file))
        return ()
    for i, s in enumerate(raw):
        if not isinstance(s, dict) or not s.get("code") or not s.get("label"):
            problems.append(Problem("a step needs a code and a label", field=f"{where}[{i}]", file=file))
            continue
        bm = s.get("benchmark")
        if bm is not None and bm not in (1, 2, 3):
            problems.append(Problem("benchmark is 1, 2, 3 or empty", field=f"{where}[{i}].benchmark", file=file))
        out.append(StepDef(str(s["code"]), str(s["label"]), bm))
    codes = [s.code for s in out]
    if len(set(codes)) != len(codes):
        problems.append(Problem("a step code is used twice", field=where, file=file))
    if out and out[-1].benchmark != 3:
        problems.append(Problem("the last step must confirm the outcome (benchmark 3)", field=where, file=file))
    return tuple(out)


def parse_pathways(text: str, file: str = "pathways.yaml") -> PathwayCatalog:
    """Read the pathway reference data; InvalidInput naming the field for anything wrong."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{file} is not valid YAML", [Problem(str(exc), file=file)]) from None
    problems: list[Problem] = []
    if not isinstance(data, dict) or not isinstance(data.get("pathways"), list):
        raise InvalidInput(f"{file}: no pathways", [Problem("a mapping with 'pathways:' is expected", file=file)])
    default = _steps(data.get("default_steps"), file, "default_steps", problems)
    out: list[PathwayDef] = []
    for i, p in enumerate(data["pathways"]):
        where = f"pathways[{i}]"
        if not isinstance(p, dict):
            problems.append(Problem("a pathway is a mapping", field=where, file=file))
            continue
        missing = [k for k in ("code", "name", "obu") if p.get(k) in (None, "")]
        if missing:
            problems.append(Problem(f"missing {', '.join(missing)}", field=where, file=file))
            continue
        if isinstance(p["obu"], float):
            obu = Decimal(str(p["obu"]))  # YAML 1.5 is a float; weights are small exact numbers
        else:
            obu = Decimal(p["obu"])
        if obu < 0:
            problems.append(Problem("obu must not be negative", field=f"{where}.obu", file=file))
        steps = _steps(p["steps"], file, f"{where}.steps", problems) if "steps" in p else default
        out.append(PathwayDef(str(p["code"]), str(p["name"]), str(p.get("need_domain") or "care_management"),
                              obu, str(p.get("outcome") or ""), steps))
    codes = [p.code for p in out]
    dupes = sorted({c for c in codes if codes.count(c) > 1})
    if dupes:
        problems.append(Problem(f"pathway code used twice: {', '.join(dupes)}", field="pathways", file=file))
    if problems:
        raise InvalidInput(f"The pathways in {file} were refused", problems)
    return PathwayCatalog(tuple(out), file, {p.code: p for p in out})


@lru_cache
def pathway_catalog(path: str | None = None) -> PathwayCatalog:
    p = Path(path) if path else PATHWAYS_FILE
    return parse_pathways(p.read_text(encoding="utf-8"), str(p.name if not path else p))


def name_key(name: str) -> str:
    """'Food Security', 'food_security', 'food-security' -> 'food security' (matching contract terms)."""
    return re.sub(r"[\s_-]+", " ", name.strip().lower())


def step_refusal(p: PathwayDef, done: dict[str, date], step_code: str, on: date, status: str,
                 today: date) -> str | None:
    """Why ``step_code`` cannot be recorded as done on ``on`` (None when it can).

    Steps go in order: each needs the previous one, on the same day or later; the final step
    (benchmark 3) is recorded by confirming completion, not as an ordinary step."""
    if status != PathwayStatus.OPEN:
        return "the pathway is closed"
    s = p.step(step_code)
    if s is None:
        return f"'{step_code}' is not a step of the {p.name} pathway ({', '.join(x.code for x in p.steps)})"
    if step_code in done:
        return f"'{s.label}' was already recorded on {done[step_code]}"
    if on > today:
        return "a step is recorded once it happened, not in the future"
    idx = p.steps.index(s)
    if idx > 0:
        prev = p.steps[idx - 1]
        if prev.code not in done:
            return f"record '{prev.label}' first"
        if on < done[prev.code]:
            return f"'{s.label}' cannot be before '{prev.label}' ({done[prev.code]})"
    return None


def next_step(p: PathwayDef, done: dict[str, date]) -> StepDef | None:
    for s in p.steps:
        if s.code not in done:
            return s
    return None


def completion_refusal(p: PathwayDef, done: dict[str, date], status: str, on: date, today: date) -> str | None:
    """A completed pathway: every step before the outcome done, and the outcome confirmed on ``on``."""
    if status != PathwayStatus.OPEN:
        return "the pathway is already closed"
    final = p.steps[-1]
    missing = [s.label for s in p.steps[:-1] if s.code not in done]
    if missing:
        return f"not every step is done: {', '.join(missing)}"
    if on > today:
        return "completion is confirmed once the outcome happened, not in the future"
    last = max(done.values()) if done else None
    if last and on < last:
        return f"'{final.label}' cannot be before the last step ({last})"
    return None


def benchmarks_reached(p: PathwayDef, done: dict[str, date]) -> list[int]:
    return sorted(s.benchmark for s in p.steps if s.benchmark and s.code in done)


# ---- flexible member fund --------------------------------------------------------------------


def validate_disbursement(amount: Decimal | None, category: str | None, on: date | None, today: date,
                          categories: list[str] | None = None) -> list[Problem]:
    problems: list[Problem] = []
    if amount is None:
        problems.append(Problem("the amount is required", field="amount"))
    elif amount <= 0:
        problems.append(Problem("the amount must be more than $0.00", field="amount"))
    elif not has_at_most_cents(amount):
        problems.append(Problem("the amount has more than two decimals", field="amount"))
    allowed = categories or list(FLEX_CATEGORIES)
    if not category or category not in allowed:
        problems.append(Problem(f"category is one of {', '.join(allowed)}", field="category"))
    if on is None:
        problems.append(Problem("the disbursement date is required", field="disbursed_on"))
    elif on > today:
        problems.append(Problem(f"{on} is in the future; record a disbursement once it is made",
                                field="disbursed_on"))
    return problems
