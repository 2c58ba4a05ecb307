"""Screening instruments as data, and their scoring. Pure: no database.

Instruments live in screening/instruments/*.yaml (items with LOINC codes, LA answer codes, which
answers are positive, the Z code a positive answer records). Scoring follows each instrument's own
definition (docs/standards.md §3):

* AHC HRSN core (96777-8): a domain is positive if any of its items has a positive answer (housing =
  Q1 or Q2, food = Q3 or Q4); interpersonal safety is the HITS sum of Q7-10 (95614-4), positive
  when > 10, and scored only when all four items are answered.
* Hunger Vital Sign (88121-9): "Often" or "Sometimes true" to either item gives 88124-3 = LA19952-3
  (at risk); any other answer to either item gives LA19983-8 (no risk); nothing answered, no result
  (the IG Questionnaire's calculatedExpression: answeredEitherQ, riskStatus).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

INSTRUMENTS_DIR = Path(__file__).resolve().parent / "instruments"

ASKED_DECLINED = "asked-declined"
NOT_ASKED = "not-asked"


@dataclass(frozen=True)
class Answer:
    code: str
    text: str
    positive: bool = False
    value: int | None = None
    z_code: str | None = None
    sdoh_category: str | None = None


@dataclass(frozen=True)
class Item:
    loinc: str
    number: int
    text: str
    domain: str
    kind: str  # single | multiple | scored
    answers: tuple[Answer, ...]
    exclusive: tuple[str, ...] = ()
    score_group: str | None = None

    def answer(self, code: str) -> Answer | None:
        return next((a for a in self.answers if a.code == code), None)


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    panel_loinc: str
    items: tuple[Item, ...]
    score_groups: dict = field(default_factory=dict)
    result: dict | None = None

    def item(self, loinc: str) -> Item | None:
        return next((i for i in self.items if i.loinc == loinc), None)

    @property
    def domains(self) -> list[str]:
        seen: list[str] = []
        for i in self.items:
            if i.domain not in seen:
                seen.append(i.domain)
        return seen


def _load(path: Path) -> Instrument:
    raw = yaml.safe_load(path.read_text())
    items = tuple(
        Item(
            loinc=str(i["loinc"]),
            number=int(i["number"]),
            text=i["text"],
            domain=i["domain"],
            kind=i["kind"],
            answers=tuple(Answer(**a) for a in i["answers"]),
            exclusive=tuple(i.get("exclusive", ())),
            score_group=i.get("score_group"),
        )
        for i in raw["items"]
    )
    return Instrument(
        code=raw["code"], name=raw["name"], panel_loinc=str(raw["panel_loinc"]), items=items,
        score_groups=raw.get("score_groups") or {}, result=raw.get("result"),
    )


@cache
def instruments() -> dict[str, Instrument]:
    return {i.code: i for i in (_load(p) for p in sorted(INSTRUMENTS_DIR.glob("*.yaml")))}


def instrument(code: str) -> Instrument:
    try:
        return instruments()[code]
    except KeyError:
        raise ValueError(f"Unknown screening instrument '{code}'; one of: {', '.join(instruments())}.") from None


# ---- scoring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoredAnswer:
    item_loinc: str
    answer_code: str | None
    value_int: int | None
    positive: bool
    domain: str
    data_absent_reason: str | None = None


@dataclass(frozen=True)
class Need:
    domain: str
    z_code: str | None
    sdoh_category: str


@dataclass
class ScoreResult:
    instrument: str
    status: str  # completed | partial
    answers: list[ScoredAnswer]
    positive_domains: list[str]
    needs: list[Need]
    safety_score: int | None = None
    hvs_result: str | None = None  # LA19952-3 at risk | LA19983-8 no risk | None
    problems: list[str] = field(default_factory=list)


class ScreeningInputError(ValueError):
    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems  # (field = item LOINC, message)


def _codes(value) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return [v for v in value if v]


def score(instrument_code: str, responses: dict[str, str | list[str] | None],
          declined_items: set[str] | frozenset[str] = frozenset()) -> ScoreResult:
    """Score one administration. ``responses`` maps item LOINC -> LA code (a list for check-all items);
    items absent are not asked, ``declined_items`` were asked and declined. Invalid codes raise
    ScreeningInputError listing every bad item."""
    inst = instrument(instrument_code)
    problems: list[tuple[str, str]] = []
    known = {i.loinc for i in inst.items}
    for loinc in responses:
        if loinc not in known:
            problems.append((loinc, f"not an item of {inst.name}"))
    scored: list[ScoredAnswer] = []
    positive_by_domain: dict[str, Need] = {}
    group_values: dict[str, list[int | None]] = {}
    answered_any = False
    complete = True
    for item in inst.items:
        codes = _codes(responses.get(item.loinc))
        if not codes:
            complete = False
            reason = ASKED_DECLINED if item.loinc in declined_items else NOT_ASKED
            scored.append(ScoredAnswer(item.loinc, None, None, False, item.domain, reason))
            if item.score_group:
                group_values.setdefault(item.score_group, []).append(None)
            continue
        if item.kind != "multiple" and len(codes) > 1:
            problems.append((item.loinc, f"question {item.number} takes one answer, got {len(codes)}"))
            continue
        if item.exclusive and len(codes) > 1 and set(codes) & set(item.exclusive):
            problems.append((item.loinc, f"question {item.number}: 'None of the above' cannot be combined"))
            continue
        bad = [c for c in codes if item.answer(c) is None]
        if bad:
            problems.append((item.loinc, f"question {item.number}: {', '.join(bad)} is not one of its answers"))
            continue
        answered_any = True
        for c in codes:
            ans = item.answer(c)
            assert ans is not None
            scored.append(ScoredAnswer(item.loinc, c, ans.value, ans.positive, item.domain))
            if ans.positive and item.domain not in positive_by_domain:
                positive_by_domain[item.domain] = Need(item.domain, ans.z_code, ans.sdoh_category or "")
            if item.score_group:
                group_values.setdefault(item.score_group, []).append(ans.value)
    if problems:
        raise ScreeningInputError(problems)

    safety_score = None
    for group_code, group in inst.score_groups.items():
        values = group_values.get(group_code, [])
        if values and all(v is not None for v in values):
            total = sum(v for v in values if v is not None)
            if group_code == "hits":
                safety_score = total
            if total > int(group["positive_above"]):
                positive_by_domain.setdefault(
                    group["domain"], Need(group["domain"], group.get("z_code"), group.get("sdoh_category", ""))
                )

    hvs_result = None
    if inst.result:  # Hunger Vital Sign
        if answered_any:
            at_risk = any(a.positive for a in scored)
            hvs_result = inst.result["at_risk"] if at_risk else inst.result["no_risk"]

    order = inst.domains
    positive_domains = sorted(positive_by_domain, key=order.index)
    return ScoreResult(
        instrument=inst.code,
        status="completed" if complete else "partial",
        answers=scored,
        positive_domains=positive_domains,
        needs=[positive_by_domain[d] for d in positive_domains],
        safety_score=safety_score,
        hvs_result=hvs_result,
    )


def all_z_codes() -> set[str]:
    """Every Z code an instrument may record (tests check each is a billable ICD-10-CM code)."""
    out: set[str] = set()
    for inst in instruments().values():
        for item in inst.items:
            out |= {a.z_code for a in item.answers if a.z_code}
        for group in inst.score_groups.values():
            if group.get("z_code"):
                out.add(group["z_code"])
        if inst.result and inst.result.get("z_code"):
            out.add(inst.result["z_code"])
    return out
