"""Settlers whose amounts depend on calendar periods: fee-for-service (caps and minimums per the
period they are written for), capitation and the hybrid FFS/capitation (whole-month or prorated).

A settlement period need not match the calendar period a term is written for: a quarter settled at
once gets three monthly caps; 1-15 March then 16-31 March pays March's capitation once. What an
earlier settlement already counted in a calendar period that is not over arrives in ``ctx.carried``
and what this one counted leaves in ``ctx.carry`` (the ledger stores it on the statement).
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_FLOOR, Decimal

from socialcare.core.errors import Problem
from socialcare.core.money import ZERO, cents, fmt_usd
from socialcare.payments import rules as r
from socialcare.payments import schemas as s
from socialcare.payments.loader import HybridMonth


def _bounds(per: str, key: str, period: r.Period) -> tuple[date, date]:
    if per == "settlement_period":
        return period.start, period.end
    p = r.Period.parse(key)
    return p.start, p.end


def _buckets(per: str, period: r.Period) -> list[str]:
    """Keys of the calendar periods (months, quarters, years) a settlement period touches, in order."""
    if per == "settlement_period":
        return ["period"]
    out: list[str] = []
    for m in period.months():
        y, mo = int(m[:4]), int(m[5:])
        key = m if per == "month" else f"{y}-Q{(mo - 1) // 3 + 1}" if per == "quarter" else str(y)
        if key not in out:
            out.append(key)
    return out


def _days(a: date, b: date) -> int:
    return (b - a).days + 1


# ---- fee-for-service -------------------------------------------------------------------------


def fee_for_service(t: s.FeeForService, ctx) -> list:
    out = []
    carried = ctx.carried.units.get(t.id, {})
    carry_out: dict[str, dict[str, int]] = {}
    for f in t.fee_schedule:
        days = ctx.units(f.service_code, t, f)
        label = f"{f.service_code} {f.description}".strip()
        if f.max_units is None and f.min_units is None:
            units = sum(u for _, u in days)
            if units:
                out.append(r._line(t, f"fee: {f.service_code}", label, f"{r._units(units, f.unit)} × {r.fmt_rate(f.rate)}",
                                   {"units": units, "rate": f.rate, "delivered_units": units}, units * f.rate,
                                   service_code=f.service_code, units=units, rate=f.rate))
            continue
        lo, hi = ctx.active_range(t, f)
        keys = _buckets(f.limits_per, ctx.period)
        multi = len(keys) > 1
        for key in keys:
            b0, b1 = _bounds(f.limits_per, key, ctx.period)
            a0, a1 = max(b0, lo), min(b1, hi)
            if a1 < a0 or a1 < ctx.period.start:
                continue  # the term is not in force in this calendar period (or it ended before this settlement)
            now = sum(u for d, u in days if b0 <= d <= b1)
            before = 0 if f.limits_per == "settlement_period" else carried.get(f.service_code, {}).get(key, 0)
            total = before + now
            cap = f.max_units
            paid_units = (total if cap is None else min(total, cap)) - (before if cap is None else min(before, cap))
            closes = a1 <= ctx.period.end
            where = f" in {key}" if multi or before else ""
            inputs = {"units": paid_units, "rate": f.rate, "delivered_units": now}
            if multi or before:
                inputs |= {"limits_per": f.limits_per, "calendar_period": key, "delivered_before": before}
            month = key if multi else None
            if now or (f.min_units is not None and closes):
                out.append(r._line(t, f"fee: {f.service_code}", label,
                                   f"{r._units(paid_units, f.unit)} × {r.fmt_rate(f.rate)}{where}", inputs,
                                   paid_units * f.rate, service_code=f.service_code, units=paid_units, rate=f.rate,
                                   month=month))
            over = now - paid_units
            if over > 0:
                already = f" (+ {r._n(before)} settled before)" if before else ""
                out.append(r._line(t, f"over cap: {f.service_code}", f"{label}: units over the cap are not paid",
                                   f"{r._n(now)} delivered{already} − cap {r._n(cap)} a {_per_word(f.limits_per)} = "
                                   f"{r._units(over, f.unit)} × {r.fmt_rate(f.rate)}{where}",
                                   {"delivered_units": now, "delivered_before": before, "cap": cap, "over": over},
                                   over * f.rate, paid=False, service_code=f.service_code, units=over, rate=f.rate,
                                   month=month))
            if f.min_units is not None and closes:
                minimum = f.min_units
                if (a0, a1) != (b0, b1):  # the term covers part of the calendar period: prorate by days
                    minimum = int((Decimal(f.min_units) * _days(a0, a1) / _days(b0, b1)).to_integral_value(
                        ROUND_FLOOR))
                short = minimum - total
                if short > 0:
                    pro = (f" (minimum {r._n(f.min_units)} × {_days(a0, a1)}/{_days(b0, b1)} days in force)"
                           if minimum != f.min_units else "")
                    out.append(r._line(t, f"minimum volume: {f.service_code}", f"{label}: minimum volume guarantee",
                                       f"(minimum {r._n(minimum)} − delivered {r._n(total)}) = "
                                       f"{r._units(short, f.unit)} × {r.fmt_rate(f.rate)}{where}{pro}",
                                       {"minimum": minimum, "delivered_units": total}, short * f.rate,
                                       service_code=f.service_code, units=short, rate=f.rate, month=month))
            if not closes and f.limits_per != "settlement_period":
                carry_out.setdefault(f.service_code, {})[key] = total
    if carry_out:
        ctx.put("units", t.id, carry_out)
    return out


def _per_word(per: str) -> str:
    return {"settlement_period": "settlement period"}.get(per, per)


# ---- capitation ------------------------------------------------------------------------------


def member_months(t, ctx, months: list[str]) -> dict[str, int] | int | None:
    mm = ctx.facts.other.member_months.get(t.id)
    if mm is None:
        ctx.problems.append(Problem(f"member-months for term '{t.id}' are needed", field=f"member_months.{t.id}",
                                    file=ctx.facts.sources.get("member_months", "facts")))
        return None
    if isinstance(mm, dict):
        bad = [m for m in mm if m not in months]
        for m in bad:
            ctx.problems.append(ctx.facts.problem(f"{m} is outside the period {ctx.period}", "member_months", t.id, m))
        return None if bad else mm
    return mm


def term_months(t, period: r.Period) -> list[str]:
    out = []
    for m in period.months():
        y, mo = int(m[:4]), int(m[5:])
        if r._active_in(t, r.Period(date(y, mo, 1), r._month_end(y, mo))):
            out.append(m)
    return out


def capitation(t: s.Capitation, ctx) -> list:
    months = term_months(t, ctx.period)
    mm = member_months(t, ctx, months)
    if mm is None:
        return []
    out = []
    items = sorted(mm.items()) if isinstance(mm, dict) else [(None, mm)]
    for month, n in items:
        out.append(r._line(t, "capitation", "per member per month",
                           f"{r._n(n)} member-months × {r.fmt_rate(t.pmpm)} PMPM",
                           {"member_months": n, "pmpm": t.pmpm}, n * t.pmpm, month=month))
    for code in t.covered_services:
        units = sum(u for _, u in ctx.units(code, t))
        if units:
            out.append(r._line(t, f"covered: {code}", "services covered by the capitation (encounters)",
                               f"{r._n(units)} units of {code} delivered", {"units": units}, ZERO, paid=False,
                               service_code=code, units=units))
    return out


# ---- hybrid FFS / capitation -----------------------------------------------------------------


def hybrid(t: s.HybridFfsCapitation, ctx) -> list:
    months = term_months(t, ctx.period)
    mm = None
    if t.capitation.pmpm is not None:
        mm = member_months(t, ctx, months)
        if mm is None:
            return []
        if not isinstance(mm, dict):
            if len(months) != 1:
                ctx.problems.append(ctx.facts.problem("give member-months by month (YYYY-MM: n) for a hybrid "
                                                      "settled over several months", "member_months", t.id))
                return []
            mm = {months[0]: mm}
    carried = ctx.carried.hybrid.get(t.id, {})
    lo, hi = ctx.active_range(t)
    prorated = t.capitation.proration == "prorated"
    carry_out: dict[str, dict] = {}
    out = []
    for month in months:
        m0, m1 = _bounds("month", month, ctx.period)
        a0, a1 = max(m0, lo), min(m1, hi)  # the month's days in the term
        p0, p1 = max(a0, ctx.period.start), min(a1, ctx.period.end)  # the days settled now
        if p1 < p0:
            continue
        prev = carried.get(month) or HybridMonth()
        if t.capitation.amount_per_month is not None:
            full = t.capitation.amount_per_month
            what, inputs = f"{fmt_usd(full)} a month", {"amount_per_month": full}
        else:
            n = mm.get(month, 0)
            full = cents(n * t.capitation.pmpm)
            what = f"{r._n(n)} member-months × {r.fmt_rate(t.capitation.pmpm)} PMPM"
            inputs = {"member_months": n, "pmpm": t.capitation.pmpm}
        if prorated:
            days, in_month = _days(p0, p1), _days(m0, m1)
            cap_now = cents(full * days / in_month)
            if (days, in_month) != (1, 1) and days != in_month:
                what += f" × {days}/{in_month} days"
            out.append(r._line(t, "capitation", "capitation for the days of the month settled", what,
                               {**inputs, "days": days, "days_in_month": in_month}, cap_now, month=month))
            reference = prev.capitation + cap_now
        else:
            first = p0 == a0 and prev.capitation == 0
            cap_now = full if first else ZERO
            if first:
                out.append(r._line(t, "capitation", "capitation paid for the month", what, inputs, cap_now,
                                   month=month))
            reference = full
        ffs_now = ZERO
        for f in t.fee_schedule:
            units = sum(u for d, u in ctx.units(f.service_code, t, f) if d.strftime("%Y-%m") == month)
            if not units:
                continue
            line = r._line(t, f"FFS computed: {f.service_code}", f"{f.service_code} {f.description}".strip()
                           + " (computed to compare with the capitation)",
                           f"{r._units(units, f.unit)} × {r.fmt_rate(f.rate)}", {"units": units, "rate": f.rate},
                           units * f.rate, paid=False, month=month, service_code=f.service_code, units=units,
                           rate=f.rate)
            ffs_now += line.amount
            out.append(line)
        ffs = prev.ffs + ffs_now
        supplement_to_date = max(ZERO, ffs - reference)
        supplement = supplement_to_date - prev.supplement
        if prev.ffs or prev.supplement or prev.capitation:
            formula = (f"max(0, FFS to date {fmt_usd(ffs)} − capitation {fmt_usd(reference)}) − already paid "
                       f"{fmt_usd(prev.supplement)}")
        else:
            formula = f"max(0, FFS {fmt_usd(ffs)} − capitation {fmt_usd(reference)})"
        out.append(r._line(t, "supplemental payment", "FFS above the capitation, paid as a supplement", formula,
                           {"ffs": ffs, "capitation": reference, "supplement_paid_before": prev.supplement},
                           supplement, month=month))
        if a1 > ctx.period.end:  # the month goes on after this settlement
            carry_out[month] = {"ffs": ffs, "capitation": prev.capitation + cap_now, "supplement": supplement_to_date}
    if carry_out:
        ctx.put("hybrid", t.id, carry_out)
    return out
