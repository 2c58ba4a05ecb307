"""Eligibility and prioritization run in the database and count why members are not eligible."""

from __future__ import annotations

import random
from datetime import UTC, date
from decimal import Decimal

import pytest
from sqlalchemy import select

from socialcare.contracts import eligibility as elig
from socialcare.contracts import schemas, service
from socialcare.contracts.models import SelectedMember
from socialcare.core.errors import Forbidden, InvalidInput
from tests.contracts.conftest import AS_OF, add_members, complete_sow, make_contract


def _rule(**d) -> schemas.RuleGroup:
    return schemas.RuleGroup.model_validate(d)


def _eligible_ids(db, plan, rule) -> set[int]:
    from socialcare.members.models import Member

    return set(db.scalars(select(Member.id).where(elig.eligible_where(plan.id, rule, AS_OF))))


def test_each_criterion_and_the_failed_counts(db, parties):
    p = parties.plan
    ids = add_members(db, p, [
        dict(county="Erie", birth_date=date(1950, 1, 1), conditions=["E11.9"], risk_score=Decimal("3.1")),  # all
        dict(county="Niagara", birth_date=date(1950, 1, 1), conditions=["E11.9"], risk_score=Decimal("3.1")),  # county
        dict(county="Erie", birth_date=date(2015, 1, 1), conditions=["E11.9"], risk_score=Decimal("3.1")),  # age
        dict(county="Erie", birth_date=date(1950, 1, 1), conditions=["I10"], risk_score=Decimal("3.1")),  # condition
        dict(county="Erie", birth_date=date(1950, 1, 1), conditions=["E11.65"], risk_score=None),  # no risk score
        dict(county="Erie", birth_date=date(1950, 1, 1), conditions=["E11.9"], risk_score=Decimal("3.1"),
             enrolled=False),  # left the plan
        dict(county=None, birth_date=date(2015, 1, 1), risk_score=Decimal("0.5")),  # fails everything
    ])
    add_members(db, parties.other_plan, [dict(county="Erie", conditions=["E11.9"], risk_score=Decimal("9"))])
    rule = _rule(kind="group", op="and", rules=[
        {"kind": "geography", "counties": ["Erie County"]},
        {"kind": "age", "min_age": 18},
        {"kind": "condition", "icd10_prefixes": ["e11"]},
        {"kind": "risk", "min_score": "2.0"},
    ])
    assert _eligible_ids(db, p, rule) == {ids[0]}
    c = make_contract(db, parties, complete_sow())
    c_version = service.current_version(db, c)
    sow = schemas.ScopeOfWork.model_validate(c_version.scope_of_work)
    sow.who.population.rule = rule
    service.amend(db, parties.admin, c.id, schemas.Amendment(reason="Narrow the population", scope_of_work=sow))
    r = service.eligibility(db, parties.admin, c.id, AS_OF)
    assert (r.roster, r.enrolled, r.eligible) == (7, 6, 1)
    failed = {cc.label: cc.failed for cc in r.criteria}
    assert failed == {
        "Lives in county in Erie": 2,  # Niagara, and the member with no county
        "Age 18 or older": 2,
        "Has a condition coded E11*": 2,  # I10 only, and no conditions
        "Risk score at least 2.0": 2,  # no score, and 0.5
    }
    # the counterparty sees the counts too (no member rows)
    assert service.eligibility(db, parties.hub_user, c.id, AS_OF).eligible == 1


def test_and_or_groups_negation_zip_prefix_pcp_and_product_line(db, parties):
    p = parties.plan
    ids = add_members(db, p, [
        dict(zip="14201", product_line="medicaid", pcp_npi="1234567893", conditions=["F20.9"]),
        dict(zip="14301", product_line="medicare_advantage", pcp_npi="1234567893"),
        dict(zip="14701", product_line="medicaid", pcp_npi=None, conditions=["N18.30"]),
        dict(zip="14201-1234", product_line="commercial", pcp_npi="1111111111"),
    ])
    rule = _rule(kind="group", op="or", rules=[
        {"kind": "group", "op": "and", "rules": [
            {"kind": "geography", "zips": ["142"]},
            {"kind": "product_line", "product_lines": ["medicaid"]},
        ]},
        {"kind": "pcp", "npis": ["1234567893"], "negate": False},
        {"kind": "condition", "icd10_prefixes": ["N183"]},  # written without the dot
    ])
    assert _eligible_ids(db, p, rule) == {ids[0], ids[1], ids[2]}
    negated = _rule(kind="group", op="and", rules=[
        {"kind": "geography", "zips": ["14201"]},
        {"kind": "condition", "icd10_prefixes": ["F20"], "negate": True},
    ])
    assert _eligible_ids(db, p, negated) == {ids[3]}  # ZIP+4 matches its five digits


def test_age_is_computed_on_the_as_of_date(db, parties):
    ids = add_members(db, parties.plan, [
        dict(birth_date=date(2008, 6, 1)),  # turns 18 on AS_OF
        dict(birth_date=date(2008, 6, 2)),  # 17 on AS_OF
        dict(birth_date=date(1961, 6, 2)),  # 64 on AS_OF
        dict(birth_date=date(1961, 6, 1)),  # 65 on AS_OF
    ])
    rule = _rule(kind="group", rules=[{"kind": "age", "min_age": 18, "max_age": 64}])
    assert _eligible_ids(db, parties.plan, rule) == {ids[0], ids[2]}


def test_social_needs_from_screenings_select_and_rank(db, parties):
    if not elig.screening_available():
        rule = _rule(kind="group", rules=[{"kind": "social_need", "need_domains": ["food"]}])
        with pytest.raises(InvalidInput, match="Screening data not available"):
            _eligible_ids(db, parties.plan, rule)
        return
    from datetime import datetime

    from sqlalchemy import insert

    from socialcare.screening.models import SocialNeed

    ids = add_members(db, parties.plan, [dict(), dict(), dict(), dict()])

    def need(mid, domain, day, resolved=None):
        return dict(member_id=mid, plan_id=parties.plan.id, domain=domain, sdoh_category="food-insecurity",
                    status="resolved" if resolved else "active", source="screening",
                    identified_at=datetime(*day, tzinfo=UTC),
                    resolved_at=datetime(*resolved, tzinfo=UTC) if resolved else None)

    db.execute(insert(SocialNeed), [
        need(ids[0], "food", (2026, 5, 1)), need(ids[0], "housing", (2026, 5, 1)),
        need(ids[1], "food", (2026, 5, 20)),
        need(ids[2], "food", (2024, 1, 1)),  # too old for a 365-day window
        need(ids[3], "food", (2026, 3, 1), resolved=(2026, 4, 1)),  # resolved before as-of
    ])
    rule = _rule(kind="group", rules=[{"kind": "social_need", "need_domains": ["food"], "within_days": 365}])
    assert _eligible_ids(db, parties.plan, rule) == {ids[0], ids[1]}
    stmt = elig.selection_select(parties.plan.id, rule, AS_OF, cap=1,
                                 rank_by=[schemas.RankCriterion(key="unmet_needs")], strata=[])
    assert [r.member_id for r in db.execute(stmt)] == [ids[0]]  # two unmet needs beat one


# ---- prioritization ----------------------------------------------------------------------------


def _reference_selection(members: list[dict], cap: int, strata: list[str]) -> list[int]:
    """Plain-Python largest-remainder allocation + top-k, to check the SQL against."""
    ranked = sorted(members, key=lambda m: (-m["risk"], m["id"]))
    if not strata:
        return [m["id"] for m in ranked[:cap]]
    groups: dict[tuple, list[dict]] = {}
    for m in ranked:
        groups.setdefault(tuple(m[s] for s in strata), []).append(m)
    total = len(members)
    base = {k: cap * len(v) // total for k, v in groups.items()}
    rem = {k: cap * len(v) % total for k, v in groups.items()}
    left = cap - sum(base.values())
    order = sorted(groups, key=lambda k: (-rem[k], -len(groups[k]), k))
    quota = {k: base[k] + (1 if i < left else 0) for i, k in enumerate(order)}
    chosen = [m for k, v in groups.items() for m in v[: quota[k]]]
    return [m["id"] for m in sorted(chosen, key=lambda m: (-m["risk"], m["id"]))]


@pytest.mark.parametrize("strata", [[], ["county"], ["county", "language"]])
def test_prioritization_matches_a_reference_and_keeps_stratum_shares(db, parties, strata):
    rng = random.Random(42 + len(strata))
    rows = []
    for _ in range(120):
        rows.append(dict(
            county=rng.choice(["Erie", "Erie", "Erie", "Niagara", "Allegany"]),
            preferred_language=rng.choice(["en", "en", "es", "ar"]),
            risk_score=Decimal(rng.randint(50, 400)) / 100,
        ))
    ids = add_members(db, parties.plan, rows)
    members = [dict(id=i, risk=float(r["risk_score"]), county=r["county"], language=r["preferred_language"])
               for i, r in zip(ids, rows, strict=True)]
    rule = _rule(kind="group", rules=[{"kind": "age", "min_age": 18}])
    stmt = elig.selection_select(parties.plan.id, rule, AS_OF, cap=17,
                                 rank_by=[schemas.RankCriterion(key="risk_score")], strata=strata)
    got = [r.member_id for r in db.execute(stmt)]
    assert got == _reference_selection(members, 17, strata)
    assert len(got) == 17


def test_a_cap_keeps_a_small_stratum_from_being_crowded_out(db, parties):
    # 90 high-risk Erie members and 10 low-risk Allegany members; cap 10.
    add_members(db, parties.plan, [dict(county="Erie", risk_score=Decimal("5")) for _ in range(90)]
                + [dict(county="Allegany", risk_score=Decimal("1")) for _ in range(10)])
    rule = _rule(kind="group", rules=[{"kind": "age", "min_age": 18}])
    rank = [schemas.RankCriterion(key="risk_score")]
    plain = db.execute(elig.selection_select(parties.plan.id, rule, AS_OF, cap=10, rank_by=rank, strata=[])).all()
    fair = db.execute(elig.selection_select(parties.plan.id, rule, AS_OF, cap=10, rank_by=rank,
                                            strata=["county"])).all()
    assert sum(1 for r in plain if r.stratum == "Allegany") == 0
    assert sum(1 for r in fair if r.stratum == "Allegany") == 1  # 10% of eligible -> 10% of places


def test_selection_is_stored_reported_by_stratum_and_for_plan_roles_only(db, parties):
    add_members(db, parties.plan, [
        dict(county="Erie", risk_score=Decimal("4"), race="black_or_african_american"),
        dict(county="Erie", risk_score=Decimal("3"), ethnicity="hispanic_or_latino", preferred_language="es"),
        dict(county="Erie", risk_score=Decimal("2")),
        dict(county="Erie", risk_score=Decimal("1")),
        dict(county="Niagara", risk_score=Decimal("9")),
    ])
    c = make_contract(db, parties)  # Erie adults, maximum 3, ranked by risk
    sel = service.create_selection(db, parties.staff, c.id, schemas.SelectionRequest(as_of=AS_OF))
    assert (sel.eligible_count, sel.selected_count, sel.cap) == (4, 3, 3)
    stored = db.execute(select(SelectedMember.rank).where(SelectedMember.selection_id == sel.id)
                        .order_by(SelectedMember.rank)).scalars().all()
    assert stored == [1, 2, 3]
    by = {(s["dimension"], s["stratum"]): (s["eligible"], s["selected"]) for s in sel.strata}
    assert by[("county", "Erie")] == (4, 3)
    assert by[("race_ethnicity", "hispanic_or_latino")] == (1, 1)
    assert by[("language", "en")] == (3, 2)
    _sel, rows = service.selection_page(db, parties.staff, c.id, sel.id)
    assert [float(m.risk_score) for _s, m in rows] == [4.0, 3.0, 2.0]
    csv_text = service.selection_csv(db, parties.admin, c.id, sel.id)
    assert csv_text.count("\n") == 4
    for who in (parties.hub_user, parties.auditor):
        with pytest.raises(Forbidden):
            service.create_selection(db, who, c.id)
        with pytest.raises(Forbidden):
            service.selection_page(db, who, c.id, sel.id)
