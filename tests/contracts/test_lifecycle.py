"""Phases, pre-launch tasks blocking launch, the renewal window, amendments with diffs, and who sees what."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from socialcare.contracts import rules, schemas, service
from socialcare.contracts.models import ContractVersion
from socialcare.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from socialcare.security.models import AuditEvent
from tests.contracts.conftest import complete_sow, make_contract


def _to_pre_launch(db, parties, c):
    service.change_phase(db, parties.admin, c.id, "scoping")
    service.change_phase(db, parties.admin, c.id, "pre_launch")
    db.refresh(c)


def test_launch_is_blocked_until_required_tasks_are_done_or_waived_with_a_reason(db, parties):
    c = make_contract(db, parties)
    _to_pre_launch(db, parties, c)
    kinds = {t.kind for t in c.tasks}
    assert kinds == set(rules.PRELAUNCH_TASKS)  # the guide's pre-launch tasks, from the scope of work
    training = next(t for t in c.tasks if t.kind == "staff_training")
    assert training.due_date is not None and training.owner == "both"
    with pytest.raises(Conflict, match="Launch is blocked"):
        service.change_phase(db, parties.admin, c.id, "implementation")
    required = [t for t in c.tasks if t.required]
    for t in required[:-1]:
        service.update_task(db, parties.admin, c.id, t.id, schemas.TaskUpdate(status="done"))
    last = required[-1]
    with pytest.raises(InvalidInput, match="reason"):
        service.update_task(db, parties.admin, c.id, last.id, schemas.TaskUpdate(status="waived"))
    with pytest.raises(Conflict, match=last.title):
        service.change_phase(db, parties.admin, c.id, "implementation")
    service.update_task(db, parties.hub_user, c.id, last.id,
                        schemas.TaskUpdate(status="waived", waived_reason="Done under the previous contract"))
    service.change_phase(db, parties.admin, c.id, "implementation", "Launched")
    assert c.phase == "implementation"


def test_scoping_cannot_end_with_checklist_items_missing(db, parties):
    sow = complete_sow()
    sow.how.flexibility.revisit_date = None
    c = make_contract(db, parties, sow)
    service.change_phase(db, parties.admin, c.id, "scoping")
    with pytest.raises(Conflict, match="checklist"):
        service.change_phase(db, parties.admin, c.id, "pre_launch")


def test_phases_move_only_along_the_lifecycle(db, parties):
    c = make_contract(db, parties)
    with pytest.raises(Conflict, match="cannot move to Implementation"):
        service.change_phase(db, parties.admin, c.id, "implementation")
    with pytest.raises(InvalidInput, match="why"):
        service.change_phase(db, parties.admin, c.id, "ended")
    service.change_phase(db, parties.admin, c.id, "ended", "The parties chose not to proceed")
    with pytest.raises(Conflict):
        service.amend(db, parties.admin, c.id, schemas.Amendment(reason="too late", end_date=date(2027, 1, 1)))


def test_renewal_review_opens_months_before_the_end(db, parties):
    assert rules.renewal_opens_on(date(2026, 12, 31), 4) == date(2026, 8, 31)
    assert rules.add_months(date(2024, 3, 31), -1) == date(2024, 2, 29)
    c = make_contract(db, parties, end_date=date(2026, 12, 31), renewal_window_months=3)
    _to_pre_launch(db, parties, c)
    for t in c.tasks:
        service.update_task(db, parties.admin, c.id, t.id, schemas.TaskUpdate(status="done"))
    service.change_phase(db, parties.admin, c.id, "implementation")
    assert service.open_due_renewals(db, parties.admin, date(2026, 9, 29)) == []
    moved = service.open_due_renewals(db, parties.admin, date(2026, 9, 30))
    assert [m.id for m in moved] == [c.id] and c.phase == "renewal"
    review = service.renewal_review(db, parties.hub_user, c.id, date(2026, 10, 1))
    assert review.open and review.volume["maximum"] == 3 and review.volume["minimum"] == 1
    # nothing delivered under the contract yet: measured against its minimum, honestly
    assert review.volume["members_served"] == 0 and review.volume["members_selected"] is None
    assert review.volume["status"] == "below minimum"
    assert review.measures["available"] is True
    # the ledger is read directly: no statement settled yet, nothing approved, paid or owed
    assert review.payments["available"] is True and review.payments["statements"] == 0
    assert (review.payments["approved_total"], review.payments["paid_total"]) == ("0.00", "0.00")


def test_an_amendment_is_a_new_version_with_a_reason_and_a_readable_diff(db, parties):
    c = make_contract(db, parties)
    sow = complete_sow()
    sow.who.population.volume.maximum = 40
    v2 = service.amend(db, parties.admin, c.id, schemas.Amendment(
        reason="More members after the first quarter", scope_of_work=sow, end_date=date(2027, 6, 30)))
    assert (v2.version, c.current_version, c.end_date) == (2, 2, date(2027, 6, 30))
    paths = {ch["path"]: (ch["before"], ch["after"]) for ch in v2.changes}
    assert paths["scope_of_work.who.population.volume.maximum"] == (3, 40)
    assert paths["term.end_date"] == ("2026-12-31", "2027-06-30")
    assert "-        maximum: 3\n" in v2.diff and "+        maximum: 40\n" in v2.diff
    assert v2.reason == "More members after the first quarter"
    first = db.scalar(select(ContractVersion).where(ContractVersion.contract_id == c.id, ContractVersion.version == 1))
    assert first.scope_of_work["who"]["population"]["volume"]["maximum"] == 3  # history kept
    with pytest.raises(Conflict, match="Nothing changed"):
        service.amend(db, parties.admin, c.id, schemas.Amendment(reason="no-op", scope_of_work=sow))


def test_bad_payment_terms_are_refused_naming_the_field(db, parties):
    with pytest.raises(InvalidInput) as exc:
        make_contract(db, parties, payment_terms_yaml="model: [unclosed")
    assert exc.value.problems[0].field.startswith("payment_terms_yaml")


def test_who_sees_which_contract(db, parties):
    hub_contract = make_contract(db, parties, name="Hub meals")
    cbo_contract = make_contract(db, parties, name="CBO rides", counterparty=parties.cbo)
    assert {c.id for c in service.list_contracts(db, parties.staff)} == {hub_contract.id, cbo_contract.id}
    assert [c.id for c in service.list_contracts(db, parties.hub_user)] == [hub_contract.id]
    assert [c.id for c in service.list_contracts(db, parties.cbo_user)] == [cbo_contract.id]
    assert service.list_contracts(db, parties.other_cbo_user) == []
    assert service.list_contracts(db, parties.other_plan_admin) == []
    for outsider in (parties.other_cbo_user, parties.other_plan_admin):
        with pytest.raises(NotFound):
            service.get(db, outsider, cbo_contract.id)
    with pytest.raises(Forbidden):  # the counterparty reads but never edits
        service.amend(db, parties.cbo_user, cbo_contract.id, schemas.Amendment(reason="x" * 5, end_date=date(2027, 1, 1)))
    with pytest.raises(Forbidden):  # plan staff read; only contracts:write amends
        service.change_phase(db, parties.staff, cbo_contract.id, "scoping")
    audited = db.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(hub_contract.id))).all()
    assert "contract.create" in audited


def test_the_member_list_is_handed_to_the_partner_as_a_referral_batch(db, parties):
    from decimal import Decimal

    from socialcare.contracts.models import MemberSelection
    from tests.contracts.conftest import AS_OF, add_members

    add_members(db, parties.plan, [dict(county="Erie", risk_score=Decimal(r)) for r in ("4", "3", "2", "1")])
    c = make_contract(db, parties)
    sel = service.create_selection(db, parties.admin, c.id, schemas.SelectionRequest(as_of=AS_OF))
    with pytest.raises(Conflict, match="implementation"):
        service.assign_selection(db, parties.admin, c.id, sel.id)
    _to_pre_launch(db, parties, c)
    for t in c.tasks:
        service.update_task(db, parties.admin, c.id, t.id, schemas.TaskUpdate(status="done"))
    service.change_phase(db, parties.admin, c.id, "implementation")
    try:
        from socialcare.referrals.models import Referral
    except ImportError:
        with pytest.raises(Conflict, match="not available yet"):
            service.assign_selection(db, parties.admin, c.id, sel.id)
        return
    done = service.assign_selection(db, parties.admin, c.id, sel.id)
    assert done.status == "assigned" and "3 referrals" in done.assigned_note
    owners = db.scalars(select(Referral.owner_org_id).where(Referral.contract_id == c.id)).all()
    assert owners == [parties.hub.id] * 3
    with pytest.raises(Conflict, match="already"):
        service.assign_selection(db, parties.admin, c.id, sel.id)
    assert db.get(MemberSelection, sel.id).status == "assigned"
