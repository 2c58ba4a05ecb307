"""State that carries from one settlement period to the next, and the four engine defects a new user
found: a recoupment shortfall never recovered, a split month's capitation paid twice, a monthly cap
applied per quarter, and facts after a contract's end paid (with a full minimum)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from socialcare.payments import settle
from tests.payments.helpers import facts, paid, terms

MEALS_AND_START_UP = """
    terms:
      - id: meals
        model: fee_for_service
        fee_schedule:
          - {service_code: S5170, unit: meal, rate: "10.00"}
      - id: start-up
        model: pre_launch
        upfront: "3000.00"
        upfront_due: 2025-01-02
        treatment: recouped
        recoup_from: [meals]
        %s
"""


def meals(month: str, n: int, member: str = "M1"):
    return [(member, "S5170", f"{month}-10", n)]


def recouped(st) -> D:
    return -sum((ln.amount for ln in paid(st, "start-up", "recoupment")), D(0))


def test_fixed_schedule_shortfall_is_carried_until_recovered():
    t = terms(MEALS_AND_START_UP % """recoupment:
          - {month: 2025-01, amount: "1000.00"}
          - {month: 2025-02, amount: "1000.00"}
          - {month: 2025-03, amount: "1000.00"}""")
    jan = settle(t, facts(meals("2025-01", 40)), "2025-01")  # $400 of meals: $600 short
    assert recouped(jan) == D("400.00")
    short = next(ln for ln in jan.lines if ln.component == "recoupment shortfall")
    assert (short.paid, short.amount) == (False, D("600.00"))
    feb = settle(t, facts(meals("2025-02", 300)), "2025-02", carried=jan.carry)  # 1,000 + 600 carried
    assert recouped(feb) == D("1600.00") and feb.total == D("1400.00")
    mar = settle(t, facts(meals("2025-03", 300)), "2025-03", carried=feb.carry)
    assert recouped(mar) == D("1000.00")
    assert recouped(jan) + recouped(feb) + recouped(mar) == D("3000.00")  # the whole upfront came back
    assert mar.carry["recoupment"]["start-up"] == {"balance": "0.00", "shortfall": "0.00"}


def test_percent_recoupment_runs_a_balance_and_recovers_a_shortfall_later():
    t = terms(MEALS_AND_START_UP % 'recoupment_percent: 50')
    jan = settle(t, facts(meals("2025-01", 100)), "2025-01")  # upfront 3,000 paid; 50 % of $1,000 recouped
    assert [ln.amount for ln in paid(jan, "start-up")] == [D("3000.00"), D("-500.00")]
    assert jan.carry["recoupment"]["start-up"]["balance"] == "2500.00"
    feb = settle(t, facts(meals("2025-02", 10)), "2025-02", carried=jan.carry)  # a slow month: $50
    assert recouped(feb) == D("50.00")
    mar = settle(t, facts(meals("2025-03", 900)), "2025-03", carried=feb.carry)  # 50 % of 9,000 > balance
    assert recouped(mar) == D("2450.00") and mar.total == D("6550.00")
    apr = settle(t, facts(meals("2025-04", 100)), "2025-04", carried=mar.carry)
    assert recouped(apr) == 0 and apr.total == D("1000.00")


def test_percent_recoupment_not_recovered_by_the_term_end_is_reported():
    t = terms(MEALS_AND_START_UP % 'recoupment_percent: 10')
    st = settle(t, facts(meals("2025-01", 100)), "2025-01", within=(date(2024, 7, 1), date(2025, 1, 31)))
    left = next(ln for ln in st.lines if ln.component == "unrecovered at term end")
    assert (left.paid, left.amount) == (False, D("2900.00"))


HYBRID = """
    terms:
      - id: meals
        model: hybrid_ffs_capitation
        capitation: {amount_per_month: "3100.00", proration: %s}
        fee_schedule:
          - {service_code: S5170, unit: meal, rate: "10.00"}
"""


def test_split_month_hybrid_never_pays_the_capitation_twice():
    rows = [("M1", "S5170", "2025-03-05", 200), ("M1", "S5170", "2025-03-20", 200)]
    for mode in ("whole_month", "prorated"):
        t = terms(HYBRID % mode)
        whole = settle(t, facts(rows), "2025-03")
        first = settle(t, facts(rows), "2025-03-01..2025-03-15")
        second = settle(t, facts(rows), "2025-03-16..2025-03-31", carried=first.carry)
        april = settle(t, facts(rows), "2025-04", carried=second.carry)
        assert whole.total == D("4000.00")  # capitation 3,100 + supplement (4,000 − 3,100)
        assert first.total + second.total == whole.total, mode
        caps = [ln.amount for st in (first, second) for ln in paid(st, "meals", "capitation")]
        assert sum(caps) == D("3100.00"), mode
        assert april.total == D("3100.00")
    prorated = settle(terms(HYBRID % "prorated"), facts(rows), "2025-03-01..2025-03-15")
    assert paid(prorated, "meals", "capitation")[0].amount == D("1500.00")  # 3,100 × 15/31


def test_split_month_hybrid_without_a_ledger_pays_the_whole_month_once():
    t = terms(HYBRID % "whole_month")
    rows = [("M1", "S5170", "2025-03-20", 10)]
    second = settle(t, facts(rows), "2025-03-16..2025-03-31")
    assert not paid(second, "meals", "capitation")


CAPPED = """
    terms:
      - id: meals
        model: fee_for_service
        fee_schedule:
          - {service_code: S5170, unit: meal, rate: "10.00", max_units: 1000%s}
"""


def test_a_monthly_cap_applies_per_calendar_month_in_a_quarter():
    rows = [("M1", "S5170", f"2025-0{m}-10", 900) for m in (1, 2, 3)]
    t = terms(CAPPED % "")
    quarter = settle(t, facts(rows), "2025-Q1")
    months = [settle(t, facts(rows), f"2025-0{m}") for m in (1, 2, 3)]
    assert quarter.total == sum(m.total for m in months) == D("27000.00")
    per_period = terms(CAPPED % ", limits_per: settlement_period")
    assert settle(per_period, facts(rows), "2025-Q1").total == D("10000.00")  # as written, explicitly


def test_a_monthly_cap_counts_a_split_month_once():
    t = terms(CAPPED % "")
    rows = [("M1", "S5170", "2025-03-05", 700), ("M1", "S5170", "2025-03-25", 700)]
    first = settle(t, facts(rows), "2025-03-01..2025-03-15")
    second = settle(t, facts(rows), "2025-03-16..2025-03-31", carried=first.carry)
    assert (first.total, second.total) == (D("7000.00"), D("3000.00"))
    over = next(ln for ln in second.lines if ln.component == "over cap: S5170")
    assert over.units == 400


def test_a_contract_ending_mid_period_is_not_paid_after_its_end():
    t = terms("""
        contract_end: 2025-03-15
        terms:
          - id: meals
            model: fee_for_service
            fee_schedule:
              - {service_code: S5170, unit: meal, rate: "10.00", min_units: 310}
    """)
    rows = [("M1", "S5170", "2025-03-10", 50), ("M1", "S5170", "2025-03-20", 500)]
    st = settle(t, facts(rows), "2025-03")
    fee = paid(st, "meals", "fee")[0]
    assert fee.units == 50  # the 500 meals after the end are not paid
    minimum = paid(st, "meals", "minimum volume")[0]
    assert minimum.units == 150 - 50  # 310 × 15/31 days = 150, prorated
    assert st.total == D("1500.00")
    assert any("within the contract's term" in n for n in st.notes)
    assert settle(t, facts(rows), "2025-04").lines == ()


def test_three_periods_of_a_contract_ending_mid_quarter():
    t = terms("""
        terms:
          - id: meals
            model: fee_for_service
            fee_schedule:
              - {service_code: S5170, unit: meal, rate: "10.00", min_units: 100}
    """)
    rows = [("M1", "S5170", f"2025-0{m}-0{m}", 40) for m in (1, 2, 3)]
    within = (date(2024, 1, 1), date(2025, 2, 14))
    sts = [settle(t, facts(rows), f"2025-0{m}", within=within) for m in (1, 2, 3)]
    assert [st.total for st in sts] == [D("1000.00"), D("500.00"), D("0.00")]  # Feb minimum 100 × 14/28 = 50


def test_escalating_penalties_continue_from_the_carried_count():
    t = terms("""
        terms:
          - {id: cap, model: capitation, pmpm: "10.00"}
          - {id: pen, model: escalating_penalty, first_amount: "1000.00", escalation: linear, increment_percent: 10}
    """)
    months = {"2025-01": "2025-01-05", "2025-02": "2025-02-05", "2025-03": "2025-03-05"}
    carry = None
    amounts = []
    for month, day in months.items():
        st = settle(t, facts(None, {"member_months": {"cap": 1},
                                    "penalty_occurrences": [{"term": "pen", "date": day}]}), month, carried=carry)
        amounts.append(paid(st, "pen")[0].amount)
        carry = st.carry
    assert amounts == [D("-1000.00"), D("-1100.00"), D("-1200.00")]  # never restarts at the first occurrence


def test_flex_fund_balances_carry_and_restart_each_program_year():
    t = terms("""
        terms:
          - {id: flex, model: flex_funds, per_member_limit: "100.00", program_budget: "1000.00",
             program_year_start_month: 3}
    """)
    def month(day, amount):
        return facts(None, {"disbursements": [{"member_id": "M1", "date": day, "category": "food",
                                               "amount": amount}]})
    jan = settle(t, month("2025-01-10", "80.00"), "2025-01")
    feb = settle(t, month("2025-02-10", "30.00"), "2025-02", carried=jan.carry)  # 80 + 30 > 100: refused
    mar = settle(t, month("2025-03-10", "30.00"), "2025-03", carried=feb.carry)  # a new program year
    assert [jan.total, feb.total, mar.total] == [D("80.00"), D("0.00"), D("30.00")]
    assert feb.carry["flex"]["flex"]["members"] == {"M1": "80.00"}
    assert mar.carry["flex"]["flex"] == {"year": "2025-03", "program_used": "30.00", "members": {"M1": "30.00"}}
