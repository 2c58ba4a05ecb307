"""Every file under examples/payments/ loads, validates and settles to its documented total."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from socialcare.payments import load_facts, load_terms, settle
from socialcare.payments.schemas import MODELS
from tests.payments.helpers import EXAMPLES

CASES = [
    ("fixed_price.yaml", ["fixed_price.services.csv", "fixed_price.facts.yaml"], "2025-Q1", "60000.00"),
    ("fee_for_service.yaml", ["fee_for_service.services.csv"], "2025-03", "30150.00"),
    ("fee_for_service_claims.yaml", ["fee_for_service.services.csv", "fee_for_service.members.yaml"], "2025-03",
     "30150.00"),
    ("bundled.yaml", ["bundled.facts.yaml"], "2025-03", "2700.00"),
    ("capitation.yaml", ["capitation.facts.yaml"], "2025-03", "87900.00"),
    ("escalating_penalty.yaml", ["escalating_penalty.facts.yaml"], "2025-Q1", "-2076.25"),
    ("hybrid_ffs_capitation.yaml", ["hybrid_ffs_capitation.services.csv"], "2025-03-01..2025-04-30", "43400.00"),
    ("pay_for_performance.yaml", ["pay_for_performance.services.csv", "pay_for_performance.facts.yaml"], "2025-03",
     "25550.00"),
    ("shared_savings.yaml", ["shared_savings.facts.yaml"], "2025", "709285.71"),
    ("outcome_based.yaml", ["outcome_based.facts.yaml"], "2025-Q1", "120000.00"),
    ("flex_funds.yaml", ["flex_funds.facts.yaml"], "2025-03", "600.00"),
    ("pre_launch.yaml", ["pre_launch.services.csv", "pre_launch.facts.yaml"], "2025-04", "3310.00"),
    ("revenue_share.yaml", ["revenue_share.services.csv", "revenue_share.facts.yaml"], "2025-03", "4250.00"),
]


@pytest.mark.parametrize(("terms", "facts", "period", "total"), CASES, ids=[c[0] for c in CASES])
def test_example_settles(terms, facts, period, total):
    st = settle(load_terms(EXAMPLES / terms), load_facts([EXAMPLES / f for f in facts]), period)
    assert st.total == D(total)
    assert f"period {period}" in st.explain() or period in st.explain()


def test_every_model_and_every_example_file_is_covered():
    used = {c[0] for c in CASES} | {f for c in CASES for f in c[1]}
    assert {p.name for p in EXAMPLES.iterdir()} == used
    models = {t.model for c in CASES for t in load_terms(EXAMPLES / c[0]).terms}
    assert models == set(MODELS)


def test_terms_validate_through_the_contracts_hook():
    from socialcare.payments.schemas import parse_terms

    for c in CASES:
        assert parse_terms((EXAMPLES / c[0]).read_text()).model
    assert parse_terms("model: capitation\npmpm: '38.00'\n").model == "capitation"
