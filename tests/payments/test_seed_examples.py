"""Every payment example of seed 002 ("A Health Plan's Guide to Paying CBOs for Social Care") with
its numbers. Where the seed gives no amounts, the parameters are realistic choices and the cents
are asserted exactly."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from socialcare.core.errors import InvalidInput
from socialcare.payments import billing, load_facts, load_terms, settle
from tests.payments.helpers import EXAMPLES, facts, paid, terms


def ex(name):
    return EXAMPLES / name


# ---- Camden Coalition fixed-price pilot ----------------------------------------------------------


def test_camden_fixed_price_pilot_pays_installments_regardless_of_volume():
    """Seed: Camden Coalition / NJ Medicaid MCP fixed-price pilot, up to 30 high-risk members, SDOH
    screening at EDs and primary care, two site visits. $180,000 in four installments (illustrative)."""
    t = load_terms(ex("fixed_price.yaml"))
    f = load_facts([ex("fixed_price.services.csv"), ex("fixed_price.facts.yaml")])
    q1 = settle(t, f, "2025-Q1")
    assert q1.total == D("60000.00")
    targets = [ln for ln in q1.lines if ln.component == "volume target"]
    assert [ln.paid for ln in targets] == [False, False, False]
    assert targets[0].inputs == {"target": D(30), "actual": 28}  # 28 distinct members of up to 30
    assert targets[1].inputs["actual"] == 540 and targets[2].inputs["actual"] == D(1)
    year = settle(t, f, "2025")
    assert year.total == D("180000.00") == t.terms[0].total  # volume below target changes nothing
    assert year.by_mlr()["quality_improvement"] == D("180000.00")


# ---- MARC / BlueKC fee-for-service: invoices first, member claims later -----------------------------


def test_marc_ffs_phase_one_invoice_counts_per_service():
    """Seed: MARC first submitted invoices with a stated number of services. Meals $9.75 capped at
    3,000 a month; nutrition classes $45.00 with a 20-class minimum guarantee."""
    t = load_terms(ex("fee_for_service.yaml"))
    f = load_facts([ex("fee_for_service.services.csv")])
    st = settle(t, f, "2025-03")
    assert st.billing_mode == "invoice"
    meals = paid(st, component="fee: S5170")[0]
    assert (meals.units, meals.rate, meals.amount) == (3000, D("9.75"), D("29250.00"))
    over = next(ln for ln in st.lines if ln.component == "over cap: S5170")
    assert (over.paid, over.units, over.amount) == (False, 120, D("1170.00"))
    assert paid(st, component="minimum volume: S9452")[0].amount == D("270.00")  # (20 - 14) x $45
    assert st.total == D("30150.00")
    rows = billing.invoice_lines(st)
    assert [(r["service_code"], r["quantity"], r["amount"]) for r in rows] == [
        ("S5170", 3000, "29250.00"), ("S9452", 14, "630.00"), ("S9452", 6, "270.00")]
    assert billing.invoice_csv(st).strip().endswith("TOTAL for 2025-03,,,30150.00,")


def test_marc_ffs_phase_two_member_claims():
    """Seed: MARC later submitted individual member claims: the same services, one line per member
    service, at the fee (52 members x 60 meals, 14 classes)."""
    t = load_terms(ex("fee_for_service_claims.yaml"))
    f = load_facts([ex("fee_for_service.services.csv"), ex("fee_for_service.members.yaml")])
    assert t.billing.mode == "claims"
    lines = billing.claim_lines(t, f, "2025-03")
    assert len(lines) == 66 and len({ln.claim_id for ln in lines}) == 52
    assert sum(ln.charge for ln in lines) == D("31050.00")  # 3,120 x 9.75 + 14 x 45: claims list what was delivered
    assert settle(t, f, "2025-03").total == D("30150.00")  # the cap and the guarantee apply in settlement


# ---- MARC case rate: up to three months, renewals paid only when approved ---------------------------


CASE_RATE = """
    terms:
      - id: cm
        model: bundled
        billing_code: T1016
        episode_rate: "675.00"
        episode_days: 90
        max_renewals: 1
        services_carved_in: [G0019]
"""


def _episodes():
    eps = [{"episode_id": f"N{i}", "member_id": f"A{i}", "term": "cm", "start": date(2025, 3, 1) + timedelta(days=i % 28),
            "kind": "initial"} for i in range(40)]
    for i in range(12):
        eps.append({"episode_id": f"P{i}", "member_id": f"B{i}", "term": "cm", "start": date(2024, 12, 1),
                    "kind": "initial"})
        eps.append({"episode_id": f"R{i}", "member_id": f"B{i}", "term": "cm", "start": date(2025, 3, 1),
                    "kind": "renewal", "approved": i < 9})
    return eps


def test_marc_case_rate_three_months_with_approved_renewals():
    """Seed: MARC case rate for case management for up to three months, with approved renewal periods.
    $675 per episode (illustrative): 40 new episodes and 9 approved renewals paid; 3 unapproved reported."""
    st = settle(terms(CASE_RATE), facts([("A1", "G0019", "2025-03-04", 2)], {"episodes": _episodes()}), "2025-03")
    assert paid(st, component="episodes")[0].amount == D("27000.00")
    assert paid(st, component="approved renewals")[0].amount == D("6075.00")
    refused = next(ln for ln in st.lines if ln.component == "renewals not approved")
    assert (refused.paid, refused.inputs["count"], refused.amount) == (False, 3, D("2025.00"))
    carved = next(ln for ln in st.lines if ln.component == "carved in: G0019")
    assert (carved.paid, carved.amount) == (False, D("0.00"))
    assert st.total == D("33075.00")
    assert settle(terms(CASE_RATE), facts(None, {"episodes": _episodes()}), "2024-12").total == D("8100.00")


def test_case_rate_second_renewal_over_the_maximum_is_not_paid():
    eps = [{"episode_id": "1", "member_id": "M", "term": "cm", "start": date(2024, 9, 1)},
           {"episode_id": "2", "member_id": "M", "term": "cm", "start": date(2024, 12, 1), "kind": "renewal",
            "approved": True},
           {"episode_id": "3", "member_id": "M", "term": "cm", "start": date(2025, 3, 1), "kind": "renewal",
            "approved": True}]
    st = settle(terms(CASE_RATE), facts(None, {"episodes": eps}), "2025-03")
    assert st.total == D("0.00")
    assert next(ln for ln in st.lines if ln.component == "renewals over the maximum").amount == D("675.00")


# ---- BayAging PMPM with escalating penalties ---------------------------------------------------------


def test_bayaging_pmpm_with_linear_escalating_penalties():
    """Seed: BayAging paid PMPM for delegated care management; state penalties $1,000 for the first
    occurrence, then in 5 percent increments. $38 PMPM x 2,400 member-months (illustrative); the
    February occurrence is the first, so March's are the 2nd to 4th: $1,050, $1,100, $1,150."""
    t = load_terms(ex("capitation.yaml"))
    f = load_facts([ex("capitation.facts.yaml")])
    st = settle(t, f, "2025-03")
    assert paid(st, "delegated-care-management")[0].amount == D("91200.00")
    assert [ln.amount for ln in paid(st, "state-penalties")] == [D("-1050.00"), D("-1100.00"), D("-1150.00")]
    assert st.total == D("87900.00")
    assert [ln.amount for ln in paid(settle(t, f, "2025-02"), "state-penalties")] == [D("-1000.00")]


def test_bayaging_penalties_compounding():
    """The same schedule read as compounding: $1,000, $1,050, $1,102.50, $1,157.63 (1,157.625 half up)."""
    t = terms("""
        terms:
          - {id: pen, model: escalating_penalty, first_amount: "1000.00", escalation: compound, increment_percent: 5}
    """)
    occ = [{"term": "pen", "date": date(2025, 3, d)} for d in (3, 10, 17, 24)]
    st = settle(t, facts(None, {"penalty_occurrences": occ}), "2025-03")
    assert [ln.amount for ln in st.lines] == [D("-1000.00"), D("-1050.00"), D("-1102.50"), D("-1157.63")]


# ---- WNYICC hybrid FFS / capitation ------------------------------------------------------------------


def test_wnyicc_hybrid_month_below_and_month_above_the_capitation():
    """Seed: WNYICC / Independent Health: capitation lump sum; FFS per meal computed monthly; if FFS is
    below the capitation nothing more is paid, if above the balance is a supplemental payment.
    $20,000 a month (illustrative), meals $9.75: March 1,800 meals = $17,550 (below): pays $20,000;
    April 2,400 meals = $23,400 (above): pays $20,000 + $3,400."""
    t = load_terms(ex("hybrid_ffs_capitation.yaml"))
    f = load_facts([ex("hybrid_ffs_capitation.services.csv")])
    march, april = settle(t, f, "2025-03"), settle(t, f, "2025-04")
    assert march.total == D("20000.00")
    ffs = next(ln for ln in march.lines if ln.component.startswith("FFS computed"))
    assert (ffs.paid, ffs.amount) == (False, D("17550.00"))
    assert paid(march, component="supplemental payment")[0].amount == D("0.00")
    assert paid(april, component="supplemental payment")[0].amount == D("3400.00")
    assert april.total == D("23400.00")
    both = settle(t, f, "2025-03-01..2025-04-30")
    assert both.total == D("43400.00") and [ln.month for ln in paid(both, component="capitation")] == [
        "2025-03", "2025-04"]


def test_hybrid_capitation_as_pmpm_by_month():
    t = terms("""
        terms:
          - id: meals
            model: hybrid_ffs_capitation
            capitation: {pmpm: "2.50"}
            fee_schedule: [{service_code: S5170, rate: "9.75", unit: meal}]
    """)
    f = facts([("M1", "S5170", "2025-03-05", 1000)], {"member_months": {"meals": {"2025-03": 8000}}})
    st = settle(t, f, "2025-03")  # capitation 8,000 x $2.50 = $20,000; FFS $9,750
    assert st.total == D("20000.00")


# ---- UHC / Camden Coalition shared savings net of the guaranteed payment -----------------------------


def test_uhc_camden_shared_savings_net_of_the_guaranteed_payment():
    """Seed: UHC / Camden Coalition: guaranteed fixed annual payment plus 40-50 percent of savings
    (projected minus actual TCOC) after netting out the guaranteed payment, the percentage set by seven
    quality metrics. $12.0M projected, $11.0M actual, $450,000 guaranteed (illustrative); 5 of 7
    metrics met: 40% + 10% x 5/7 = 47.142857...% of $550,000 = $259,285.71."""
    t = load_terms(ex("shared_savings.yaml"))
    f = load_facts([ex("shared_savings.facts.yaml")])
    st = settle(t, f, "2025")
    share = paid(st, "savings")[0]
    assert share.inputs["net_savings"] == D("550000.00") and share.inputs["quality_metrics_met"] == 5
    assert share.amount == D("259285.71")
    assert st.total == D("709285.71")


@pytest.mark.parametrize(("met", "amount"), [(0, "220000.00"), (7, "275000.00"), (3, "243571.43")])
def test_sharing_rate_moves_within_the_band(met, amount):
    t = load_terms(ex("shared_savings.yaml"))
    f = facts(None, {"tcoc": {"savings": {"projected_tcoc": "12000000.00", "actual_tcoc": "11000000.00",
                                          "quality_metrics_met": met}}})
    assert paid(settle(t, f, "2025"), "savings")[0].amount == D(amount)


def test_shared_savings_below_msr_or_below_the_guarantee_pay_nothing_and_losses_are_shared():
    t = terms("""
        terms:
          - id: ss
            model: shared_savings
            guaranteed_payment: "450000.00"
            sharing: {min_percent: 40, max_percent: 50, metrics_total: 7}
            minimum_savings_rate_percent: 2
            cap_amount: "200000.00"
            losses: {sharing_percent: 30, minimum_loss_rate_percent: 1, cap_percent_of_projected: 1}
    """)

    def run(actual, met=7):
        f = facts(None, {"tcoc": {"ss": {"projected_tcoc": "12000000.00", "actual_tcoc": actual,
                                         "quality_metrics_met": met}}})
        return settle(t, f, "2025")

    assert run("11880000.00").total == D("0.00")  # 1% savings < 2% MSR
    assert run("11600000.00").total == D("0.00")  # $400,000 savings < $450,000 guaranteed
    capped = run("11000000.00")  # 50% x $550,000 = $275,000 > cap $200,000
    assert capped.total == D("200000.00")
    assert next(ln for ln in capped.lines if not ln.paid).amount == D("75000.00")
    assert run("12600000.00").total == D("-120000.00")  # 30% x $600,000 = $180,000, capped at 1% = $120,000
    assert run("12060000.00").total == D("0.00")  # 0.5% loss < 1% minimum loss rate


# ---- Buckeye / Northwest Ohio Pathways Community HUB -------------------------------------------------


def test_buckeye_pathways_hub_engagement_and_obu_split_50_50():
    """Seed: Buckeye Health Plan / NW Ohio Pathways HUB: payment for confirmed engagement (home visit)
    and OBU per completed pathway at a negotiated rate, 50% engagement and 50% pathways. 400 visits x
    $150 = $60,000; 1,000 OBU x $60 = $60,000 (weights and rates illustrative)."""
    t = load_terms(ex("outcome_based.yaml"))
    st = settle(t, load_facts([ex("outcome_based.facts.yaml")]), "2025-Q1")
    assert paid(st, component="engagement")[0].amount == D("60000.00")
    assert sum(ln.amount for ln in paid(st, component="pathway")) == D("60000.00")
    assert sum(ln.inputs["obu"] for ln in paid(st, component="pathway")) == D(1000)
    split = next(ln for ln in st.lines if ln.component == "split")
    assert split.inputs["engagement_percent"] == D("50.00") and not split.paid
    assert st.total == D("120000.00")


# ---- the other models ---------------------------------------------------------------------------------


def test_pay_for_performance_in_addition_and_net_of_base():
    """Seed: P4P 'in addition to the underlying payment model or net of it'; survey metrics."""
    t = load_terms(ex("pay_for_performance.yaml"))
    f = load_facts([ex("pay_for_performance.services.csv"), ex("pay_for_performance.facts.yaml")])
    st = settle(t, f, "2025-03")
    assert [ln.amount for ln in paid(st, "quality")] == [D("2500.00"), D("1000.00"), D("-450.00")]
    assert st.total == D("25550.00")
    net = terms("""
        terms:
          - {id: base, model: capitation, pmpm: "10.00"}
          - id: p4p
            model: pay_for_performance
            relation: net_of_base
            base_terms: [base]
            metrics: [{metric: engaged, target: 100, bonus: "15000.00"}]
    """)
    st = settle(net, facts(None, {"member_months": {"base": 1000}, "metrics": {"engaged": 120}}), "2025-03")
    assert paid(st, "p4p")[-1].amount == D("-10000.00") and st.total == D("15000.00")
    st = settle(net, facts(None, {"member_months": {"base": 2000}, "metrics": {"engaged": 120}}), "2025-03")
    assert sum(ln.amount for ln in paid(st, "p4p")) == D("0.00")  # floor at zero: base payments are kept


def test_flex_funds_refuse_requests_over_either_limit():
    t = load_terms(ex("flex_funds.yaml"))
    st = settle(t, load_facts([ex("flex_funds.facts.yaml")]), "2025-03")
    assert st.total == D("600.00")
    refused = {ln.inputs["reason"]: ln.amount for ln in st.lines if ln.component == "refused requests"}
    assert refused == {"over the per-member allowance": D("25.00"), "over the program budget": D("100.00")}


def test_pre_launch_recouped_and_joc_time():
    t = load_terms(ex("pre_launch.yaml"))
    f = load_facts([ex("pre_launch.services.csv"), ex("pre_launch.facts.yaml")])
    assert settle(t, load_facts([ex("pre_launch.services.csv")]), "2025-01").total == D("25000.00")
    st = settle(t, f, "2025-04")
    assert [ln.amount for ln in paid(st, "start-up")] == [D("-5000.00"), D("510.00")]
    assert st.by_mlr()["administrative"] == D("-4490.00") and st.total == D("3310.00")
    extra = terms("""
        terms:
          - {id: pre, model: pre_launch, upfront: "10000.00", upfront_due: 2025-01-05, treatment: additional}
    """)
    assert settle(extra, facts(None, {}), "2025-01").total == D("10000.00")


def test_escalating_penalty_refuses_unknown_measure():
    t = load_terms(ex("capitation.yaml"))
    f = facts(None, {"member_months": {"delegated-care-management": 10},
                     "penalty_occurrences": [{"term": "state-penalties", "date": "2025-03-01", "measure": "x"}]})
    with pytest.raises(InvalidInput) as exc:
        settle(t, f, "2025-03")
    assert exc.value.problems[0].field == "penalty_occurrences[0].measure"
