"""The guide's "Payment Model Summary", measured for the user's inputs.

Seed 002_9f9b125fbb7ccb6a.txt ("A Health Plan's Guide to Paying CBOs for Social Care", Payment Model
Summary) rates five models Low/Medium/High on seven features. ``GUIDE`` holds those ratings as
data (the hybrid is not in the guide's table). ``summary_table`` measures each feature from a
simulation and maps it to Low/Medium/High with the thresholds in ``ROWS`` (documented in
docs/modeling.md), and notes where the numbers disagree with the guide's words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from socialcare.modeling.schemas import ModelingInputs
from socialcare.modeling.simulate import ModelResult, SimulationResult

LEVELS = ("Low", "Medium", "High")

# seed 002, "Payment Model Summary", verbatim
GUIDE: dict[str, dict[str, str]] = {
    "cbo_risk": {"fixed_price": "Low", "fee_for_service": "Low", "bundled": "Medium", "capitation": "High",
                 "pay_for_performance": "Medium"},
    "payer_risk": {"fixed_price": "Low", "fee_for_service": "High", "bundled": "Medium", "capitation": "Low",
                   "pay_for_performance": "Medium"},
    "price_complexity": {"fixed_price": "Low-Medium", "fee_for_service": "Medium", "bundled": "High",
                         "capitation": "High", "pay_for_performance": "Medium-High"},
    "billing_cost": {"fixed_price": "Low", "fee_for_service": "High", "bundled": "Medium", "capitation": "Low",
                     "pay_for_performance": "Medium-High"},
    "volume_incentive": {"fixed_price": "Low", "fee_for_service": "High", "bundled": "Medium", "capitation": "Low",
                         "pay_for_performance": "Low"},
    "efficiency_incentive": {"fixed_price": "Medium", "fee_for_service": "Low", "bundled": "High",
                             "capitation": "High", "pay_for_performance": "High"},
    "quality_incentive": {"fixed_price": "Low-Medium", "fee_for_service": "Low", "bundled": "Medium",
                          "capitation": "Medium", "pay_for_performance": "High"},
}

# figures the partners must forecast to set the price (volume, cost, utilization, targets)
PRICE_FIGURES = {
    "fixed_price": ["annual cost of the scope of work"],
    "fee_for_service": ["rate per unit", "volume cap or minimum"],
    "bundled": ["case rate", "episode definition", "units per episode", "carve-ins"],
    "capitation": ["PMPM", "attributed members", "utilization rate", "cost per unit served"],
    "pay_for_performance": ["base rate", "metric and target", "bonus", "penalty"],
    "hybrid_ffs_capitation": ["capitation a month", "rate per unit", "expected monthly volume"],
}


@dataclass(frozen=True)
class Row:
    key: str
    feature: str
    measure: str  # what the number is
    low: float  # below: Low
    high: float  # at or above: High; between: Medium
    value: Callable[[ModelResult, ModelingInputs], float]
    fmt: str = "{:.1%}"


def _cbo_risk(r: ModelResult, _i) -> float:
    return (r.margin_median - r.margin_p5) / r.cost_mean if r.cost_mean else 0.0


ROWS = (
    Row("cbo_risk", "Financial risk to CBO", "margin shortfall in a bad year: (median − 5th percentile margin) / "
        "mean cost", 0.05, 0.15, _cbo_risk),
    Row("payer_risk", "Financial risk to payer", "coefficient of variation of the plan's payment", 0.05, 0.15,
        lambda r, _i: r.plan_cost_cv),
    Row("price_complexity", "Complexity for parties to establish price", "figures to forecast and negotiate",
        2, 4, lambda r, _i: float(len(PRICE_FIGURES[r.model])), "{:.0f}"),
    Row("billing_cost", "Cost/complexity of billing", "billing cost as a share of revenue", 0.01, 0.03,
        lambda r, _i: r.billing_cost_mean / r.revenue_mean if r.revenue_mean else 0.0),
    Row("volume_incentive", "Incentive for CBO to maximize volume", "revenue of one more member served / its cost",
        0.25, 0.9, lambda r, _i: r.marginal_revenue_member / r.marginal_cost_member if r.marginal_cost_member else 0.0,
        "{:.2f}"),
    Row("efficiency_incentive", "Incentive for efficiency", "share of the cost of an avoided unit the CBO keeps",
        0.25, 0.75, lambda r, _i: r.efficiency_kept, "{:.0%}"),
    Row("quality_incentive", "Incentive for quality", "revenue gained when 10 % more members complete, share of "
        "revenue", 0.005, 0.03, lambda r, _i: r.quality_gain),
)


def level(value: float, row: Row) -> str:
    return "Low" if value < row.low else "High" if value >= row.high else "Medium"


def guide_levels(text: str | None) -> set[str]:
    """'Low-Medium' -> {'Low', 'Medium'}."""
    return set(text.split("-")) if text else set()


@dataclass
class Cell:
    model: str
    value: float
    shown: str
    measured: str
    guide: str | None
    note: str | None

    @property
    def disagrees(self) -> bool:
        return self.guide is not None and self.measured not in guide_levels(self.guide)


@dataclass
class SummaryRow:
    key: str
    feature: str
    measure: str
    thresholds: str
    cells: dict[str, Cell]


def summary_table(inputs: ModelingInputs, sim: SimulationResult) -> list[SummaryRow]:
    out = []
    for row in ROWS:
        cells = {}
        for m, r in sim.models.items():
            v = row.value(r, inputs)
            measured = level(v, row)
            guide = GUIDE[row.key].get(m)
            shown = row.fmt.format(v)
            note = None
            if guide is None:
                note = "not in the guide's table"
            elif measured not in guide_levels(guide):
                note = (f"the guide says {guide}; for these inputs it measures {measured} ({shown}: {row.measure})")
            cells[m] = Cell(m, v, shown, measured, guide, note)
        thresholds = f"Low < {row.fmt.format(row.low)} ≤ Medium < {row.fmt.format(row.high)} ≤ High"
        out.append(SummaryRow(row.key, row.feature, row.measure, thresholds, cells))
    return out


def as_dicts(rows: list[SummaryRow]) -> list[dict]:
    return [{"feature": r.feature, "measure": r.measure, "thresholds": r.thresholds,
             "models": {m: {"value": round(c.value, 4), "shown": c.shown, "measured": c.measured, "guide": c.guide,
                            "disagrees": c.disagrees, "note": c.note} for m, c in r.cells.items()}} for r in rows]
