"""The web forms of the ROI calculator and the shared-savings report: what a person types (text,
percentages, months) to the engine's inputs (``roi.RoiInputs``, ``savings.SavingsParams``) and back.

Pure functions, no I/O. Rates people think of in percent (engagement, success, discount, relative
effects) are typed in percent and divided by 100 here, exactly (Decimal). An effect left at the
evidence library's value is NOT sent as a plan input, so the result keeps the library's source
tag (and its flags) and the reported confidence interval for the tornado.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict, ValidationError

from socialcare.analytics.evidence import Intervention, Library
from socialcare.analytics.roi import RoiInputs
from socialcare.analytics.savings import SavingsParams
from socialcare.core.errors import InvalidInput, Problem
from socialcare.kit.numbers import percent

HUNDRED = Decimal(100)
PER_OPTIONS = [
    ("participant_month", "per participant per month"),
    ("participant_week", "per participant per week"),
    ("participant", "per participant (once, at enrollment)"),
]

# what each RoiInputs / SavingsParams field is called on the page (problems name the label)
ROI_LABELS = {
    "name": "Scenario name",
    "intervention": "Intervention",
    "members_eligible": "Members eligible",
    "engagement_rate": "Engagement rate (%)",
    "ramp_up_months": "Ramp-up (months)",
    "horizon_months": "Horizon (months)",
    "discount_rate": "Discount rate (% a year)",
    "success_rate": "Success rate (%)",
    "program_cost": "Program cost",
    "program_cost.amount": "Program cost",
    "program_cost.per": "Program cost unit",
    "one_time_costs": "One-time costs",
    "monthly_fixed_costs": "Fixed costs a month",
    "stated_budget": "Stated budget",
    "stated_budget_months": "Budget period (months)",
    "stated_people": "People the budget covers",
    "stated_per_person_per_week": "Stated $ per person per week",
    "stated_per_person_per_month": "Stated $ per person per month",
    "categories": "Utilization categories",
    "credit_uncertain_effects": "Credit effects whose interval includes zero",
}

SAVINGS_LABELS = {
    "dataset": "Data set",
    "baseline_start": "Baseline from",
    "baseline_end": "Baseline to",
    "performance_start": "Performance from",
    "performance_end": "Performance to",
    "zip_codes": "Attributed zip codes",
    "practice_ids": "Attributed practices",
    "guaranteed_payments": "Guaranteed payment",
    "minimum_savings_rate": "Minimum savings rate (%)",
    "trend": "Trend (% a year)",
    "cap_percentile": "Outlier cap percentile",
    "bootstrap": "Bootstrap replicates",
    "quality_metrics_met": "Quality metrics met",
    "quality_metrics_total": "Quality metrics measured",
    "comparison_pool": "Comparison pool",
}

# a page request runs while someone waits; the CLI and the API allow more
MAX_WEB_BOOTSTRAP = 5000


def num(d: Decimal | None) -> str:
    """A Decimal as typed into a form field: 0.4900 -> '0.49', 49.0 -> '49' (no thousands separator,
    so it reads back; text for people uses socialcare.kit.numbers)."""
    if d is None:
        return ""
    s = format(d, "f")
    return s.rstrip("0").rstrip(".") if "." in s else s


def _dec(text: str, field: str, problems: list[Problem]) -> Decimal | None:
    t = (text or "").strip().replace(",", "").replace("$", "")
    if not t:
        return None
    try:
        d = Decimal(t)
    except InvalidOperation:
        problems.append(Problem(f"{text!r} is not a number", field=field))
        return None
    if not d.is_finite():
        problems.append(Problem(f"{text!r} is not a number", field=field))
        return None
    return d


def _pct(text: str, field: str, problems: list[Problem]) -> Decimal | None:
    d = _dec((text or "").replace("%", ""), field, problems)
    return None if d is None else d / HUNDRED


def _problems_from(exc: ValidationError, labels: dict[str, str]) -> list[Problem]:
    out = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"]) or None
        out.append(Problem(e["msg"].removeprefix("Value error, "), field=labels.get(loc or "", loc)))
    return out


def label_problems(problems: list[Problem], labels: dict[str, str]) -> list[Problem]:
    return [Problem(p.message, field=labels.get(p.field or "", p.field), row=p.row, file=p.file) for p in problems]


# ---------------------------------------------------------------- ROI


class RoiForm(BaseModel):
    """The ROI calculator form as sent (every value text; rows of categories as aligned lists)."""

    model_config = ConfigDict(extra="ignore")

    name: str = ""
    intervention: str = ""
    members_eligible: str = "1000"
    engagement_pct: str = "35"
    ramp_up_months: str = "3"
    horizon_months: str = "24"
    discount_pct: str = "3"
    success_pct: str = "100"
    cost_amount: str = ""
    cost_per: str = "participant_month"
    one_time_costs: str = ""
    monthly_fixed_costs: str = ""
    stated_budget: str = ""
    stated_budget_months: str = "12"
    stated_people: str = ""
    stated_per_person_per_week: str = ""
    stated_per_person_per_month: str = ""
    cat_id: list[str] = []
    cat_on: list[str] = []
    cat_rate: list[str] = []
    cat_cost: list[str] = []
    cat_effect: list[str] = []
    credit_uncertain: str = ""  # a ticked checkbox sends "1"


@dataclass
class CategoryRow:
    id: str
    label: str
    unit: str
    kind: str  # relative (effect in % fewer events) or pmpm ($ saved per participant-month)
    on: bool
    rate: str
    cost: str
    effect: str
    evidence: str  # what the library says, e.g. "49 % fewer [M]" or "16 to 31 % fewer [V]"
    note: str = ""


def default_intervention(library: Library) -> str:
    return next((i.id for i in library.interventions if i.effects), library.interventions[0].id)


def interventions_with_effects(library: Library) -> list[Intervention]:
    return [i for i in library.interventions if i.effects]


def _default_on(iv: Intervention) -> set[str]:
    """The categories roi.resolve uses by default (without the ones that would price events twice)."""
    cats = {e.category: e for e in iv.effects}
    return {
        c
        for c, e in cats.items()
        if not (c == "inpatient_days" and "admissions" in cats)
        and not (c == "total_cost" and e.kind == "relative" and len(cats) > 1)
    }


def _effect_text(e) -> str:
    if e.kind == "pmpm":
        txt = f"${num(e.estimate)} per participant-month"
        if e.ci_low is not None:
            txt += f" (CI ${num(e.ci_low)} to ${num(e.ci_high)})"
    else:
        txt = f"{num(e.estimate * HUNDRED)} % fewer"
        if e.ci_low is not None:
            txt += f" (CI {num(e.ci_low * HUNDRED)} to {num(e.ci_high * HUNDRED)} %)"
    return f"{txt} [{e.tag}]"


def _effect_input(e) -> str:
    return num(e.estimate) if e.kind == "pmpm" else num(e.estimate * HUNDRED)


def category_rows(library: Library, iv: Intervention, form: RoiForm | None = None) -> list[CategoryRow]:
    """One row per effect the intervention has; values from the form when it was sent for this
    intervention, else the library's defaults (baselines and effects)."""
    sent = {}
    if form is not None and form.cat_id:
        for i, cid in enumerate(form.cat_id):
            sent[cid] = (
                _at(form.cat_rate, i), _at(form.cat_cost, i), _at(form.cat_effect, i), cid in form.cat_on
            )
    on_default = _default_on(iv)
    rows = []
    for e in iv.effects:
        cat = library.categories[e.category]
        base = library.default_baselines.get(e.category)
        if e.category in sent:
            rate, cost, eff, on = sent[e.category]
        else:
            rate = num(base.per_1000_member_months) if base else ""
            cost = num(base.unit_cost) if base else ""
            eff, on = _effect_input(e), e.category in on_default
        rows.append(
            CategoryRow(
                id=e.category, label=cat.label, unit=cat.unit, kind=e.kind, on=on, rate=rate, cost=cost,
                effect=eff, evidence=_effect_text(e), note=e.note or "",
            )
        )
    return rows


def _at(values: list[str], i: int) -> str:
    return values[i] if i < len(values) else ""


def defaults_for(library: Library, intervention: str, keep: RoiForm | None = None) -> RoiForm:
    """The form for ``intervention``: the other values kept from ``keep``, the program cost from the
    intervention's typical cost when the library has one, the category rows from the library."""
    base = (keep or RoiForm()).model_copy(
        update={"intervention": intervention, "cat_id": [], "cat_on": [], "cat_rate": [], "cat_cost": [],
                "cat_effect": []}
    )
    iv = next((i for i in library.interventions if i.id == intervention), None)
    if iv is not None and iv.typical_cost is not None:
        base = base.model_copy(update={"cost_amount": num(iv.typical_cost.amount), "cost_per": iv.typical_cost.per})
    if iv is not None and not base.name:
        base = base.model_copy(update={"name": iv.name})
    return base


def roi_inputs(form: RoiForm, library: Library) -> RoiInputs:
    """The calculator's inputs from the form; every problem at once, named by its label."""
    problems: list[Problem] = []
    iv = next((i for i in library.interventions if i.id == form.intervention), None)
    if iv is None:
        raise InvalidInput(
            "choose an intervention", [Problem("not in the evidence library", field=ROI_LABELS["intervention"])]
        )
    effects = {e.category: e for e in iv.effects}
    cats = []
    for i, cid in enumerate(form.cat_id):
        if cid not in form.cat_on:
            continue
        label = library.categories[cid].label if cid in library.categories else cid
        ev = effects.get(cid)
        c: dict = {"category": cid}
        rate = _dec(_at(form.cat_rate, i), f"{label}: baseline per 1,000 member-months", problems)
        cost = _dec(_at(form.cat_cost, i), f"{label}: unit cost", problems)
        if rate is not None:
            c["per_1000_member_months"] = rate
        if cost is not None:
            c["unit_cost"] = cost
        kind = ev.kind if ev else "relative"
        raw = _at(form.cat_effect, i)
        eff = (
            _dec(raw, f"{label}: effect ($)", problems)
            if kind == "pmpm"
            else _pct(raw, f"{label}: effect (% fewer)", problems)
        )
        if eff is None and ev is None:
            problems.append(Problem("give the effect", field=f"{label}: effect"))
        if eff is not None and (ev is None or eff != ev.estimate):
            c["effect"] = eff
            c["kind"] = kind
        cats.append(c)
    if iv.effects and not cats:
        problems.append(Problem("tick at least one category to count", field=ROI_LABELS["categories"]))
    data: dict = {
        "name": form.name.strip() or iv.name,
        "intervention": iv.id,
        "categories": cats,
        "program_cost": {"per": form.cost_per},
        "credit_uncertain_effects": bool(form.credit_uncertain),
    }
    amount = _dec(form.cost_amount, ROI_LABELS["program_cost.amount"], problems)
    if amount is None:
        problems.append(Problem("give the program cost (from the payment terms)", field=ROI_LABELS["program_cost"]))
    else:
        data["program_cost"]["amount"] = amount
    for key, text, conv in (
        ("members_eligible", form.members_eligible, _dec),
        ("engagement_rate", form.engagement_pct, _pct),
        ("ramp_up_months", form.ramp_up_months, _dec),
        ("horizon_months", form.horizon_months, _dec),
        ("discount_rate", form.discount_pct, _pct),
        ("success_rate", form.success_pct, _pct),
        ("one_time_costs", form.one_time_costs, _dec),
        ("monthly_fixed_costs", form.monthly_fixed_costs, _dec),
        ("stated_budget", form.stated_budget, _dec),
        ("stated_budget_months", form.stated_budget_months, _dec),
        ("stated_people", form.stated_people, _dec),
        ("stated_per_person_per_week", form.stated_per_person_per_week, _dec),
        ("stated_per_person_per_month", form.stated_per_person_per_month, _dec),
    ):
        v = conv(text, ROI_LABELS[key], problems)
        if v is not None:
            if key in ("members_eligible", "ramp_up_months", "horizon_months", "stated_budget_months",
                       "stated_people"):
                if v != v.to_integral_value():
                    problems.append(Problem("a whole number", field=ROI_LABELS[key]))
                    continue
                v = int(v)
            data[key] = v
    if problems:
        raise InvalidInput("some inputs need a look", problems)
    try:
        return RoiInputs.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput("some inputs need a look", _problems_from(exc, ROI_LABELS)) from exc


# ---------------------------------------------------------------- shared savings


class SavingsForm(BaseModel):
    """The shared-savings form as sent (months as YYYY-MM, lists as comma/space separated text)."""

    model_config = ConfigDict(extra="ignore")

    dataset: str = ""
    baseline_start: str = ""
    baseline_end: str = ""
    performance_start: str = ""
    performance_end: str = ""
    zip_codes: str = ""
    practice_ids: str = ""
    guaranteed_payments: str = "0"
    msr_pct: str = "2"
    trend_pct: str = ""
    cap_percentile: str = "0.99"
    bootstrap: str = "1000"
    quality_metrics_met: str = ""
    quality_metrics_total: str = ""
    comparison_pool: str = "all"


def _month(text: str, field: str, problems: list[Problem]) -> date | None:
    t = (text or "").strip()
    if not t:
        problems.append(Problem("give the month (YYYY-MM)", field=field))
        return None
    try:
        y, m = t.split("-")[:2]
        return date(int(y), int(m), 1)
    except ValueError:
        problems.append(Problem(f"{t!r} is not a month (YYYY-MM)", field=field))
        return None


def _codes(text: str) -> list[str] | None:
    items = [x for x in text.replace(",", " ").replace(";", " ").split() if x]
    return items or None


def savings_form_for(defaults: dict, keep: SavingsForm | None = None) -> SavingsForm:
    """The form pre-filled from a data set's manifest (periods, attribution); contract terms kept."""
    f = keep or SavingsForm()
    upd = {k: str(defaults[k])[:7] for k in ("baseline_start", "baseline_end", "performance_start",
                                               "performance_end") if k in defaults}
    if "zip_codes" in defaults:
        upd["zip_codes"] = ", ".join(defaults["zip_codes"])
    if "practice_ids" in defaults:
        upd["practice_ids"] = ", ".join(defaults["practice_ids"])
    return f.model_copy(update=upd)


def savings_params(form: SavingsForm, *, max_bootstrap: int = MAX_WEB_BOOTSTRAP) -> SavingsParams:
    problems: list[Problem] = []
    L = SAVINGS_LABELS
    data: dict = {}
    for key in ("baseline_start", "baseline_end", "performance_start", "performance_end"):
        data[key] = _month(getattr(form, key), L[key], problems)
    data["zip_codes"] = _codes(form.zip_codes)
    data["practice_ids"] = _codes(form.practice_ids)
    g = _dec(form.guaranteed_payments, L["guaranteed_payments"], problems)
    data["guaranteed_payments"] = g if g is not None else Decimal(0)
    msr = _pct(form.msr_pct, L["minimum_savings_rate"], problems)
    data["minimum_savings_rate"] = msr if msr is not None else Decimal(0)
    data["trend"] = _pct(form.trend_pct, L["trend"], problems)  # blank: observed in the comparison pool
    cap = (form.cap_percentile or "").strip().lower()
    data["cap_percentile"] = None if cap in ("", "none") else _dec(cap, L["cap_percentile"], problems)
    for key in ("bootstrap", "quality_metrics_met", "quality_metrics_total"):
        v = _dec(getattr(form, key), L[key], problems)
        if v is not None:
            if v != v.to_integral_value():
                problems.append(Problem("a whole number", field=L[key]))
                continue
            data[key] = int(v)
    if data.get("bootstrap", 0) > max_bootstrap:
        problems.append(Problem(f"at most {max_bootstrap:,} on this page (use the CLI for more)", field=L["bootstrap"]))
    if form.comparison_pool in ("all", "attributed"):
        data["comparison_pool"] = form.comparison_pool
    if problems:
        raise InvalidInput("some contract parameters need a look", problems)
    try:
        return SavingsParams.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput("some contract parameters need a look", _problems_from(exc, L)) from exc
    except InvalidInput as exc:  # the model's own cross-field checks (periods)
        raise InvalidInput(exc.message, label_problems(exc.problems, L)) from exc


def params_from_json(values: dict, defaults: dict) -> SavingsParams:
    """API: the JSON body's SavingsParams fields over the data set's manifest defaults."""
    data = {**defaults, **{k: v for k, v in values.items() if k != "dataset"}}
    try:
        return SavingsParams.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(
            "the shared-savings parameters were rejected",
            [Problem(e["msg"], field=".".join(str(p) for p in e["loc"]) or None) for e in exc.errors()],
        ) from exc


@dataclass
class Verdict:
    supported: bool
    reasons: list[str] = field(default_factory=list)


def verdict(report) -> Verdict:
    """Why savings may or may not be paid out (payments-and-value.md section 4), in words."""
    reasons = []
    if report.net_savings <= 0:
        reasons.append("no savings left after the guaranteed payment")
    if not report.msr_met:
        reasons.append(
            f"the savings rate {percent(report.savings_rate, 2)} is below the minimum savings rate "
            f"{percent(report.params.minimum_savings_rate, 2)}"
        )
    d = report.did
    if d is not None and not (d.significant and d.effect_pmpm < 0):
        reasons.append(
            "the difference-in-differences confidence interval includes zero: the change cannot be told "
            "apart from chance" if not d.significant else "participants' cost rose relative to the comparison group"
        )
    return Verdict(report.savings_supported, reasons)
