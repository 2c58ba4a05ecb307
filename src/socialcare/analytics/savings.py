"""Shared savings on claims: attribution, total cost of care (TCOC) per member-month with outlier
capping, the trended-baseline projection, and a difference-in-differences (DiD) against a matched
comparison group with a bootstrap confidence interval.

The arrangement is the UHC / Camden Coalition one (seed 002, "Shared Savings Example"): "a
guaranteed fixed annual payment" plus "40-50 percent of the calculated savings (after netting out
the guaranteed payment)", savings being projected minus actual TCOC "for the attributed population
(those living in certain zip codes and attributed to the practices that work with the Coalition)".
Methods: payments-and-value.md sections 3 (MSSP: truncation, minimum savings rate) and 4
(counterfactuals). docs/analytics.md explains each step.

Every heavy step is an Ibis expression (``member_periods``, ``capped``, ``contract_totals``,
``did_members``, ``did_estimate``, ``monthly_pmpm``) that runs unchanged on DuckDB and Spark.
Money is cast to decimal(18,2) before it is summed; window orders are total (member_id breaks
ties). Only the bootstrap runs in NumPy, on the member-level rows the engine has aggregated.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from socialcare.analytics import connect as connect_mod
from socialcare.analytics.schema import MONEY, conform
from socialcare.core.errors import InvalidInput, Problem
from socialcare.core.money import cents, fmt_usd
from socialcare.kit.numbers import amount, number, usd

BASELINE, PERFORMANCE = "baseline", "performance"


def _months_between(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + (b.month - a.month)


class SavingsParams(BaseModel):
    """Contract terms and method choices for one shared-savings computation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    baseline_start: date
    baseline_end: date = Field(description="first day of the last baseline month")
    performance_start: date
    performance_end: date = Field(description="first day of the last performance month")
    zip_codes: tuple[str, ...] | None = Field(default=None, description="attribution: residence zip codes")
    practice_ids: tuple[str, ...] | None = Field(default=None, description="attribution: partner practices")
    cap_percentile: Decimal | None = Field(
        default=Decimal("0.99"), gt=0, le=1, description="cap each member's period PMPM at this percentile"
    )
    cap_pmpm: Decimal | None = Field(
        default=None, gt=0, description="fixed PMPM cap; overrides the percentile"
    )
    trend: Decimal | None = Field(
        default=None,
        description="annual trend for the projection; None = the comparison group's observed trend",
    )
    min_months: int = Field(default=6, ge=1, description="DiD: months enrolled in each period")
    age_bands: tuple[int, ...] = (18, 45, 65)
    risk_bands: tuple[float, ...] = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0)
    comparison_pool: Literal["all", "attributed"] = "all"
    bootstrap: int = Field(default=1000, ge=0, le=100_000)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    seed: int = 20260123
    guaranteed_payments: Decimal = Field(default=Decimal("0"), ge=0)
    minimum_savings_rate: Decimal = Field(default=Decimal("0"), ge=0, lt=1)
    quality_metrics_met: int | None = Field(default=None, ge=0)
    quality_metrics_total: int | None = Field(default=None, ge=1)

    @field_validator(
        "cap_percentile", "cap_pmpm", "trend", "guaranteed_payments", "minimum_savings_rate", mode="before"
    )
    @classmethod
    def _exact(cls, v):
        return Decimal(str(v)) if isinstance(v, float) else v

    @field_validator("baseline_start", "baseline_end", "performance_start", "performance_end")
    @classmethod
    def _month_start(cls, v: date) -> date:
        return v.replace(day=1)

    @model_validator(mode="after")
    def _periods(self):
        problems = []
        if self.baseline_end < self.baseline_start:
            problems.append(Problem("ends before it starts", field="baseline_end"))
        if self.performance_end < self.performance_start:
            problems.append(Problem("ends before it starts", field="performance_end"))
        if self.performance_start <= self.baseline_end:
            problems.append(
                Problem("the performance period must start after the baseline", field="performance_start")
            )
        if (self.quality_metrics_met or 0) > (self.quality_metrics_total or 10**9):
            problems.append(Problem("more metrics met than measured", field="quality_metrics_met"))
        if problems:
            raise InvalidInput("inconsistent shared-savings parameters", problems)
        return self

    @property
    def years_between(self) -> Decimal:
        """Years from the baseline's midpoint to the performance period's midpoint (trend exponent)."""
        b = _months_between(self.baseline_start, self.baseline_end) + 1
        p = _months_between(self.performance_start, self.performance_end) + 1
        months = Decimal(_months_between(self.baseline_start, self.performance_start)) + Decimal(p - b) / 2
        return months / 12


# ---------------------------------------------------------------- Ibis expressions (one definition)


def member_months(claims: ir.Table, eligibility: ir.Table, params: SavingsParams) -> ir.Table:
    """One row per member and eligible month in either period, with the month's paid claims
    (decimal) and the attribution flag. A claim line counts in the month of ``service_from`` and
    only if the member was eligible that month; a duplicated eligibility row cannot double a
    month's claims (grouped by member and month)."""
    e = eligibility
    period = ibis.cases(
        (e.month.between(params.baseline_start, params.baseline_end), BASELINE),
        (e.month.between(params.performance_start, params.performance_end), PERFORMANCE),
        else_=ibis.null("string"),
    )
    flag = ibis.literal(True)
    if params.zip_codes:
        flag = flag & e.zip_code.isin(list(params.zip_codes))
    if params.practice_ids:
        flag = flag & e.practice_id.isin(list(params.practice_ids))
    em = (
        e.mutate(period=period, attr=flag.ifelse(1, 0), age=e.month.year() - e.date_of_birth.year())
        .filter(ibis._.period.notnull())
        .group_by(["member_id", "month"])
        .aggregate(
            period=ibis._.period.max(),
            attr=ibis._.attr.max(),
            age=ibis._.age.min(),
            sex=ibis._.sex.max(),
            risk=ibis._.risk_score.mean(),
        )
    )
    c = claims.mutate(
        month=claims.service_from.truncate("M").cast("date"), paid=claims.paid_amount.cast(MONEY)
    )
    c = c.filter(c.month.between(params.baseline_start, params.performance_end))
    cm = c.group_by(["member_id", "month"]).aggregate(paid=c.paid.sum())
    return em.left_join(cm, ["member_id", "month"]).select(
        em.member_id,
        em.month,
        em.period,
        em.attr,
        em.age,
        em.sex,
        em.risk,
        paid=cm.paid.coalesce(0).cast(MONEY),
    )


def periods_of(mm: ir.Table) -> ir.Table:
    """One row per member and period: eligible months, months attributed, TCOC (paid, decimal),
    age, sex and mean risk score. A member is attributed in a period when attributed in at least
    half of their eligible months (zip code AND practice, when both lists are given)."""
    return mm.group_by(["member_id", "period"]).aggregate(
        months=mm.member_id.count(),
        attributed_months=mm.attr.sum(),
        cost=mm.paid.sum().cast(MONEY),
        age=mm.age.min(),
        sex=mm.sex.max(),
        risk=mm.risk.mean(),
    )


def member_periods(claims: ir.Table, eligibility: ir.Table, params: SavingsParams) -> ir.Table:
    return periods_of(member_months(claims, eligibility, params))


def cap_thresholds(mp: ir.Table, params: SavingsParams) -> ir.Table | None:
    """Per period, the PMPM at ``cap_percentile`` of member-period PMPMs (nearest rank on
    percent_rank, ties broken by member_id so both engines pick the same member)."""
    if params.cap_pmpm is not None or params.cap_percentile is None:
        return None
    pm = mp.mutate(pmpm=mp.cost.cast("float64") / mp.months)
    w = ibis.window(group_by=pm.period, order_by=[pm.pmpm, pm.member_id])
    ranked = pm.mutate(pr=ibis.percent_rank().over(w))
    return (
        ranked.filter(ranked.pr >= float(params.cap_percentile))
        .group_by("period")
        .aggregate(cap_pmpm=ibis._.pmpm.min())
    )


def capped(mp: ir.Table, params: SavingsParams) -> ir.Table:
    """Member-period TCOC truncated at the cap: ``capped_cost = min(cost, cap PMPM × months)``
    (MSSP truncates per-capita expenditure the same way, at the 99th percentile)."""
    if params.cap_pmpm is not None:
        limit = (ibis.literal(params.cap_pmpm, type=MONEY) * mp.months).cast(MONEY)
        return mp.mutate(
            attributed=mp.attributed_months * 2 >= mp.months,
            capped_cost=ibis.least(mp.cost, limit),
            cap_pmpm=ibis.literal(float(params.cap_pmpm)),
        )
    thr = cap_thresholds(mp, params)
    if thr is None:
        return mp.mutate(
            attributed=mp.attributed_months * 2 >= mp.months,
            capped_cost=mp.cost,
            cap_pmpm=ibis.null("float64"),
        )
    j = mp.left_join(thr, "period")
    limit = (j.cap_pmpm * j.months).cast(MONEY)
    return j.select(
        *[j[c] for c in mp.columns],
        attributed=j.attributed_months * 2 >= j.months,
        capped_cost=ibis.least(j.cost, limit.coalesce(j.cost)),
        cap_pmpm=j.cap_pmpm,
    )


def with_program(mpc: ir.Table, program: ir.Table | None) -> ir.Table:
    if program is None:
        return mpc.mutate(treated=ibis.literal(False))
    ids = program.select("member_id").distinct()
    return mpc.mutate(treated=mpc.member_id.isin(ids.member_id))


def contract_totals(mpc: ir.Table) -> ir.Table:
    """Per period: attributed member-months and capped TCOC; the comparison pool (non-participants)
    too, for the observed trend; and the period's cap."""
    a = (
        mpc.filter(mpc.attributed)
        .group_by("period")
        .aggregate(
            member_months=ibis._.months.sum(),
            tcoc=ibis._.capped_cost.sum().cast(MONEY),
            members=ibis._.member_id.count(),
            cap_pmpm=ibis._.cap_pmpm.max(),
        )
    )
    c = (
        mpc.filter(~mpc.treated)
        .group_by("period")
        .aggregate(comp_member_months=ibis._.months.sum(), comp_tcoc=ibis._.capped_cost.sum().cast(MONEY))
    )
    return a.join(c, "period").select(
        a.period, a.member_months, a.tcoc, a.members, a.cap_pmpm, c.comp_member_months, c.comp_tcoc
    )


def _band(expr: ir.NumericValue, edges: tuple[float, ...], prefix: str) -> ir.StringValue:
    cases = [(expr < edge, f"{prefix}<{edge}") for edge in edges]
    return ibis.cases(*cases, else_=f"{prefix}>={edges[-1]}") if edges else ibis.literal(prefix)


def did_members(mpc: ir.Table, params: SavingsParams) -> ir.Table:
    """Members in both periods (``min_months`` each), treated or in the comparison pool, with the
    matching stratum (age band × sex × baseline risk-score band) and the outcome
    ``y = performance PMPM − baseline PMPM`` on capped TCOC. Matching uses the plan's risk score,
    not baseline cost: matching on a noisy baseline cost brings regression to the mean back in
    (Camden, Finkelstein et al. 2020)."""
    b = mpc.filter(mpc.period == BASELINE)
    p = mpc.filter(mpc.period == PERFORMANCE)
    j = b.join(p, "member_id").select(
        member_id=b.member_id,
        treated=b.treated,
        base_attributed=b.attributed,
        age=b.age,
        sex=b.sex.coalesce("U"),
        risk=b.risk,
        base_months=b.months,
        base_cost=b.capped_cost,
        perf_months=p.months,
        perf_cost=p.capped_cost,
    )
    j = j.filter((j.base_months >= params.min_months) & (j.perf_months >= params.min_months))
    if params.comparison_pool == "attributed":
        j = j.filter(j.treated | j.base_attributed)
    risk_band = ibis.cases((j.risk.isnull(), "risk:NA"), else_=_band(j.risk, params.risk_bands, "risk"))
    stratum = _band(j.age, params.age_bands, "age") + "|" + j.sex + "|" + risk_band
    y = j.perf_cost.cast("float64") / j.perf_months - j.base_cost.cast("float64") / j.base_months
    return j.mutate(stratum=stratum, y=y)


def did_weighted(dm: ir.Table) -> ir.Table:
    """Coarsened exact matching: strata holding both groups are ``matched``; treated members weigh 1
    and each comparison member n_treated(s) / n_comparison(s), so the comparison group has the
    treated mix. Unmatched rows stay (weight 0) so the unmatched participants can be counted."""
    counts = dm.group_by("stratum").aggregate(
        nt=dm.treated.ifelse(1, 0).sum(), nc=(~dm.treated).ifelse(1, 0).sum()
    )
    j = dm.join(counts, "stratum")
    matched = (j.nt > 0) & (j.nc > 0)
    weight = matched.ifelse(j.treated.ifelse(1.0, j.nt.cast("float64") / j.nc), 0.0)
    return j.mutate(matched=matched, weight=weight)


def did_estimate(dw: ir.Table) -> ir.Table:
    """δ = mean_T(y) − Σ_C w·y / Σ_C w, plus the naive pre/post change of the treated."""
    t = (dw.treated & dw.matched).ifelse(1.0, 0.0)
    c = (~dw.treated & dw.matched).ifelse(1.0, 0.0)
    return dw.aggregate(
        n_treated_all=dw.treated.ifelse(1, 0).sum(),
        n_treated=(dw.treated & dw.matched).ifelse(1, 0).sum(),
        n_comparison=(~dw.treated & dw.matched).ifelse(1, 0).sum(),
        sum_t_y=(t * dw.y).sum(),
        sum_c_wy=(c * dw.weight * dw.y).sum(),
        sum_c_w=(c * dw.weight).sum(),
        treated_perf_months=(dw.treated & dw.matched).ifelse(dw.perf_months, 0).sum(),
    )


def monthly_pmpm(mm: ir.Table, program: ir.Table | None) -> ir.Table:
    """Uncapped PMPM by month for participants and non-participants (the savings chart)."""
    if program is not None:
        ids = program.select("member_id").distinct()
        g = mm.mutate(group=mm.member_id.isin(ids.member_id).ifelse("participants", "non-participants"))
    else:
        g = mm.mutate(group=ibis.literal("all members"))
    return g.group_by(["month", "group"]).aggregate(
        member_months=g.member_id.count(), tcoc=g.paid.sum().cast(MONEY)
    )


# ---------------------------------------------------------------- the report


@dataclass(frozen=True)
class Line:
    label: str
    formula: str
    result: str


@dataclass
class DidResult:
    n_treated: int
    n_comparison: int
    n_treated_unmatched: int
    effect_pmpm: Decimal  # negative = participants' PMPM fell relative to the matched comparison
    ci_low: Decimal
    ci_high: Decimal
    confidence: float
    treated_performance_member_months: int
    savings: Decimal  # −effect × treated performance member-months
    savings_ci_low: Decimal
    savings_ci_high: Decimal
    naive_pre_post_pmpm: Decimal  # the treated group's own change (regression to the mean shows here)
    bootstrap: int

    @property
    def significant(self) -> bool:
        """The CI excludes zero."""
        return self.ci_high < 0 or self.ci_low > 0


@dataclass
class SavingsReport:
    engine: str
    params: SavingsParams
    baseline_member_months: int
    baseline_tcoc: Decimal
    baseline_pmpm: Decimal
    performance_member_months: int
    actual_tcoc: Decimal
    actual_pmpm: Decimal
    trend_annual: Decimal
    trend_source: str
    trend_factor: Decimal
    projected_pmpm: Decimal
    projected_tcoc: Decimal
    gross_savings: Decimal
    savings_rate: Decimal
    msr_met: bool
    guaranteed_payments: Decimal
    net_savings: Decimal
    cap_pmpm: dict[str, Decimal | None]
    did: DidResult | None
    monthly: list[dict[str, Any]]
    lines: list[Line] = field(default_factory=list)
    sql: str = ""
    seconds: float = 0.0

    @property
    def savings_supported(self) -> bool:
        """Savings are positive, meet the minimum savings rate, and the DiD CI (if any) excludes zero
        in the savings direction: what payments-and-value.md section 4 says may be paid out."""
        ok = self.net_savings > 0 and self.msr_met
        if self.did is not None:
            ok = ok and self.did.significant and self.did.effect_pmpm < 0
        return ok

    def explain(self) -> str:
        return "\n".join(f"{ln.label}: {ln.formula} = {ln.result}" for ln in self.lines)

    def as_dict(self) -> dict:
        def conv(v):
            if isinstance(v, Decimal):
                return str(v)
            if isinstance(v, date):
                return v.isoformat()
            if isinstance(v, dict):
                return {k: conv(x) for k, x in v.items()}
            if isinstance(v, list | tuple):
                return [conv(x) for x in v]
            return v

        d = {k: conv(v) for k, v in asdict(self).items() if k not in ("params", "did", "lines")}
        d["params"] = conv(self.params.model_dump())
        d["did"] = (
            None if self.did is None else {**conv(asdict(self.did)), "significant": self.did.significant}
        )
        d["lines"] = [asdict(ln) for ln in self.lines]
        d["savings_supported"] = self.savings_supported
        return d


def bootstrap_did(
    treated: np.ndarray, stratum: np.ndarray, y: np.ndarray, reps: int, seed: int, confidence: float
) -> tuple[float, float, np.ndarray]:
    """Percentile CI of the CEM DiD: resample treated and comparison members with replacement
    (members are the clusters; group sizes kept), re-derive the stratum weights in each replicate."""
    rng = np.random.default_rng(seed)
    codes = np.unique(stratum, return_inverse=True)[1]
    k = int(codes.max()) + 1 if len(codes) else 0
    ti, ci = np.flatnonzero(treated), np.flatnonzero(~treated)
    out = np.empty(reps)
    for r in range(reps):
        bt = ti[rng.integers(0, len(ti), len(ti))]
        bc = ci[rng.integers(0, len(ci), len(ci))]
        nt = np.bincount(codes[bt], minlength=k)
        nc = np.bincount(codes[bc], minlength=k)
        sy_t = np.bincount(codes[bt], weights=y[bt], minlength=k)
        sy_c = np.bincount(codes[bc], weights=y[bc], minlength=k)
        ok = (nt > 0) & (nc > 0)
        n = nt[ok].sum()
        out[r] = (sy_t[ok].sum() - (nt[ok] * sy_c[ok] / nc[ok]).sum()) / n if n else np.nan
    alpha = (1 - confidence) / 2
    lo, hi = np.nanquantile(out, [alpha, 1 - alpha])
    return float(lo), float(hi), out


def _d(x: float) -> Decimal:
    return cents(Decimal(repr(float(x))))


def compute(
    con,
    claims: ir.Table,
    eligibility: ir.Table,
    program: ir.Table | None,
    params: SavingsParams,
) -> SavingsReport:
    """Run the shared-savings computation on ``con`` (DuckDB or Spark) and assemble the report."""
    t0 = time.perf_counter()
    claims = conform(claims, "claims")
    eligibility = conform(eligibility, "eligibility")
    program = conform(program, "program") if program is not None else None

    # claims are read once into member-months, and member-periods feed several queries: both are
    # materialized (a temp table on DuckDB, a cached DataFrame on Spark) and released at the end
    mm = member_months(claims, eligibility, params).cache()
    mp = periods_of(mm).cache()
    try:
        return _report(con, claims, eligibility, program, params, mm, mp, t0)
    finally:
        mp.release()
        mm.release()


def _report(
    con, claims, eligibility, program, params: SavingsParams, mm: ir.Table, mp: ir.Table, t0: float
) -> SavingsReport:
    mpc = with_program(capped(mp, params), program)
    totals = {r["period"]: r for r in con.to_pyarrow(contract_totals(mpc)).to_pylist()}
    caps: dict[str, Decimal | None] = {
        k: (
            params.cap_pmpm
            if params.cap_pmpm is not None
            else (_d(r["cap_pmpm"]) if r["cap_pmpm"] is not None else None)
        )
        # engines return groups in no fixed order: sort so reports read (and compare) the same
        for k, r in sorted(totals.items())
    }
    if BASELINE not in totals or PERFORMANCE not in totals:
        raise InvalidInput(
            "no attributed member-months in a period",
            [
                Problem(
                    "check the periods and the attribution zip codes / practices against the eligibility file"
                )
            ],
        )
    b, p = totals[BASELINE], totals[PERFORMANCE]
    base_mm, perf_mm = int(b["member_months"]), int(p["member_months"])
    base_tcoc, actual = cents(b["tcoc"]), cents(p["tcoc"])
    base_pmpm_exact = base_tcoc / base_mm
    yrs = params.years_between
    if params.trend is not None:
        trend, source = params.trend, "contract"
        factor = (1 + trend) ** yrs
    else:
        comp_ratio = (Decimal(p["comp_tcoc"]) / p["comp_member_months"]) / (
            Decimal(b["comp_tcoc"]) / b["comp_member_months"]
        )
        factor, source = comp_ratio, "observed in the comparison pool (non-participants)"
        trend = comp_ratio ** (1 / yrs) - 1
    projected_pmpm_exact = base_pmpm_exact * factor
    projected = cents(projected_pmpm_exact * perf_mm)
    gross = projected - actual
    rate = (gross / projected).quantize(Decimal("0.0001")) if projected else Decimal(0)
    msr_met = rate >= params.minimum_savings_rate
    net = gross - cents(params.guaranteed_payments)

    did: DidResult | None = None
    if program is not None:
        dw = did_weighted(did_members(mpc, params))
        est = con.to_pyarrow(did_estimate(dw)).to_pylist()[0]
        n_t_all = est["n_treated_all"] or 0
        if est["n_treated"] and est["n_comparison"]:
            delta = est["sum_t_y"] / est["n_treated"] - est["sum_c_wy"] / est["sum_c_w"]
            # sorted so a seeded bootstrap draws the same members whatever order the engine returns
            rows = con.to_pyarrow(
                dw.filter(dw.matched).select("member_id", "treated", "stratum", "y").order_by("member_id")
            )
            tr = rows["treated"].to_numpy(zero_copy_only=False).astype(bool)
            st = rows["stratum"].to_numpy(zero_copy_only=False)
            yv = rows["y"].to_numpy(zero_copy_only=False).astype(float)
            lo, hi, _ = (
                bootstrap_did(tr, st, yv, params.bootstrap, params.seed, params.confidence)
                if params.bootstrap
                else (delta, delta, None)
            )
            tmm = int(est["treated_perf_months"])
            naive = float(yv[tr].mean())
            did = DidResult(
                n_treated=int(est["n_treated"]),
                n_comparison=int(est["n_comparison"]),
                n_treated_unmatched=int(n_t_all) - int(est["n_treated"]),
                effect_pmpm=_d(delta),
                ci_low=_d(lo),
                ci_high=_d(hi),
                confidence=params.confidence,
                treated_performance_member_months=tmm,
                savings=cents(-_d(delta) * tmm),
                savings_ci_low=cents(-_d(hi) * tmm),
                savings_ci_high=cents(-_d(lo) * tmm),
                naive_pre_post_pmpm=_d(naive),
                bootstrap=params.bootstrap,
            )
    monthly = [
        {
            "month": r["month"],
            "group": r["group"],
            "member_months": int(r["member_months"]),
            "pmpm": cents(Decimal(r["tcoc"]) / r["member_months"]),
        }
        for r in con.to_pyarrow(monthly_pmpm(mm, program).order_by(["month", "group"])).to_pylist()
    ]
    sql = str(
        ibis.to_sql(
            contract_totals(
                with_program(capped(member_periods(claims, eligibility, params), params), program)
            ),
            dialect=con.name,
        )
    )
    cap_txt = (
        f"fixed ${params.cap_pmpm} PMPM"
        if params.cap_pmpm is not None
        else (
            f"{params.cap_percentile} percentile: "
            + ", ".join(f"{k} {fmt_usd(v)}" for k, v in caps.items() if v is not None)
            if params.cap_percentile is not None
            else "none"
        )
    )
    # every operand is shown as used (the trend factor to 10 decimals), so each line can be redone by
    # hand to the cent; numbers as people write them (kit.numbers)
    f_txt = number(factor, 10)
    lines = [
        Line("outlier cap (member PMPM per period)", cap_txt, ""),
        Line(
            "baseline PMPM",
            f"{usd(base_tcoc)} TCOC / {number(base_mm)} attributed member-months",
            amount(base_pmpm_exact),
        ),
        Line("trend factor", f"{source}: (1 + {number(trend)}) ^ {number(yrs, 3)} years", f_txt),
        Line(
            "projected PMPM",
            f"{usd(base_tcoc)} / {number(base_mm)} member-months × {f_txt}",
            amount(projected_pmpm_exact),
        ),
        Line(
            "projected TCOC",
            f"{usd(base_tcoc)} / {number(base_mm)} baseline member-months × {f_txt} × {number(perf_mm)} "
            "performance member-months",
            amount(projected),
        ),
        Line(
            "actual TCOC",
            f"capped paid claims of the attributed population ({number(perf_mm)} member-months)",
            amount(actual),
        ),
        Line("gross savings", f"{amount(projected)} − {amount(actual)}", amount(gross)),
        Line(
            "savings rate",
            f"{amount(gross)} / {amount(projected)} (minimum savings rate {number(params.minimum_savings_rate)})",
            f"{rate} ({'met' if msr_met else 'not met'})",
        ),
        Line(
            "savings net of the guaranteed payment",
            f"{amount(gross)} − {amount(params.guaranteed_payments)}",
            amount(net),
        ),
    ]
    if did is not None:
        lines += [
            Line(
                "DiD effect on participants' PMPM",
                f"mean(Δ PMPM, {number(did.n_treated)} participants) − weighted mean(Δ PMPM, "
                f"{number(did.n_comparison)} matched comparison members)",
                f"{amount(did.effect_pmpm)} ({int(did.confidence * 100)} % CI {amount(did.ci_low)} to "
                f"{amount(did.ci_high)}, {number(did.bootstrap)} bootstrap replicates)",
            ),
            Line(
                "DiD savings",
                f"−({amount(did.effect_pmpm)}) × {number(did.treated_performance_member_months)} participant "
                "member-months",
                f"{amount(did.savings)} (CI {amount(did.savings_ci_low)} to {amount(did.savings_ci_high)})",
            ),
            Line(
                "naive pre/post change of participants",
                "not a savings estimate (regression to the mean)",
                amount(did.naive_pre_post_pmpm),
            ),
        ]
    return SavingsReport(
        engine="spark" if con.name == "pyspark" else con.name,
        params=params,
        baseline_member_months=base_mm,
        baseline_tcoc=base_tcoc,
        baseline_pmpm=cents(base_pmpm_exact),
        performance_member_months=perf_mm,
        actual_tcoc=actual,
        actual_pmpm=cents(actual / perf_mm),
        trend_annual=trend.quantize(Decimal("0.0001")),
        trend_source=source,
        trend_factor=factor.quantize(Decimal("0.000001")),
        projected_pmpm=cents(projected_pmpm_exact),
        projected_tcoc=projected,
        gross_savings=gross,
        savings_rate=rate,
        msr_met=msr_met,
        guaranteed_payments=cents(params.guaranteed_payments),
        net_savings=net,
        cap_pmpm=caps,
        did=did,
        monthly=monthly,
        lines=lines,
        sql=sql,
        seconds=round(time.perf_counter() - t0, 3),
    )


def run(
    claims_path,
    eligibility_path,
    params: SavingsParams,
    program_path=None,
    engine: str = "duckdb",
    con=None,
) -> SavingsReport:
    """Read the files on the chosen engine and compute the report."""
    con = con or connect_mod.connect(engine)
    claims = connect_mod.read(con, claims_path)
    elig = connect_mod.read(con, eligibility_path)
    prog = connect_mod.read(con, program_path) if program_path else None
    return compute(con, claims, elig, prog, params)


# ---------------------------------------------------------------- hand-off to the payments engine


@dataclass(frozen=True)
class TcocFacts:
    """What the shared-savings term of a contract settles on (payments engine input)."""

    projected_tcoc: Decimal
    actual_tcoc: Decimal
    guaranteed_payments: Decimal
    quality_metrics_met: int | None
    quality_metrics_total: int | None
    member_months: int
    savings_rate: Decimal
    minimum_savings_rate: Decimal
    msr_met: bool
    savings_supported: bool
    savings_ci_low: Decimal | None
    savings_ci_high: Decimal | None
    explanation: tuple[str, ...]

    def as_dict(self) -> dict:
        return asdict(self)


def tcoc_facts(report: SavingsReport) -> TcocFacts:
    did = report.did
    return TcocFacts(
        projected_tcoc=report.projected_tcoc,
        actual_tcoc=report.actual_tcoc,
        guaranteed_payments=report.guaranteed_payments,
        quality_metrics_met=report.params.quality_metrics_met,
        quality_metrics_total=report.params.quality_metrics_total,
        member_months=report.performance_member_months,
        savings_rate=report.savings_rate,
        minimum_savings_rate=report.params.minimum_savings_rate,
        msr_met=report.msr_met,
        savings_supported=report.savings_supported,
        savings_ci_low=did.savings_ci_low if did else None,
        savings_ci_high=did.savings_ci_high if did else None,
        explanation=tuple(f"{ln.label}: {ln.formula} = {ln.result}" for ln in report.lines),
    )


def to_payment_facts(report: SavingsReport, term_id: str, *, allow_unsupported: bool = False) -> dict:
    """The ``tcoc`` facts section the payments engine settles a ``shared_savings`` term on
    (socialcare.payments.loader.TcocFigures), as plain data: ``build_facts`` takes it as YAML/JSON,
    and ``socialcare payments settle --facts`` as a file.

    Only projected and actual TCOC, member-months and quality metrics met go across: the payment
    term nets out its own guaranteed payment and applies its own minimum savings rate, band and
    caps, so the report's ``guaranteed_payments`` is deliberately left out (netting it twice would
    underpay). What the payments engine cannot see is the evaluation: savings whose
    difference-in-differences interval includes zero are flagged, not paid out
    (payments-and-value.md section 4), so they are refused here unless the joint operating
    committee decides otherwise (``allow_unsupported=True``). Losses pass: a shared-losses term
    settles on them whatever the interval says.
    """
    did = report.did
    if report.gross_savings > 0 and did is not None and not (did.significant and did.effect_pmpm < 0):
        if not allow_unsupported:
            raise InvalidInput(
                "the savings are not supported by the difference-in-differences: flag them, do not pay out",
                [
                    Problem(
                        f"DiD effect {did.effect_pmpm} PMPM, {int(did.confidence * 100)} % CI {did.ci_low} to "
                        f"{did.ci_high}: the interval includes zero (or shows higher cost)",
                        field=f"tcoc.{term_id}",
                    )
                ],
            )
    figures: dict[str, Any] = {
        "projected_tcoc": str(report.projected_tcoc),
        "actual_tcoc": str(report.actual_tcoc),
        "member_months": report.performance_member_months,
    }
    if report.params.quality_metrics_met is not None:
        figures["quality_metrics_met"] = report.params.quality_metrics_met
    return {"tcoc": {term_id: figures}}
