"""Co-authored contracts: either party proposes, the other accepts (next version, both acceptances),
counters or declines; expectations side by side."""

from __future__ import annotations

import pytest

from socialcare.contracts import repository as contract_repo
from socialcare.core.errors import Conflict, Forbidden, InvalidInput
from socialcare.partnership import expectations, proposals
from tests.contracts.conftest import make_contract, parties  # noqa: F401
from tests.factories import make_user


@pytest.fixture
def setup(db, parties):  # noqa: F811
    c = make_contract(db, parties, counterparty=parties.cbo)
    return c, make_user(db, parties.cbo, "cbo_admin")


def test_cbo_proposes_the_plan_accepts_and_the_version_shows_both(db, parties, setup):  # noqa: F811
    c, cbo_admin = setup
    p = proposals.propose(db, cbo_admin, c.id, "vision", {"vision": "Every discharged member eats well."},
                          "our words")
    with pytest.raises(Forbidden):  # the proposer does not answer its own proposal
        proposals.respond(db, cbo_admin, c.id, p.id, "accept")
    proposals.respond(db, parties.admin, c.id, p.id, "accept", "agreed")
    db.refresh(c)
    assert c.current_version == 2 and c.vision == "Every discharged member eats well."
    acc = proposals.acceptance_of(db, c.id, 2)
    assert (acc.proposed_by, acc.responded_by, acc.status) == (cbo_admin.username, parties.admin.username, "accepted")
    v = contract_repo.version(db, c.id, 2)
    assert any(ch["path"] == "vision" for ch in v.changes)


def test_counter_then_accept_contacts_and_decline_needs_a_comment(db, parties, setup):  # noqa: F811
    c, cbo_admin = setup
    current = proposals.current_values(db, c, "contacts")
    new = {**current, "escalation_pathway": [{"level": 1, "contact": "CBO director", "respond_within_days": 1}]}
    p = proposals.propose(db, parties.admin, c.id, "contacts", new)
    with pytest.raises(InvalidInput):
        proposals.respond(db, cbo_admin, c.id, p.id, "decline")
    countered = {**current, "escalation_pathway": [{"level": 1, "contact": "CBO director", "respond_within_days": 2}]}
    counter = proposals.respond(db, cbo_admin, c.id, p.id, "counter", "one day is too short", counter=countered)
    db.refresh(p)
    assert p.status == "countered" and counter.counter_of_id == p.id
    proposals.respond(db, parties.admin, c.id, counter.id, "accept")
    sow = contract_repo.version(db, c.id, 2).scope_of_work
    assert sow["who"]["staffing"]["escalation_pathway"][0]["respond_within_days"] == 2
    # a stale proposal (made on version 1) cannot be accepted on version 2
    stale = proposals.propose(db, cbo_admin, c.id, "vision", {"vision": "x" * 10})
    stale.base_version = 1
    with pytest.raises(Conflict):
        proposals.respond(db, parties.admin, c.id, stale.id, "accept")


def test_bad_scope_is_refused_and_staff_cannot_propose(db, parties, setup):  # noqa: F811
    c, cbo_admin = setup
    with pytest.raises(InvalidInput):
        proposals.propose(db, cbo_admin, c.id, "scope", {"who": {"nonsense": 1}})
    with pytest.raises(Forbidden):
        proposals.propose(db, parties.cbo_user, c.id, "vision", {"vision": "staff may not"})
    with pytest.raises(InvalidInput):
        proposals.propose(db, cbo_admin, c.id, "goals", {"goals": {"not_a_measure": 3}})


def test_expectations_side_by_side(db, parties, setup):  # noqa: F811
    c, cbo_admin = setup
    expectations.save(db, parties.admin, c.id, {("partner", 1): "Reach members within 3 days"})
    expectations.save(db, cbo_admin, c.id, {("partner", 1): "Pay within 30 days", ("program", 2): "Fewer readmissions"})
    table = expectations.side_by_side(db, parties.cbo_user, c.id)
    assert table["partner"][1] == {"plan": "Reach members within 3 days", "partner": "Pay within 30 days"}
    assert table["program"][2]["partner"] == "Fewer readmissions"
