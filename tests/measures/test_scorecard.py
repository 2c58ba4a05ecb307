"""The month's scorecard: goals, captions in the seed's words, charts, what a partner may see, P4P values."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from socialcare.core.errors import InvalidInput, NotFound
from socialcare.measures import charts, service
from tests.measures.conftest import add_members, add_referrals, seed_funnel

MONTH = date(2026, 3, 1)
AS_OF = datetime(2026, 4, 15, tzinfo=UTC)


def _goals(db, world):
    contract = service.contract_for(db, world.plan_user, world.contract.id)
    for key, target in (("outreach_rate", "80"), ("contact_rate", "55"), ("accepted_rate", "50")):
        service.set_goal(db, world.plan_user, contract, key, target)
    return contract


def test_scorecard_reads_like_the_seed_sample(db, world):
    seed_funnel(db, world, MONTH)
    contract = _goals(db, world)
    card = service.scorecard(db, world.plan_user, contract, MONTH, as_of=AS_OF)
    rates = {r["key"]: r for r in card["funnel"]["rates"]}
    assert (rates["outreach_rate"]["display"], rates["outreach_rate"]["goal"], rates["outreach_rate"]["met"]) == (
        "79%", "80", False)
    assert rates["contact_rate"]["display"] == "53%" and rates["accepted_rate"]["display"] == "48%"
    caption = card["captions"]["funnel"]
    assert "Outreach goal was 80%. Outreach rate was 79%: out of 2,069 members assigned, 1,642 were outreached." \
        in caption
    assert "out of 1,642 members outreached, 866 were successfully contacted" in caption
    assert "Support-provided rate was 48%: out of 866 members contacted, 420 accepted support" in caption
    assert card["trend"][-1]["outreach_rate"] == "79.3620"


def test_charts_render_to_svg_and_png(db, world):
    seed_funnel(db, world, MONTH, county=lambda i: ["Erie", "Niagara", "Chautauqua"][i % 3])
    contract = _goals(db, world)
    card = service.scorecard(db, world.plan_user, contract, MONTH, as_of=AS_OF)
    svgs = charts.render_all(card)
    assert set(svgs) == {"funnel", "trend", "sns_e", "county"}
    assert all(s.lstrip().startswith("<svg") for s in svgs.values())
    assert "2,069" in svgs["funnel"] and "Niagara" in svgs["county"]
    png = charts.render_all(service.shareable(card), fmt="png")["funnel"]
    assert png.startswith("data:image/png;base64,")


def test_partner_sees_small_cells_suppressed_plan_sees_them(db, world):
    seed_funnel(db, world, MONTH, preferred_language=lambda i: "ar" if i < 4 else ("es" if i < 40 else "en"))
    contract = service.contract_for(db, world.cbo_user, world.contract.id)
    card = service.scorecard(db, world.cbo_user, contract, MONTH, as_of=AS_OF)
    plan_view = service.for_viewer(card, world.plan_user, contract)
    partner_view = service.for_viewer(card, world.cbo_user, contract)
    lang_plan = {s["value"]: s["counts"] for s in plan_view["strata"] if s["dimension"] == "language"}
    lang_partner = {s["value"]: s for s in partner_view["strata"] if s["dimension"] == "language"}
    assert lang_plan["ar"]["assigned"] == 4
    assert lang_partner["ar"]["suppressed"] and lang_partner["ar"]["counts"] is None
    assert lang_partner["es"]["suppressed"]  # complementary: the next smallest language
    assert not lang_partner["en"]["suppressed"]


def test_other_organizations_cannot_open_the_contract(db, world):
    with pytest.raises(NotFound):
        service.contract_for(db, world.other_cbo_user, world.contract.id)


def test_goal_must_be_a_percent(db, world):
    contract = service.contract_for(db, world.plan_user, world.contract.id)
    with pytest.raises(InvalidInput) as err:
        service.set_goal(db, world.plan_user, contract, "outreach_rate", "180")
    assert err.value.problems[0].field == "target"
    with pytest.raises(NotFound):  # the partner does not set the plan's goals
        service.set_goal(db, world.cbo_user, contract, "outreach_rate", "80")


def test_metric_values_for_pay_for_performance(db, world):
    seed_funnel(db, world, MONTH)
    service.record_submission(db, world.cbo_user, world.contract, MONTH,
                              submitted_at=datetime(2026, 4, 9, 12, tzinfo=UTC))
    values = service.metric_values(db, world.contract.id, "2026-03", as_of=AS_OF)
    assert values["outreach_rate"] == Decimal("79.3620")
    assert values["accepted_rate"] == Decimal("48.4988")
    assert values["members_assigned"] == 2069
    assert values["data_submission_on_time"] == Decimal("100.0000")
    from socialcare.payments.schemas import MetricRule
    assert MetricRule(metric="outreach_rate", target="80").met(values["outreach_rate"]) is False


def test_submission_after_the_due_date_is_late(db, world):
    service.record_submission(db, world.cbo_user, world.contract, date(2026, 1, 1),
                              submitted_at=datetime(2026, 2, 10, 12, tzinfo=UTC))
    service.record_submission(db, world.cbo_user, world.contract, date(2026, 2, 1),
                              submitted_at=datetime(2026, 3, 11, 12, tzinfo=UTC))
    values = service.metric_values(db, world.contract.id, "2026-02", as_of=AS_OF)
    assert values["data_submission_on_time"] == Decimal("50.0000")


def test_timeliness_loop_closure_documentation(db, world):
    from tests.measures.conftest import at
    ids = add_members(db, world.plan, 4)
    # two outreached on day 1 after the request (within 72 h), one on day 5 (late), one never (due passed)
    add_referrals(db, world, ids[:2], month=MONTH, steps=["outreached"])
    add_referrals(db, world, ids[2:3], month=MONTH, steps=[], first_outreach_at=at(date(2026, 3, 8)))
    add_referrals(db, world, ids[3:], month=MONTH, steps=[], status="failed", business_status="unable-to-contact",
                  closed_at=at(date(2026, 3, 20)))
    values = service.metric_values(db, world.contract.id, MONTH, as_of=AS_OF)
    assert values["outreach_within_standard"] == Decimal("50.0000")  # 2 of 4
    assert values["median_days_to_outreach"] == Decimal("1.0000")   # 1, 1, 5 days -> 1
    assert values["loop_closure_rate"] == Decimal("25.0000")
    assert values["documentation_completeness"] == Decimal("100.0000")
