"""The attribution rule: a record never counts under a contract outside its term, its counterparty's
network or its scope of work's services, and zero or several candidates are never guessed."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from socialcare.contracts.attribution import (
    KINDS,
    ContractFacts,
    ScopeService,
    VersionTerms,
    Work,
    attribute,
    chosen,
)

PLAN, HUB, CBO_A, CBO_B, OTHER = 1, 10, 20, 21, 30
D0 = date(2026, 1, 1)
CODES = ["S5170", "T1016", "S9977", "A0080", None]
DOMAINS = ["food", "care_management", "transportation", "housing", None]


def hub_meals(**kw) -> ContractFacts:
    v = VersionTerms(1, D0, D0, date(2026, 12, 31), (ScopeService("food", "S5170"),))
    return ContractFacts(5, "Meals (hybrid)", PLAN, HUB, "implementation", (v,),
                         ((CBO_A, D0, None), (CBO_B, D0, date(2026, 6, 30))), **kw)


def test_hub_network_member_service_within_term_is_attributed_with_a_reason():
    w = Work("service_record", PLAN, CBO_A, date(2026, 3, 4), "food", "S5170", eligible_for=frozenset({5}))
    a = attribute(w, [hub_meals()])
    assert (a.contract_id, a.version) == (5, 1)
    assert a.reason == "contract 5 v1: hub network member, S5170, within term, eligible"


def test_outside_term_network_or_scope_or_population_is_not_attributed_and_says_why():
    c = hub_meals()
    cases = {
        "outside the term": Work("service_record", PLAN, CBO_A, date(2027, 1, 2), "food", "S5170"),
        "not done by the counterparty": Work("service_record", PLAN, OTHER, date(2026, 3, 1), "food", "S5170"),
        "scope": Work("service_record", PLAN, CBO_A, date(2026, 3, 1), "food", "S9977"),
        "population": Work("service_record", PLAN, CBO_A, date(2026, 3, 1), "food", "S5170",
                           eligible_for=frozenset()),
        # CBO_B left the hub's network at the end of June
        "left the network": Work("service_record", PLAN, CBO_B, date(2026, 7, 1), "food", "S5170"),
    }
    for label, w in cases.items():
        a = attribute(w, [c])
        assert a.contract_id is None, label
        assert a.status == "none"
        assert a.reason.startswith("no contract covers this work")


def test_several_candidates_are_shown_never_guessed_and_the_referral_contract_settles_it():
    v = VersionTerms(1, D0, D0, date(2026, 12, 31), (ScopeService("care_management", "T1016"),))
    direct = ContractFacts(1, "Pilot", PLAN, CBO_A, "renewal", (v,))
    via_hub = ContractFacts(7, "Pathways", PLAN, HUB, "implementation", (v,), ((CBO_A, D0, None),))
    w = Work("service_record", PLAN, CBO_A, date(2026, 5, 5), "care_management", "T1016")
    a = attribute(w, [direct, via_hub])
    assert a.contract_id is None and a.status == "ambiguous"
    assert [c.contract_id for c in a.candidates] == [1, 7]
    a = attribute(Work("service_record", PLAN, CBO_A, date(2026, 5, 5), "care_management", "T1016",
                       via_contract_id=7), [direct, via_hub])
    assert a.contract_id == 7 and a.reason.endswith("as its referral")
    # a plan's referral straight to the CBO counts only under the CBO's own contract
    a = attribute(Work("referral", PLAN, CBO_A, date(2026, 5, 5), "care_management", None, direct_only=True),
                  [direct, via_hub])
    assert a.contract_id == 1
    # a hub's sub-referral only under the hub's contract
    a = attribute(Work("referral", PLAN, CBO_A, date(2026, 5, 5), "care_management", None, via_hub_id=HUB),
                  [direct, via_hub])
    assert a.contract_id == 7


def test_the_version_in_effect_on_the_day_decides():
    v1 = VersionTerms(1, D0, D0, date(2026, 12, 31), (ScopeService("food", "S9977"),))
    v2 = VersionTerms(2, date(2026, 7, 1), D0, date(2027, 6, 30), (ScopeService("food", "S9977"),))
    c = ContractFacts(2, "MTM", PLAN, CBO_A, "implementation", (v1, v2))
    assert attribute(Work("service_record", PLAN, CBO_A, date(2026, 3, 1), "food", "S9977"), [c]).version == 1
    assert attribute(Work("service_record", PLAN, CBO_A, date(2027, 3, 1), "food", "S9977"), [c]).version == 2
    assert chosen(Work("service_record", PLAN, CBO_A, date(2027, 8, 1), "food", "S9977"), [c], 2).contract_id is None


def test_contracts_not_launched_take_no_work():
    c = ContractFacts(3, "Case rate", PLAN, HUB, "pre_launch",
                      (VersionTerms(1, D0, D0, date(2026, 12, 31), (ScopeService("care_management", None),)),))
    assert attribute(Work("referral", PLAN, HUB, date(2026, 2, 1), "care_management"), [c]).contract_id is None


# ---- properties --------------------------------------------------------------------------------------------

days = st.integers(min_value=0, max_value=900).map(lambda n: D0 + timedelta(days=n))


@st.composite
def contracts(draw):
    out = []
    for cid in range(1, draw(st.integers(1, 5)) + 1):
        start = draw(days)
        end = start + timedelta(days=draw(st.integers(0, 400)))
        versions = []
        for n in range(1, draw(st.integers(1, 3)) + 1):
            eff = start + timedelta(days=draw(st.integers(0, 300)))
            vend = end + timedelta(days=draw(st.integers(-100, 200)))
            services = tuple(ScopeService(draw(st.sampled_from(DOMAINS)), draw(st.sampled_from(CODES)))
                             for _ in range(draw(st.integers(0, 3))))
            versions.append(VersionTerms(n, eff, start, max(vend, start), services, draw(st.booleans()),
                                         draw(st.booleans())))
        party = draw(st.sampled_from([HUB, CBO_A, CBO_B, OTHER]))
        network = tuple((cbo, draw(days), draw(st.none() | days)) for cbo in draw(st.sets(st.sampled_from(
            [CBO_A, CBO_B, OTHER])))) if party == HUB else ()
        out.append(ContractFacts(cid, f"c{cid}", draw(st.sampled_from([PLAN, 2])), party,
                                 draw(st.sampled_from(["implementation", "renewal", "ended", "scoping",
                                                       "pre_launch", "shared_vision"])), tuple(versions), network))
    return out


@st.composite
def works(draw):
    return Work(draw(st.sampled_from(KINDS)), draw(st.sampled_from([PLAN, 2])),
                draw(st.sampled_from([HUB, CBO_A, CBO_B, OTHER])), draw(days), draw(st.sampled_from(DOMAINS)),
                draw(st.sampled_from(CODES)), direct_only=draw(st.booleans()),
                via_hub_id=draw(st.none() | st.just(HUB)), via_contract_id=draw(st.none() | st.integers(1, 5)),
                eligible_for=draw(st.none() | st.frozensets(st.integers(1, 5))))


@settings(max_examples=400, deadline=None)
@given(contracts(), works())
def test_never_attributed_outside_term_network_or_scope(cs, w):
    a = attribute(w, cs)
    if a.contract_id is None:
        assert a.version is None
        assert a.status in ("none", "ambiguous")
        return
    c = next(x for x in cs if x.contract_id == a.contract_id)
    v = next(x for x in c.versions if x.version == a.version)
    assert v == c.version_on(w.on)  # the version in effect that day
    assert c.plan_id == w.plan_id
    assert c.phase in ("implementation", "renewal", "ended")
    assert v.start_date <= w.on <= v.end_date  # within the term
    if w.via_hub_id is not None:  # a hub's sub-referral: the hub's contract, done in its network
        assert c.counterparty_id == w.via_hub_id
        assert w.org_id == c.counterparty_id or c.network_member_on(w.org_id, w.on)
    else:
        assert w.org_id == c.counterparty_id or (not w.direct_only and c.network_member_on(w.org_id, w.on))
    if w.kind in ("pathway", "engagement"):
        assert v.pays_pathways
    elif w.kind == "disbursement":
        assert v.flex_funds
    else:
        assert any((w.service_code and s.service_code and w.service_code == s.service_code)
                   or ((not w.service_code or not s.service_code) and w.need_domain and w.need_domain == s.need_domain)
                   for s in v.services)
    if w.eligible_for is not None and a.contract_id != w.via_contract_id:
        assert a.contract_id in w.eligible_for
    assert a.reason.startswith(f"contract {c.contract_id} v{v.version}: ")


@settings(max_examples=300, deadline=None)
@given(contracts(), works())
def test_several_candidates_without_a_referral_contract_are_never_guessed(cs, w):
    a = attribute(w, cs)
    if len(a.candidates) > 1 and (w.via_contract_id is None
                                  or all(c.contract_id != w.via_contract_id for c in cs)):
        assert a.contract_id is None and a.status == "ambiguous"
