"""The eligible-versus-selected report covers every dimension a selection may be stratified by,
product line included (issue 24)."""

from __future__ import annotations

import typing
from decimal import Decimal

from socialcare.contracts import eligibility as elig
from socialcare.contracts import schemas, service
from tests.contracts.conftest import AS_OF, add_members, make_contract


def test_every_stratum_dimension_is_reported():
    allowed = typing.get_args(typing.get_args(schemas.SelectionRequest.model_fields["proportional_strata"]
                                              .annotation)[0])[0]
    assert set(typing.get_args(allowed)) == set(elig.STRATUM_DIMENSIONS)


def test_product_line_strata_show_eligible_and_selected(db, parties):
    add_members(db, parties.plan, [
        dict(county="Erie", risk_score=Decimal("4"), product_line="medicaid"),
        dict(county="Erie", risk_score=Decimal("3"), product_line="medicaid"),
        dict(county="Erie", risk_score=Decimal("2"), product_line="dual_special_needs"),
        dict(county="Erie", risk_score=Decimal("1"), product_line="dual_special_needs"),
    ])
    c = make_contract(db, parties)  # Erie adults, maximum 3, ranked by risk
    sel = service.create_selection(db, parties.staff, c.id, schemas.SelectionRequest(
        as_of=AS_OF, proportional_strata=["product_line"]))
    by = {(s["dimension"], s["stratum"]): (s["eligible"], s["selected"]) for s in sel.strata}
    assert {s["dimension"] for s in sel.strata} == set(elig.STRATUM_DIMENSIONS)
    # 3 places for 2 + 2 eligible: largest remainder, ties to the larger stratum then the name
    assert by[("product_line", "medicaid")][0] == 2 and by[("product_line", "dual_special_needs")][0] == 2
    assert by[("product_line", "medicaid")][1] + by[("product_line", "dual_special_needs")][1] == 3
