"""Properties of settlement: lines sum to the total; the hybrid never pays less than the
capitation; a cap is never exceeded; money never becomes a float."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from socialcare.payments import settle
from tests.payments.helpers import facts, terms

cents_st = st.integers(min_value=0, max_value=5_000_000).map(lambda c: D(c) / 100)
rate_st = st.integers(min_value=1, max_value=50_000).map(lambda c: D(c) / 100)
day_st = st.integers(min_value=0, max_value=30).map(lambda d: date(2025, 3, 1) + timedelta(days=d))
rows_st = st.lists(st.tuples(st.sampled_from(["M1", "M2", "M3"]), st.sampled_from(["S5170", "T1016", "G0019"]),
                             day_st, st.integers(min_value=1, max_value=500)), max_size=40)


def _contract(meal_rate, cap, pmpm, hybrid_cap, min_units, bonus):
    return terms(f"""
        terms:
          - id: ffs
            model: fee_for_service
            fee_schedule:
              - {{service_code: T1016, rate: "{meal_rate}", max_units: {cap}}}
              - {{service_code: G0019, rate: "75.00", min_units: {min_units}}}
          - {{id: cap, model: capitation, pmpm: "{pmpm}"}}
          - id: hybrid
            model: hybrid_ffs_capitation
            capitation: {{amount_per_month: "{hybrid_cap}"}}
            fee_schedule: [{{service_code: S5170, rate: "{meal_rate}"}}]
          - id: p4p
            model: pay_for_performance
            base_terms: [ffs, cap]
            metrics:
              - {{metric: m, target: 50, bonus: "{bonus}", penalty_percent_of_base: "3.5"}}
    """)


@settings(max_examples=60, deadline=None)
@given(rows=rows_st, meal_rate=rate_st, cap=st.integers(0, 3000), pmpm=rate_st, hybrid_cap=cents_st,
       min_units=st.integers(0, 50), bonus=cents_st, mm=st.integers(0, 100_000), metric=st.integers(0, 100))
def test_lines_sum_to_the_total_and_money_stays_decimal(rows, meal_rate, cap, pmpm, hybrid_cap, min_units, bonus,
                                                         mm, metric):
    t = _contract(meal_rate, cap, pmpm, hybrid_cap, min_units, bonus)
    s = settle(t, facts(rows, {"member_months": {"cap": mm}, "metrics": {"m": metric}}), "2025-03")
    assert s.total == sum((ln.amount for ln in s.lines if ln.paid), D(0))
    assert s.total == sum(s.by_term().values()) == sum(s.by_mlr().values())
    d = s.as_dict()
    assert D(d["totals"]["paid"]) == sum(D(x["amount"]) for x in d["lines"] if x["status"] == "paid")
    for ln in s.lines:
        assert type(ln.amount) is D and ln.amount == ln.amount.quantize(D("0.01"))
        _no_float(ln.inputs)
    # the cap is never exceeded
    paid_t1016 = sum(ln.units for ln in s.lines if ln.paid and ln.component == "fee: T1016")
    assert paid_t1016 <= cap
    # the hybrid never pays less than its capitation, and pays max(capitation, FFS)
    hybrid = sum(ln.amount for ln in s.lines if ln.paid and ln.term_id == "hybrid")
    ffs = sum(ln.amount for ln in s.lines if ln.term_id == "hybrid" and not ln.paid)
    assert hybrid >= hybrid_cap and hybrid == max(hybrid_cap, ffs)


def _no_float(x):
    assert not isinstance(x, float)
    if isinstance(x, dict):
        for v in x.values():
            _no_float(v)


@settings(max_examples=60, deadline=None)
@given(months=st.lists(st.integers(0, 4000), min_size=1, max_size=12), cap=cents_st, rate=rate_st)
def test_hybrid_never_pays_less_than_the_capitation_in_any_month(months, cap, rate):
    t = terms(f"""
        terms:
          - id: h
            model: hybrid_ffs_capitation
            capitation: {{amount_per_month: "{cap}"}}
            fee_schedule: [{{service_code: S5170, rate: "{rate}"}}]
    """)
    rows = [("M", "S5170", date(2025, i + 1, 1), n) for i, n in enumerate(months) if n]
    s = settle(t, facts(rows), f"2025-01-01..2025-{len(months):02d}-28")
    for i in range(len(months)):
        month = f"2025-{i + 1:02d}"
        paid = sum(ln.amount for ln in s.lines if ln.paid and ln.month == month)
        assert paid >= cap
        assert paid == max(cap, (months[i] * rate).quantize(D("0.01")))


@settings(max_examples=60, deadline=None)
@given(projected=st.integers(1, 10**9), actual=st.integers(0, 10**9), cap=cents_st,
       met=st.integers(0, 7), guaranteed=cents_st)
def test_shared_savings_never_exceed_the_cap(projected, actual, cap, met, guaranteed):
    t = terms(f"""
        terms:
          - id: ss
            model: shared_savings
            guaranteed_payment: "{guaranteed}"
            sharing: {{min_percent: 40, max_percent: 50, metrics_total: 7}}
            cap_amount: "{cap}"
    """)
    f = facts(None, {"tcoc": {"ss": {"projected_tcoc": f"{projected}.00", "actual_tcoc": f"{actual}.00",
                                     "quality_metrics_met": met}}})
    s = settle(t, f, "2025")
    assert D(0) <= s.total <= cap
    if projected - actual - guaranteed > 0:
        assert s.total <= (D(projected - actual) - guaranteed) * D("0.5") + D("0.005")
