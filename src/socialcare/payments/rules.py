"""The settlement engine: ``settle(terms, facts, period) -> Statement``. Pure and deterministic.

Each term produces statement lines: a component, a human formula ("1,234 meals x $8.50"), the
inputs, an amount and the plan's MLR category. Lines flagged ``paid=False`` are reported, not paid
(volume over a cap, a volume target, the FFS a hybrid computes but does not pay, a refused
flex-fund request): they show the amount they would have been and are left out of the total.

Rounding: every line amount is rounded to cents, half up, once, from the exact Decimal product
of its inputs; totals are sums of rounded lines, so lines always add up to the total. Terms that
depend on other terms' payments (P4P net of base, shared savings net of guaranteed payments,
recoupment) use those terms' rounded paid totals.

Delivered services arrive as an Arrow table; they are aggregated (units per service code per
day) with Arrow's group-by and the Decimal money is done on the aggregates, never per row.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from socialcare.core.errors import InvalidInput, Problem
from socialcare.core.money import ZERO, cents, fmt_usd
from socialcare.payments import schemas as s
from socialcare.payments.loader import Carried, Facts

HUNDRED = Decimal(100)

# ---- periods ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A settlement period, both ends included."""

    start: date
    end: date
    label: str = ""

    @classmethod
    def parse(cls, text: str) -> Period:
        """'2025-03' (a month), '2025-Q1', '2025' (a year) or '2025-01-01..2025-03-31'."""
        t = (text or "").strip()
        try:
            if m := re.fullmatch(r"(\d{4})-(\d{2})", t):
                y, mo = int(m[1]), int(m[2])
                return cls(date(y, mo, 1), _month_end(y, mo), t)
            if m := re.fullmatch(r"(\d{4})-[Qq]([1-4])", t):
                y, q = int(m[1]), int(m[2])
                return cls(date(y, 3 * q - 2, 1), _month_end(y, 3 * q), f"{y}-Q{q}")
            if m := re.fullmatch(r"(\d{4})", t):
                return cls(date(int(t), 1, 1), date(int(t), 12, 31), t)
            if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})", t):
                a, b = date.fromisoformat(m[1]), date.fromisoformat(m[2])
                if b < a:
                    raise ValueError
                return cls(a, b, f"{a}..{b}")
        except ValueError:
            pass
        raise InvalidInput(f"'{text}' is not a period", [Problem(
            "a period is YYYY-MM, YYYY-Qn, YYYY or YYYY-MM-DD..YYYY-MM-DD", field="period")])

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end

    def months(self) -> list[str]:
        out, y, m = [], self.start.year, self.start.month
        while date(y, m, 1) <= self.end:
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out

    def __str__(self) -> str:
        return self.label or f"{self.start}..{self.end}"


def _month_end(y: int, m: int) -> date:
    return (date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)) - timedelta(days=1)


# ---- statement -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    term_id: str
    model: str
    component: str
    description: str
    formula: str
    inputs: dict
    amount: Decimal
    mlr: str
    paid: bool = True
    month: str | None = None
    service_code: str | None = None
    units: int | None = None
    rate: Decimal | None = None
    authority: str = ""  # in_lieu_of_services | section_1115_waiver (MLR reporting)

    def as_dict(self) -> dict:
        return {
            "term_id": self.term_id, "model": self.model, "component": self.component,
            "description": self.description, "formula": self.formula, "inputs": _jsonable(self.inputs),
            "amount": str(self.amount), "mlr": self.mlr, "status": "paid" if self.paid else "reported_only",
            "month": self.month, "service_code": self.service_code, "units": self.units,
            "rate": None if self.rate is None else str(self.rate), "authority": self.authority,
        }


@dataclass(frozen=True)
class Statement:
    contract: str
    period: Period
    billing_mode: str
    lines: tuple[Line, ...]
    notes: tuple[str, ...] = ()
    carry: dict = field(default_factory=dict, compare=False)  # state handed to the next period (JSON-able)

    @property
    def total(self) -> Decimal:
        """What the plan pays for the period: the sum of the paid lines."""
        return sum((ln.amount for ln in self.lines if ln.paid), ZERO)

    @property
    def reported_total(self) -> Decimal:
        return sum((ln.amount for ln in self.lines if not ln.paid), ZERO)

    def by_term(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for ln in self.lines:
            if ln.paid:
                out[ln.term_id] = out.get(ln.term_id, ZERO) + ln.amount
            else:
                out.setdefault(ln.term_id, ZERO)
        return out

    def by_mlr(self) -> dict[str, Decimal]:
        out = {"medical": ZERO, "quality_improvement": ZERO, "administrative": ZERO}
        for ln in self.lines:
            if ln.paid:
                out[ln.mlr] += ln.amount
        return out

    def as_dict(self) -> dict:
        return {
            "contract": self.contract, "period": {"label": str(self.period), "start": self.period.start.isoformat(),
                                                  "end": self.period.end.isoformat()},
            "billing_mode": self.billing_mode,
            "lines": [ln.as_dict() for ln in self.lines],
            "totals": {"paid": str(self.total), "reported_only": str(self.reported_total),
                       "by_term": {k: str(v) for k, v in self.by_term().items()},
                       "by_mlr": {k: str(v) for k, v in self.by_mlr().items()}},
            "notes": list(self.notes),
            "carried_forward": self.carry,
            "rounding": "each line rounded to cents, half up; totals are sums of rounded lines",
        }

    def explain(self) -> str:
        """A plain-text statement: one line per term and component with its formula and amount."""
        out = [f"Settlement statement: {self.contract or 'contract'}, period {self.period}"]
        width = max((len(f"{ln.term_id} / {ln.component}") for ln in self.lines), default=10)
        for ln in self.lines:
            flag = "" if ln.paid else "  (reported, not paid)"
            month = f" [{ln.month}]" if ln.month else ""
            out.append(f"  {f'{ln.term_id} / {ln.component}':<{width}}  {fmt_usd(ln.amount):>16}  "
                       f"{ln.mlr:<19} {ln.formula}{month}{flag}")
        out.append(f"  {'TOTAL PAID':<{width}}  {fmt_usd(self.total):>16}")
        for k, v in self.by_mlr().items():
            out.append(f"    {k}: {fmt_usd(v)}")
        out += [f"  note: {n}" for n in self.notes]
        return "\n".join(out)


def _jsonable(v):
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return v


# ---- formatting ------------------------------------------------------------------------------


def fmt_rate(r: Decimal) -> str:
    q = r.quantize(Decimal("0.01"))
    r = q if r == q else r.normalize()
    return f"${r:,}" if r == q else f"${r:,f}"


def fmt_pct(p: Decimal) -> str:
    q = p.quantize(Decimal("0.0001")).normalize()
    return f"{q:f}%"


def _n(x) -> str:
    return f"{x:,}"


def _units(n: int, unit: str) -> str:
    if n == 1:
        return f"1 {unit}"
    return f"{n:,} {unit}" + ("es" if unit.endswith(("s", "x", "ch", "sh")) else "s")


# ---- settlement ------------------------------------------------------------------------------


@dataclass
class _Ctx:
    terms: s.PaymentTerms
    facts: Facts
    period: Period  # the settlement period clipped to the contract's term
    daily: dict[str, list[tuple[date, int]]]
    table: pa.Table | None
    within: tuple[date, date] = (date.min, date.max)  # the contract's term
    carried: Carried = field(default_factory=Carried)
    problems: list[Problem] = field(default_factory=list)
    paid: dict[str, Decimal] = field(default_factory=dict)
    carry: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def units(self, code: str, *ranges) -> list[tuple[date, int]]:
        return [(d, u) for d, u in self.daily.get(code, []) if all(r.active_on(d) for r in ranges)]

    def active_range(self, *ranges) -> tuple[date, date]:
        """The days the contract and every dated range (term, fee line) are in force."""
        lo, hi = self.within
        for r in ranges:
            lo = max(lo, r.effective_from or date.min)
            hi = min(hi, r.effective_to or date.max)
        return lo, hi

    def put(self, section: str, term_id: str, value) -> None:
        self.carry.setdefault(section, {})[term_id] = _jsonable(value)


def settle(terms: s.PaymentTerms, facts: Facts, period: Period | str, *, carried: Carried | dict | None = None,
           within: tuple[date | None, date | None] | None = None) -> Statement:
    """Settle ``terms`` for ``period`` on ``facts``. Raises InvalidInput (file, row, field) and makes
    no statement when any fact is bad.

    ``within`` is the contract's term (default: the terms' contract_start/contract_end): facts outside
    it are not settled and minimum volumes are prorated to it. ``carried`` is the state the previous
    period handed on (``Statement.carry``; default: the facts' ``carried`` section)."""
    if isinstance(period, str):
        period = Period.parse(period)
    lo, hi = within or (terms.contract_start, terms.contract_end)
    lo, hi = lo or date.min, hi or date.max
    if isinstance(carried, dict):
        carried = Carried.model_validate(carried)
    carried = carried or facts.other.carried or Carried()
    problems: list[Problem] = []
    clipped = Period(max(period.start, lo), min(period.end, hi), period.label)
    notes: list[str] = []
    if clipped.end < clipped.start:
        notes.append(f"the contract's term ({lo}..{hi}) does not overlap {period}: nothing was settled")
        return Statement(terms.contract, period, terms.billing.mode, (), tuple(notes))
    if (clipped.start, clipped.end) != (period.start, period.end):
        notes.append(f"settled {clipped.start}..{clipped.end}: the part of {period} within the contract's term")
    table, daily, svc_notes = _services(terms, facts, clipped, problems)
    notes += svc_notes
    _check_fact_keys(terms, facts, problems)
    if problems:
        raise InvalidInput("The facts were refused; nothing was settled", problems)
    ctx = _Ctx(terms, facts, clipped, daily, table, (lo, hi), carried)
    per_term: dict[str, list[Line]] = {}
    for term in s.settlement_order(terms):
        if not _active_in(term, clipped):
            per_term[term.id] = []
            _carry_unchanged(term, ctx)
            continue
        lines = SETTLERS[term.model](term, ctx)
        per_term[term.id] = lines
        ctx.paid[term.id] = sum((ln.amount for ln in lines if ln.paid), ZERO)
    if ctx.problems:
        raise InvalidInput("The facts were refused; nothing was settled", ctx.problems)
    lines = tuple(ln for t in terms.terms for ln in per_term[t.id])
    return Statement(terms.contract, period, terms.billing.mode, lines, tuple(notes + ctx.notes), ctx.carry)


def _carry_unchanged(term, ctx: _Ctx) -> None:
    """A term not in force this period hands its carried state on as it was."""
    c = ctx.carried
    for section in ("recoupment", "penalties", "units", "hybrid", "flex"):
        v = getattr(c, section).get(term.id)
        if v is not None:
            ctx.put(section, term.id, v.model_dump() if hasattr(v, "model_dump") else
                    {k: (x.model_dump() if hasattr(x, "model_dump") else x) for k, x in v.items()})


def _active_in(term, period: Period) -> bool:
    return (term.effective_from is None or term.effective_from <= period.end) and (
        term.effective_to is None or term.effective_to >= period.start)


def _services(terms, facts: Facts, period: Period, problems: list[Problem]):
    """Check codes against the terms (all rows), keep the period's rows, sum units per code per day."""
    t = facts.services
    if t is None or t.num_rows == 0:
        return t, {}, []
    known = terms.known_codes()
    unknown = [c for c in pc.unique(t["service_code"]).to_pylist() if c not in known]
    if unknown:
        from socialcare.payments.loader import _bad_rows

        _bad_rows(problems, pc.is_in(t["service_code"], pa.array(unknown, pa.string())), facts.services_file,
                  "service_code", f"not a service in these payment terms (known: {', '.join(sorted(known))})")
        return t, {}, []
    start = pa.scalar(period.start, pa.date32())
    end = pa.scalar(period.end, pa.date32())
    mask = pc.and_(pc.greater_equal(t["service_date"], start), pc.less_equal(t["service_date"], end))
    inside = t.filter(mask)
    notes = []
    outside = t.num_rows - inside.num_rows
    if outside:
        notes.append(f"{outside:,} delivered-service rows fall outside {period} and were not settled")
    agg = inside.group_by(["service_code", "service_date"]).aggregate([("units", "sum")])
    daily: dict[str, list[tuple[date, int]]] = defaultdict(list)
    for code, day, units in zip(agg["service_code"].to_pylist(), agg["service_date"].to_pylist(),
                                agg["units_sum"].to_pylist(), strict=True):
        daily[code].append((day, units))
    for v in daily.values():
        v.sort()
    return inside, dict(daily), notes


_SECTION_MODELS = {
    "member_months": ("capitation", "hybrid_ffs_capitation"),
    "engagements": ("outcome_based",),
    "pathway_completions": ("outcome_based",),
    "tcoc": ("shared_savings",),
    "joc_hours": ("pre_launch",),
}


def _check_fact_keys(terms, facts: Facts, problems: list[Problem]) -> None:
    models = {t.id: t.model for t in terms.terms}
    o = facts.other
    for section, allowed in _SECTION_MODELS.items():
        for key in getattr(o, section):
            if key not in models:
                problems.append(facts.problem(f"no term has the id '{key}'", section, key))
            elif models[key] not in allowed:
                problems.append(facts.problem(f"term '{key}' is {models[key]}, not {' or '.join(allowed)}",
                                              section, key))
    for i, e in enumerate(o.episodes):
        if models.get(e.term) != "bundled":
            problems.append(facts.problem(f"'{e.term}' is not a bundled term of these payment terms",
                                          "episodes", i, "term"))
    for i, p in enumerate(o.penalty_occurrences):
        if models.get(p.term) != "escalating_penalty":
            problems.append(facts.problem(f"'{p.term}' is not an escalating_penalty term of these payment terms",
                                          "penalty_occurrences", i, "term"))
    flex = [t.id for t in terms.terms if t.model == "flex_funds"]
    for i, d in enumerate(o.disbursements):
        if d.term is None and len(flex) != 1:
            problems.append(facts.problem("say which flex_funds term this disbursement is from", "disbursements",
                                          i, "term"))
        elif d.term is not None and d.term not in flex:
            problems.append(facts.problem(f"'{d.term}' is not a flex_funds term", "disbursements", i, "term"))


def _line(term, component: str, description: str, formula: str, inputs: dict, amount: Decimal, *,
          paid: bool = True, mlr: str | None = None, **kw) -> Line:
    return Line(term.id, term.model, component, description, formula, inputs, cents(amount), mlr or term.mlr,
                paid, authority=getattr(term, "authority", ""), **kw)


# ---- fixed price -----------------------------------------------------------------------------


def _fixed_price(t: s.FixedPrice, ctx: _Ctx) -> list[Line]:
    out = []
    for i, inst in enumerate(t.installments):
        if inst.due in ctx.period:
            out.append(_line(t, f"installment {i + 1}", inst.label or f"installment due {inst.due}",
                             f"{fmt_usd(inst.amount)} of the {fmt_usd(t.total)} fixed price, due {inst.due}",
                             {"due": inst.due, "amount": inst.amount, "total": t.total}, inst.amount))
    for v in t.volume_targets:
        if v.metric:
            actual = ctx.facts.other.metrics.get(v.metric)
            what = f"metric {v.metric}"
        elif v.distinct_members:
            actual = _distinct_members(ctx, v.service_codes, t)
            what = f"members served ({', '.join(v.service_codes)})"
        else:
            actual = sum(u for c in v.service_codes for _, u in ctx.units(c, t))
            what = f"units of {', '.join(v.service_codes)}"
        shown = "not reported" if actual is None else _n(actual)
        status = "" if actual is None else (" (met)" if actual >= v.target else " (not met)")
        out.append(_line(t, "volume target", v.label, f"{what}: {shown} against a target of {_n(v.target)}{status}",
                         {"target": v.target, "actual": actual}, ZERO, paid=False))
    return out


def _distinct_members(ctx: _Ctx, codes: list[str], term) -> int:
    if ctx.table is None or ctx.table.num_rows == 0:
        return 0
    tb = ctx.table.filter(pc.is_in(ctx.table["service_code"], pa.array(codes, pa.string())))
    if term.effective_from or term.effective_to:
        lo = pa.scalar(term.effective_from or date.min, pa.date32())
        hi = pa.scalar(term.effective_to or date.max, pa.date32())
        tb = tb.filter(pc.and_(pc.greater_equal(tb["service_date"], lo), pc.less_equal(tb["service_date"], hi)))
    return int(pc.count_distinct(tb["member_id"]).as_py())


# ---- bundled / case rate ---------------------------------------------------------------------


def _bundled(t: s.Bundled, ctx: _Ctx) -> list[Line]:
    eps = [(i, e) for i, e in enumerate(ctx.facts.other.episodes) if e.term == t.id]
    by_member: dict[str, list] = defaultdict(list)
    for i, e in eps:
        by_member[e.member_id].append((e.start, i, e))
    counts = {"initial": 0, "renewal": 0, "not_approved": 0, "over_max": 0, "initial_not_approved": 0}
    for member in sorted(by_member):
        chain = sorted(by_member[member])
        renewals = 0
        prev_end = None
        for start, i, e in chain:
            if prev_end is not None and start <= prev_end:
                ctx.problems.append(ctx.facts.problem(
                    f"episode {e.episode_id} starts on {start}, before the member's previous episode ends "
                    f"({prev_end}): overlapping periods", "episodes", i, "start"))
            prev_end = start + timedelta(days=t.episode_days - 1)
            if e.kind == "renewal":
                renewals += 1 if e.approved else 0
            if start not in ctx.period or not t.active_on(start):
                continue
            if e.kind == "initial":
                counts["initial" if e.approved is not False else "initial_not_approved"] += 1
            elif not e.approved:
                counts["not_approved"] += 1
            elif t.max_renewals is not None and renewals > t.max_renewals:
                counts["over_max"] += 1
            else:
                counts["renewal"] += 1
    rate, renewal_rate = t.episode_rate, t.renewal_rate if t.renewal_rate is not None else t.episode_rate
    days = f"up to {t.episode_days} days"
    out = []
    if counts["initial"]:
        n = counts["initial"]
        out.append(_line(t, "episodes", f"case rate per episode ({days})", f"{_n(n)} episodes × {fmt_rate(rate)}",
                         {"episodes": n, "rate": rate}, n * rate, service_code=t.billing_code, units=n, rate=rate))
    if counts["renewal"]:
        n = counts["renewal"]
        out.append(_line(t, "approved renewals", f"renewal periods approved by the plan ({days})",
                         f"{_n(n)} approved renewals × {fmt_rate(renewal_rate)}", {"renewals": n, "rate": renewal_rate},
                         n * renewal_rate, service_code=t.billing_code, units=n, rate=renewal_rate))
    for key, comp, desc in (("not_approved", "renewals not approved", "renewals without the plan's approval are not "
                             "paid"), ("over_max", "renewals over the maximum", f"more than {t.max_renewals} "
                             "renewals per member are not paid"), ("initial_not_approved", "episodes not approved",
                                                                   "episodes marked not approved are not paid")):
        if counts[key]:
            r = rate if key == "initial_not_approved" else renewal_rate
            out.append(_line(t, comp, desc, f"{_n(counts[key])} × {fmt_rate(r)}", {"count": counts[key], "rate": r},
                             counts[key] * r, paid=False))
    for code in t.services_carved_in:
        units = sum(u for _, u in ctx.units(code, t))
        if units:
            out.append(_line(t, f"carved in: {code}", "included in the case rate, not paid separately",
                             f"{_n(units)} units of {code} delivered", {"units": units}, ZERO, paid=False,
                             service_code=code, units=units))
    return out


# ---- pay for performance ---------------------------------------------------------------------


def _metric(ctx: _Ctx, t, name: str) -> Decimal | None:
    v = ctx.facts.other.metrics.get(name)
    if v is None:
        ctx.problems.append(Problem(f"term '{t.id}' needs the value of metric '{name}'", field=f"metrics.{name}",
                                    file=ctx.facts.sources.get("metrics", "facts")))
    return v


def _pay_for_performance(t: s.PayForPerformance, ctx: _Ctx) -> list[Line]:
    base = sum((ctx.paid.get(b, ZERO) for b in t.base_terms), ZERO)
    out = []
    for m in t.metrics:
        before = len(out)
        value = _metric(ctx, t, m.metric)
        if value is None:
            continue
        met = m.met(value)
        cmp = "≥" if m.direction == "at_least" else "≤"
        test = f"{m.metric} {_n(value)} {cmp} {_n(m.target)}: {'met' if met else 'not met'}"
        inputs = {"value": value, "target": m.target, "met": met}
        if met and m.bonus is not None:
            out.append(_line(t, f"bonus: {m.metric}", "performance bonus", f"{test} → {fmt_usd(m.bonus)}",
                             inputs, m.bonus))
        if met and m.bonus_percent_of_base is not None:
            out.append(_line(t, f"bonus: {m.metric}", "performance bonus, percent of base",
                             f"{test} → {fmt_pct(m.bonus_percent_of_base)} × base {fmt_usd(base)}",
                             {**inputs, "base": base}, base * m.bonus_percent_of_base / HUNDRED))
        if not met and m.penalty is not None:
            out.append(_line(t, f"penalty: {m.metric}", "performance penalty", f"{test} → −{fmt_usd(m.penalty)}",
                             inputs, -m.penalty))
        if not met and m.penalty_percent_of_base is not None:
            out.append(_line(t, f"penalty: {m.metric}", "performance penalty, percent of base",
                             f"{test} → −{fmt_pct(m.penalty_percent_of_base)} × base {fmt_usd(base)}",
                             {**inputs, "base": base}, -(base * m.penalty_percent_of_base / HUNDRED)))
        if len(out) == before:
            out.append(_line(t, f"metric: {m.metric}", "no bonus or penalty", test, inputs, ZERO))
    if t.relation == "net_of_base":
        out.append(_line(t, "net of base", "payments already made under the base terms are subtracted",
                         f"− base paid {fmt_usd(base)} ({', '.join(t.base_terms)})", {"base": base}, -base))
        running = sum((ln.amount for ln in out if ln.paid), ZERO)
        if t.floor_at_zero and running < 0:
            out.append(_line(t, "floor at zero", "the performance payment never takes back base payments",
                             f"max(0, {fmt_usd(running)})", {"before_floor": running}, -running))
    return out


# ---- shared savings / losses -----------------------------------------------------------------


def _shared_savings(t: s.SharedSavings, ctx: _Ctx) -> list[Line]:
    fig = ctx.facts.other.tcoc.get(t.id)
    if fig is None:
        ctx.problems.append(Problem(f"total cost of care figures for term '{t.id}' are needed",
                                    field=f"tcoc.{t.id}", file=ctx.facts.sources.get("tcoc", "facts")))
        return []
    projected, actual = fig.projected_tcoc, fig.actual_tcoc
    guaranteed = t.guaranteed_payment + sum((ctx.paid.get(r, ZERO) for r in t.net_of_terms), ZERO)
    gross = projected - actual
    met = fig.quality_metrics_met
    if met is None and t.quality_metrics:
        values = [(q, _metric(ctx, t, q.metric)) for q in t.quality_metrics]
        if any(v is None for _, v in values):
            return []
        met = sum(1 for q, v in values if q.met(v))
    if met is None and t.sharing.max_percent != t.sharing.min_percent:
        ctx.problems.append(Problem(f"term '{t.id}' needs quality_metrics_met (or metric values)",
                                    field=f"tcoc.{t.id}.quality_metrics_met", file=ctx.facts.sources.get("tcoc")))
        return []
    met = met or 0
    inputs = {"projected_tcoc": projected, "actual_tcoc": actual, "guaranteed_payments": guaranteed,
              "quality_metrics_met": met}
    rate_pct = (actual - projected) / projected * HUNDRED if projected else Decimal(0)
    out = []
    if gross > 0:
        savings_rate = gross / projected * HUNDRED if projected else Decimal(0)
        net = gross - guaranteed
        pct = t.sharing.percent(met)
        inputs |= {"gross_savings": gross, "savings_rate_percent": savings_rate.quantize(Decimal("0.0001")),
                   "net_savings": net, "sharing_percent": pct}
        base_formula = (f"(projected {fmt_usd(projected)} − actual {fmt_usd(actual)} − guaranteed "
                        f"{fmt_usd(guaranteed)}) = {fmt_usd(net)}")
        if savings_rate < t.minimum_savings_rate_percent:
            out.append(_line(t, "shared savings", "savings rate below the minimum savings rate: nothing shared",
                             f"savings rate {fmt_pct(savings_rate.quantize(Decimal('0.01')))} < MSR "
                             f"{fmt_pct(t.minimum_savings_rate_percent)}", inputs, ZERO))
        elif met < t.sharing.minimum_metrics_met:
            out.append(_line(t, "shared savings", "quality gate not met: nothing shared",
                             f"{met} metrics met < {t.sharing.minimum_metrics_met} required", inputs, ZERO))
        elif net <= 0:
            out.append(_line(t, "shared savings", "no savings left after the guaranteed payments",
                             f"{base_formula} ≤ $0", inputs, ZERO))
        else:
            share = net * pct / HUNDRED
            caps = [c for c in (t.cap_amount, None if t.cap_percent_of_projected is None
                                else projected * t.cap_percent_of_projected / HUNDRED) if c is not None]
            cap = min(caps) if caps else None
            paid = min(share, cap) if cap is not None else share
            band = (f"{fmt_pct(t.sharing.min_percent)} + ({fmt_pct(t.sharing.max_percent)} − "
                    f"{fmt_pct(t.sharing.min_percent)}) × {met}/{t.sharing.metrics_total} metrics met"
                    if t.sharing.metrics_total and not t.sharing.steps else f"{met} metrics met")
            out.append(_line(t, "shared savings", f"share of savings net of guaranteed payments ({band})",
                             f"{base_formula} × {fmt_pct(pct.quantize(Decimal('0.000001')))}",
                             {**inputs, "cap": cap}, paid))
            if cap is not None and share > cap:
                out.append(_line(t, "over savings cap", "shared savings above the cap are not paid",
                                 f"{fmt_usd(cents(share))} − cap {fmt_usd(cap)}", {"share": share, "cap": cap},
                                 cents(share) - cents(cap), paid=False))
    elif gross < 0 and t.losses is not None:
        loss = -gross
        lo = t.losses
        inputs |= {"loss": loss, "loss_rate_percent": rate_pct.quantize(Decimal("0.0001")),
                   "loss_sharing_percent": lo.sharing_percent}
        if rate_pct < lo.minimum_loss_rate_percent:
            out.append(_line(t, "shared losses", "loss rate below the minimum loss rate: nothing owed",
                             f"loss rate {fmt_pct(rate_pct.quantize(Decimal('0.01')))} < "
                             f"{fmt_pct(lo.minimum_loss_rate_percent)}", inputs, ZERO))
        else:
            owed = loss * lo.sharing_percent / HUNDRED
            caps = [c for c in (lo.cap_amount, None if lo.cap_percent_of_projected is None
                                else projected * lo.cap_percent_of_projected / HUNDRED) if c is not None]
            cap = min(caps) if caps else None
            owed_capped = min(owed, cap) if cap is not None else owed
            out.append(_line(t, "shared losses", "share of losses owed back to the plan",
                             f"−(actual {fmt_usd(actual)} − projected {fmt_usd(projected)}) × "
                             f"{fmt_pct(lo.sharing_percent)}" + (f", capped at {fmt_usd(cap)}" if cap is not None else ""),
                             {**inputs, "cap": cap}, -owed_capped))
    else:
        out.append(_line(t, "shared savings", "no savings", f"projected {fmt_usd(projected)} − actual "
                         f"{fmt_usd(actual)} = {fmt_usd(gross)}", inputs, ZERO))
    return out


# ---- escalating penalties --------------------------------------------------------------------


def penalty_amount(t: s.EscalatingPenalty, n: int) -> Decimal:
    """The n-th occurrence's penalty (n from 1), before rounding: linear first x (1 + i(n-1)),
    compounding first x (1 + i)^(n-1); times the share the partner bears."""
    i = t.increment_percent / HUNDRED
    factor = (1 + i * (n - 1)) if t.escalation == "linear" else (1 + i) ** (n - 1)
    return t.first_amount * factor * t.share_percent / HUNDRED


def _escalating_penalty(t: s.EscalatingPenalty, ctx: _Ctx) -> list[Line]:
    occ = [(o.date, i, o) for i, o in enumerate(ctx.facts.other.penalty_occurrences) if o.term == t.id]
    for _, i, o in occ:
        if t.measures and o.measure not in t.measures:
            ctx.problems.append(ctx.facts.problem(f"'{o.measure}' is not one of the term's measures "
                                                  f"({', '.join(t.measures)})", "penalty_occurrences", i, "measure"))
    carried = ctx.carried.penalties.get(t.id)
    counter: dict[str, int] = defaultdict(int, carried or {})
    out = []
    for day, _i, o in sorted(occ, key=lambda x: (x[0], x[1])):
        if day > ctx.period.end or not t.active_on(day):
            continue
        if carried is not None and day < ctx.period.start:
            continue  # already counted in the carried occurrences
        key = o.measure if t.count_by == "measure" else ""
        counter[key] += 1
        n = counter[key]
        if day < ctx.period.start:
            continue
        amount = penalty_amount(t, n)
        esc = (f"{fmt_usd(t.first_amount)} × (1 + {fmt_pct(t.increment_percent)} × {n - 1})" if t.escalation == "linear"
               else f"{fmt_usd(t.first_amount)} × (1 + {fmt_pct(t.increment_percent)})^{n - 1}")
        if t.share_percent != HUNDRED:
            esc += f" × {fmt_pct(t.share_percent)} share"
        what = f"occurrence {n}" + (f" of {o.measure}" if t.count_by == "measure" else "")
        out.append(_line(t, f"penalty {what}", o.description or o.measure or "penalty",
                         f"−{esc} on {day}", {"occurrence": n, "date": day, "measure": o.measure}, -amount))
    ctx.put("penalties", t.id, dict(counter))
    return out


# ---- outcome-based (Pathways HUB) ------------------------------------------------------------


def _outcome_based(t: s.OutcomeBased, ctx: _Ctx) -> list[Line]:
    o = ctx.facts.other
    if t.id not in o.engagements and t.id not in o.pathway_completions:
        ctx.problems.append(Problem(f"engagements or pathway_completions for term '{t.id}' are needed",
                                    field=f"engagements.{t.id}", file=ctx.facts.sources.get("engagements", "facts")))
        return []
    n = o.engagements.get(t.id, 0)
    out = [_line(t, "engagement", "confirmed engagements (home visits)", f"{_n(n)} engagements × "
                 f"{fmt_rate(t.engagement_rate)}", {"engagements": n, "rate": t.engagement_rate},
                 n * t.engagement_rate, units=n, rate=t.engagement_rate)]
    weights = {p.pathway: p.obu for p in t.pathways}
    completions = o.pathway_completions.get(t.id, {})
    for name in completions:
        if name not in weights:
            ctx.problems.append(ctx.facts.problem(f"'{name}' is not a pathway of term '{t.id}' "
                                                  f"({', '.join(weights)})", "pathway_completions", t.id, name))
    outcome = ZERO
    for p in t.pathways:
        c = completions.get(p.pathway, 0)
        if not c:
            continue
        obu = c * p.obu
        line = _line(t, f"pathway: {p.pathway}", "completed pathways, outcome-based units",
                     f"{_n(c)} completed × {_n(p.obu)} OBU × {fmt_rate(t.obu_rate)}",
                     {"completed": c, "obu_per_pathway": p.obu, "obu": obu, "obu_rate": t.obu_rate},
                     obu * t.obu_rate, units=c)
        outcome += line.amount
        out.append(line)
    if t.target_engagement_percent is not None:
        total = out[0].amount + outcome
        share = (out[0].amount / total * HUNDRED).quantize(Decimal("0.01")) if total else Decimal(0)
        out.append(_line(t, "split", "engagement share of the HUB's payment",
                         f"engagement {fmt_usd(out[0].amount)} / {fmt_usd(total)} = {fmt_pct(share)} (target "
                         f"{fmt_pct(t.target_engagement_percent)})",
                         {"engagement_percent": share, "target": t.target_engagement_percent}, ZERO, paid=False))
    return out


# ---- flexible member funds -------------------------------------------------------------------


def flex_decision(t: s.FlexFunds, member_used: Decimal, program_used: Decimal, amount: Decimal) -> str | None:
    """None when the request fits both limits, else why it is refused."""
    if member_used + amount > t.per_member_limit:
        return "over the per-member allowance"
    if program_used + amount > t.program_budget:
        return "over the program budget"
    return None


def program_year(t: s.FlexFunds, day: date) -> str:
    """The program year a day falls in ('' when the limits never restart)."""
    m = t.program_year_start_month
    if not m:
        return ""
    return f"{day.year if day.month >= m else day.year - 1}-{m:02d}"


def _flex_funds(t: s.FlexFunds, ctx: _Ctx) -> list[Line]:
    flex = [x.id for x in ctx.terms.terms if x.model == "flex_funds"]
    reqs = [(d.date, i, d) for i, d in enumerate(ctx.facts.other.disbursements)
            if (d.term or (flex[0] if len(flex) == 1 else None)) == t.id]
    for _, i, d in reqs:
        if d.category not in t.categories:
            ctx.problems.append(ctx.facts.problem(f"'{d.category}' is not a category of term '{t.id}' "
                                                  f"({', '.join(t.categories)})", "disbursements", i, "category"))
    state = ctx.carried.flex.get(t.id)
    member_used: dict[str, Decimal] = defaultdict(lambda: ZERO, state.members if state else {})
    program_used = state.program_used if state else ZERO
    year = state.year if state else None
    paid: dict[str, list] = defaultdict(lambda: [0, ZERO])
    refused: dict[str, list] = defaultdict(lambda: [0, ZERO])
    for day, _i, d in sorted(reqs, key=lambda x: (x[0], x[1])):
        if day > ctx.period.end or not t.active_on(day):
            continue
        if state is not None and day < ctx.period.start:
            continue  # already in the carried balances
        y = program_year(t, day)
        if y != year:
            if year is not None:
                member_used.clear()
                program_used = ZERO
            year = y
        why = flex_decision(t, member_used[d.member_id], program_used, d.amount)
        if why is None:
            member_used[d.member_id] += d.amount
            program_used += d.amount
        if day < ctx.period.start:
            continue
        bucket = paid[d.category] if why is None else refused[why]
        bucket[0] += 1
        bucket[1] += d.amount
    if t.program_year_start_month and year != program_year(t, ctx.period.end):
        year, program_used = program_year(t, ctx.period.end), ZERO
        member_used.clear()
    ctx.put("flex", t.id, {"year": year or "", "program_used": program_used,
                           "members": {k: v for k, v in sorted(member_used.items()) if v}})
    out = []
    for cat in t.categories:
        if cat in paid:
            n, amt = paid[cat]
            out.append(_line(t, f"disbursed: {cat}", "flexible member fund disbursements",
                             f"{_n(n)} disbursements totalling {fmt_usd(amt)}", {"count": n, "amount": amt}, amt))
    for why in sorted(refused):
        n, amt = refused[why]
        out.append(_line(t, "refused requests", f"requests refused: {why}",
                         f"{_n(n)} requests totalling {fmt_usd(amt)} (limits {fmt_usd(t.per_member_limit)} a member, "
                         f"{fmt_usd(t.program_budget)} program)", {"count": n, "amount": amt, "reason": why}, amt,
                         paid=False))
    out.append(_line(t, "budget used", "program budget used through the end of the period"
                     + (f" (program year from {year})" if t.program_year_start_month else ""),
                     f"{fmt_usd(program_used)} of {fmt_usd(t.program_budget)}",
                     {"used": program_used, "budget": t.program_budget}, ZERO, paid=False))
    return out


# ---- pre-launch and JOC time -----------------------------------------------------------------


def _pre_launch(t: s.PreLaunch, ctx: _Ctx) -> list[Line]:
    out = []
    if t.upfront > 0 and t.upfront_due in ctx.period:
        how = "recouped from service payments" if t.treatment == "recouped" else "in addition to service payments"
        out.append(_line(t, "upfront payment", f"pre-launch payment ({how})", f"{fmt_usd(t.upfront)} due "
                         f"{t.upfront_due}", {"amount": t.upfront, "treatment": t.treatment}, t.upfront))
    if t.treatment == "recouped":
        out += _recoupment(t, ctx)
    hours = ctx.facts.other.joc_hours.get(t.id)
    if hours:
        if t.joc_hourly_rate is None:
            ctx.problems.append(ctx.facts.problem(f"term '{t.id}' has no joc_hourly_rate to pay JOC time with",
                                                  "joc_hours", t.id))
        else:
            out.append(_line(t, "JOC time", "paid time for joint operating committee work",
                             f"{_n(hours)} hours × {fmt_rate(t.joc_hourly_rate)}",
                             {"hours": hours, "rate": t.joc_hourly_rate}, hours * t.joc_hourly_rate,
                             mlr="administrative"))
    return out


def _recoupment(t: s.PreLaunch, ctx: _Ctx) -> list[Line]:
    """Recoup the upfront from the service payments: a fixed schedule (a shortfall is carried to the next
    period) or a percent of each period's payments, with a running balance until recovered or the term ends."""
    out = []
    st = ctx.carried.recoupment.get(t.id)
    available = max(sum((ctx.paid.get(r, ZERO) for r in t.recoup_from), ZERO), ZERO)
    first_month = ctx.period.months()[0]
    if st is not None and st.balance is not None:
        balance = st.balance
    elif t.upfront_due is None or t.upfront_due > ctx.period.end:
        balance = ZERO  # not paid yet
    elif t.upfront_due in ctx.period or t.recoupment_percent is None:
        # without a ledger, a schedule is taken as met before this period
        balance = t.upfront - sum((r.amount for r in t.recoupment if r.month < first_month), ZERO)
    else:
        balance = t.upfront
        ctx.notes.append(f"no recoupment balance was carried for '{t.id}': the whole upfront "
                         f"{fmt_usd(t.upfront)} was taken as not yet recouped")
    shortfall_in = st.shortfall if st is not None else ZERO
    taken = shortfall_out = ZERO
    if t.recoupment_percent is not None:
        if balance > 0:
            want = cents(available * t.recoupment_percent / HUNDRED)
            taken = min(want, balance)
            out.append(_line(t, "recoupment", f"upfront payment recouped at {fmt_pct(t.recoupment_percent)} of "
                             "service payments", f"−min({fmt_pct(t.recoupment_percent)} × service payments "
                             f"{fmt_usd(available)}, balance {fmt_usd(balance)})",
                             {"percent": t.recoupment_percent, "service_payments": available, "balance": balance},
                             -taken))
    else:
        months = set(ctx.period.months())
        scheduled = sum((r.amount for r in t.recoupment if r.month in months), ZERO)
        due = min(scheduled + shortfall_in, max(balance, ZERO))
        if due:
            taken = min(due, available)
            carried = f" + carried shortfall {fmt_usd(shortfall_in)}" if shortfall_in else ""
            out.append(_line(t, "recoupment", "upfront payment recouped from service payments",
                             f"−min(scheduled {fmt_usd(scheduled)}{carried}, service payments {fmt_usd(available)})",
                             {"scheduled": scheduled, "carried_shortfall": shortfall_in, "service_payments": available},
                             -taken))
            shortfall_out = due - taken
            if shortfall_out:
                out.append(_line(t, "recoupment shortfall", "recoupment due larger than this period's service "
                                 "payments: carried to the next settlement", f"{fmt_usd(due)} − {fmt_usd(taken)}",
                                 {"shortfall": shortfall_out}, shortfall_out, paid=False))
    balance_out = balance - taken
    if balance_out > 0 and ctx.active_range(t)[1] <= ctx.period.end:
        out.append(_line(t, "unrecovered at term end", "upfront payment not recovered by the end of the term",
                         f"{fmt_usd(t.upfront)} upfront − recouped = {fmt_usd(balance_out)}",
                         {"balance": balance_out}, balance_out, paid=False))
    ctx.put("recoupment", t.id, {"balance": balance_out, "shortfall": shortfall_out})
    return out


def _revenue_share(t: s.RevenueShare, ctx: _Ctx) -> list[Line]:
    up = ctx.facts.other.upstream
    missing = [x for x in t.of_terms if x not in up]
    if missing:
        ctx.problems.append(Problem(f"what the plan paid the hub under {', '.join(missing)} is needed for term "
                                    f"'{t.id}'", field=f"upstream.{missing[0]}",
                                    file=ctx.facts.sources.get("upstream", "facts")))
        return []
    base = sum((up[x] for x in t.of_terms), ZERO)
    formula = f"{fmt_pct(t.percent)} × {fmt_usd(base)} paid to the hub ({', '.join(t.of_terms)})"
    inputs: dict = {"upstream": base, "percent": t.percent}
    amount = base * t.percent / HUNDRED
    if t.split_by_units:
        mine = sum(u for c in t.split_by_units for _, u in ctx.units(c, t))
        network = sum(ctx.facts.other.upstream_units.get(c, 0) for c in t.split_by_units)
        amount = amount * mine / network if network else ZERO
        formula += f" × {_n(mine)}/{_n(network)} of the network's units"
        inputs |= {"units": mine, "network_units": network}
    return [_line(t, "revenue share", "share of the hub's payment from the plan", formula, inputs, amount)]


from socialcare.payments import periodic  # noqa: E402 - settlers that use the helpers above

SETTLERS = {
    "fixed_price": _fixed_price,
    "fee_for_service": periodic.fee_for_service,
    "bundled": _bundled,
    "capitation": periodic.capitation,
    "hybrid_ffs_capitation": periodic.hybrid,
    "pay_for_performance": _pay_for_performance,
    "shared_savings": _shared_savings,
    "escalating_penalty": _escalating_penalty,
    "outcome_based": _outcome_based,
    "flex_funds": _flex_funds,
    "pre_launch": _pre_launch,
    "revenue_share": _revenue_share,
}
