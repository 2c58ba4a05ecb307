"""What a careful analyst asks of an ROI scenario: its sensitivity to each input (the tornado) and
the consistency flags (contradicting budget figures, double counting, weak designs, effects whose
interval includes zero). Split from socialcare.analytics.roi, whose types they use; ``roi.calculate``
calls both.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from socialcare.analytics.evidence import Library
from socialcare.analytics.roi import (
    ONE,
    WEEKS_PER_MONTH,
    Flag,
    ResolvedCategory,
    RoiInputs,
    RoiResult,
    TornadoBar,
    _q,
    net_only,
)
from socialcare.core.money import cents, fmt_usd
from socialcare.kit.numbers import number

# ---------------------------------------------------------------- sensitivity


def tornado(inputs: RoiInputs, cats: list[ResolvedCategory]) -> list[TornadoBar]:
    """Net savings with one input at a time at its low and high value, widest swing first.
    Effects use their reported CI, else ±50 % (labelled as assumed); rates, costs ±20 %."""
    bars: list[TornadoBar] = []

    def bar(label, lo_txt, hi_txt, lo_inputs, lo_cats, hi_inputs, hi_cats):
        bars.append(
            TornadoBar(label, lo_txt, hi_txt, net_only(lo_inputs, lo_cats), net_only(hi_inputs, hi_cats))
        )

    # engagement ±25 % (relative), never above 100 %
    lo_e = inputs.engagement_rate * Decimal("0.75")
    hi_e = min(ONE, inputs.engagement_rate * Decimal("1.25"))
    bar(
        "engagement rate",
        str(_q(lo_e, "0.001")),
        str(_q(hi_e, "0.001")),
        inputs.model_copy(update={"engagement_rate": lo_e}),
        cats,
        inputs.model_copy(update={"engagement_rate": hi_e}),
        cats,
    )
    for i, c in enumerate(cats):

        def swap(i=i, c=c, **kw):
            return [replace(c, **kw) if j == i else x for j, x in enumerate(cats)]

        tag = "reported CI" if c.ci_reported else "assumed ±50 %"
        if not c.credited:
            tag += "; not credited, the interval includes zero"
        bar(
            f"{c.label} effect ({tag})",
            str(_q(c.effect_low, "0.0001")),
            str(_q(c.effect_high, "0.0001")),
            inputs,
            swap(effect=c.effect_low, credited=True),
            inputs,
            swap(effect=c.effect_high, credited=True),
        )
        if c.kind == "relative":
            r = c.per_1000_member_months
            bar(
                f"{c.label} baseline rate (±20 %)",
                str(_q(r * Decimal("0.8"))),
                str(_q(r * Decimal("1.2"))),
                inputs,
                swap(per_1000_member_months=r * Decimal("0.8")),
                inputs,
                swap(per_1000_member_months=r * Decimal("1.2")),
            )
            u = c.unit_cost
            bar(
                f"{c.label} unit cost (±20 %)",
                str(cents(u * Decimal("0.8"))),
                str(cents(u * Decimal("1.2"))),
                inputs,
                swap(unit_cost=u * Decimal("0.8")),
                inputs,
                swap(unit_cost=u * Decimal("1.2")),
            )
    a = inputs.program_cost.amount
    for label, lo, hi in (("program cost (±20 %)", a * Decimal("0.8"), a * Decimal("1.2")),):
        if a == 0:
            break
        bar(
            label,
            str(cents(lo)),
            str(cents(hi)),
            inputs.model_copy(update={"program_cost": inputs.program_cost.model_copy(update={"amount": lo})}),
            cats,
            inputs.model_copy(update={"program_cost": inputs.program_cost.model_copy(update={"amount": hi})}),
            cats,
        )
    oc = inputs.one_time_costs
    if oc:
        bar(
            "one-time costs (±20 %)",
            str(cents(oc * Decimal("0.8"))),
            str(cents(oc * Decimal("1.2"))),
            inputs.model_copy(update={"one_time_costs": oc * Decimal("0.8")}),
            cats,
            inputs.model_copy(update={"one_time_costs": oc * Decimal("1.2")}),
            cats,
        )
    if inputs.horizon_months > 1:
        d_hi = inputs.discount_rate + Decimal("0.05")
        bar(
            "discount rate (+5 points)",
            str(inputs.discount_rate),
            str(d_hi),
            inputs,
            cats,
            inputs.model_copy(update={"discount_rate": min(ONE, d_hi)}),
            cats,
        )
    bars.sort(key=lambda b: b.swing, reverse=True)
    return bars


# ---------------------------------------------------------------- consistency flags


def _money(x: Decimal) -> str:
    return fmt_usd(x)


def check(
    inputs: RoiInputs, cats: list[ResolvedCategory], result: RoiResult | None, library: Library
) -> list[Flag]:
    """What a careful analyst would question before trusting the figures."""
    flags: list[Flag] = []
    people = inputs.stated_people or inputs.members_eligible
    months = Decimal(inputs.stated_budget_months)
    weeks = months * WEEKS_PER_MONTH
    period = f"{inputs.stated_budget_months} months"
    if inputs.stated_budget is not None:
        b = inputs.stated_budget
        per_person = b / people
        for rate, unit, n_units in (
            (inputs.stated_per_person_per_week, "week", weeks),
            (inputs.stated_per_person_per_month, "month", months),
        ):
            if rate is None:
                continue
            implied = rate * people * n_units
            if b == 0 or abs(implied - b) / max(b, implied) > Decimal("0.05"):
                flags.append(
                    Flag(
                        "error",
                        f"stated_per_person_per_{unit}",
                        f"the budget {_money(b)} for {people:,} people is {_money(per_person)} per person over {period} "
                        f"({_money(per_person / (n_units))} per person per {unit}); {_money(rate)} per person per {unit} "
                        f"would cost {_money(implied)} over {period}. The two figures do not agree: "
                        f"which one is the budget?",
                    )
                )
        if result is not None and inputs.stated_budget_months == inputs.horizon_months:
            modeled = result.program_cost
            if b and abs(modeled - b) / max(b, modeled) > Decimal("0.10"):
                flags.append(
                    Flag(
                        "warning",
                        "stated_budget",
                        f"the modelled program cost over {period} is {_money(modeled)}, not the stated budget {_money(b)}",
                    )
                )
    if (
        inputs.stated_per_person_per_week is not None
        and inputs.stated_per_person_per_month is not None
        and abs(inputs.stated_per_person_per_week * WEEKS_PER_MONTH - inputs.stated_per_person_per_month)
        > Decimal("0.05") * inputs.stated_per_person_per_month
    ):
        flags.append(
            Flag(
                "error",
                "stated_per_person_per_month",
                f"{_money(inputs.stated_per_person_per_week)} a week is {_money(inputs.stated_per_person_per_week * WEEKS_PER_MONTH)} a month, "
                f"not {_money(inputs.stated_per_person_per_month)}",
            )
        )
    names = {c.category for c in cats}
    if "total_cost" in names and len(names) > 1:
        flags.append(
            Flag(
                "warning",
                "categories",
                "total cost of care already includes ED and inpatient costs: adding both counts savings twice",
            )
        )
    if {"admissions", "readmissions_30d"} <= names:
        flags.append(
            Flag(
                "warning",
                "categories",
                "readmissions are admissions: counting both overstates avoided events",
            )
        )
    if {"admissions", "inpatient_days"} <= names:
        flags.append(
            Flag(
                "warning",
                "categories",
                "avoided admissions and avoided inpatient days price the same stays; use one unless unit costs are split",
            )
        )
    if inputs.ramp_up_months >= inputs.horizon_months:
        flags.append(
            Flag("warning", "ramp_up_months", "the program never reaches full enrollment within the horizon")
        )
    if inputs.intervention:
        iv = library.get(inputs.intervention)
        design = iv.design.lower()
        if "pre/post" in design and "randomized controlled" not in design:
            flags.append(
                Flag(
                    "warning",
                    "intervention",
                    f"{iv.name}: a pre/post design; regression to the mean can fake a decline (Camden, NEJM 2020)",
                )
            )
        if "simulation" in design:
            flags.append(
                Flag(
                    "info",
                    "intervention",
                    f"{iv.name}: effects come from a simulation model, not an observed program",
                )
            )
    for c in cats:
        if c.effect_source.endswith("[M]"):
            flags.append(
                Flag(
                    "info",
                    c.category,
                    f"{c.label}: effect {c.effect} recalled from the paper, not re-checked: verify before relying on it",
                )
            )
        if c.interval_includes_zero:
            where = f"{number(c.effect_low)} to {number(c.effect_high)}"
            flags.append(
                Flag(
                    "warning",
                    c.category,
                    f"{c.label}: the confidence interval of the effect ({where}) includes zero: the evidence "
                    "does not show an effect. "
                    + (
                        f"Its estimate {number(c.effect)} is credited anyway (credit_uncertain_effects)."
                        if c.credited
                        else "No savings are credited for it; set credit_uncertain_effects to credit its "
                        f"estimate {number(c.effect)} anyway."
                    ),
                )
            )
        if c.kind == "relative" and c.effect < 0:
            flags.append(Flag("warning", c.category, f"{c.label}: the evidence shows more events, not fewer"))
        if c.kind == "relative" and c.per_1000_member_months == 0:
            flags.append(Flag("warning", c.category, f"{c.label}: a zero baseline rate saves nothing"))
    if result is not None and result.savings_per_dollar is not None and result.savings_per_dollar > 10:
        flags.append(
            Flag(
                "warning",
                "result",
                f"${result.savings_per_dollar} saved per $1 is far above published programs ($2-$5 per $1): check rates and costs",
            )
        )
    if (
        result is not None
        and result.break_even_program_cost is not None
        and result.break_even_program_cost < 0
    ):
        flags.append(
            Flag(
                "warning", "program_cost", "fixed costs alone exceed the savings: no program cost breaks even"
            )
        )
    return flags
