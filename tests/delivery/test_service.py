"""Delivery use cases: recording, validation, scoping, episodes and renewals, pathways, flexible funds."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from socialcare.contracts.models import Contract, ContractVersion
from socialcare.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from socialcare.delivery import repository as repo
from socialcare.delivery import rules, service
from socialcare.delivery.models import ServiceRecord
from socialcare.security.models import AuditEvent
from tests.delivery.conftest import TODAY, share


def rec(p, member=None, **kw):
    data = dict(member_id=(member or p.members[0]).id, service_id=p.services["meals"].id,
                service_date=date(2026, 6, 1), units=14, place_of_service="12")
    data.update(kw)
    return rules.ServiceRecordInput(**data)


def add_contract(db, p, terms_yaml: str, counterparty=None, start=date(2026, 1, 1), end=date(2026, 12, 31),
                 phase="implementation") -> Contract:
    c = Contract(plan_id=p.plan.id, counterparty_id=(counterparty or p.cbo).id, name="Test contract", phase=phase,
                 start_date=start, end_date=end)
    db.add(c)
    db.flush()
    db.add(ContractVersion(contract_id=c.id, version=1, effective_date=start, start_date=start, end_date=end,
                           payment_terms_yaml=terms_yaml))
    db.flush()
    return c


# ---- service records -------------------------------------------------------------------------


def test_cbo_records_a_service_with_the_directory_code(db, p):
    r = service.record_service(db, p.users["cbo"], rec(p, diagnosis_code="z5941"), today=TODAY)
    assert (r.service_code, r.hcpcs, r.modifiers, r.units) == ("S5170-U6", "S5170", "U6", 14)
    assert r.plan_id == p.plan.id and r.organization_id == p.cbo.id and r.need_domain == "food"
    assert r.diagnosis_code == "Z59.41" and r.staff_name == p.users["cbo"].username
    ev = db.scalar(select(AuditEvent).where(AuditEvent.action == "delivery.service.record"))
    assert ev.member_id == p.members[0].id and ev.allowed


def test_bad_record_names_every_field_and_writes_nothing(db, p):
    with pytest.raises(InvalidInput) as exc:
        service.record_service(db, p.users["cbo"], rec(p, units=0, service_date=date(2026, 7, 1),
                                                         place_of_service="xx"), today=TODAY)
    assert {x.field for x in exc.value.problems} == {"units", "service_date", "place_of_service"}
    assert db.scalar(select(func.count()).select_from(ServiceRecord)) == 0


def test_code_must_be_the_services_code(db, p):
    with pytest.raises(InvalidInput) as exc:
        service.record_service(db, p.users["cbo"], rec(p, service_code="S9977"), today=TODAY)
    assert exc.value.problems[0].field == "service_code"


def test_cbo_cannot_record_another_organizations_service(db, p):
    with pytest.raises(InvalidInput) as exc:
        service.record_service(db, p.users["cbo"], rec(p, service_id=p.services["housing"].id), today=TODAY)
    assert exc.value.problems[-1].field == "service_id"


def test_cbo_cannot_record_for_a_member_not_shared_with_it(db, p):
    for m in (p.unshared, p.other_members[0]):
        with pytest.raises(Forbidden):
            service.record_service(db, p.users["cbo"], rec(p, member=m), today=TODAY)
    denied = db.scalars(select(AuditEvent).where(AuditEvent.allowed.is_(False))).all()
    assert {e.member_id for e in denied} == {p.unshared.id, p.other_members[0].id}


def test_consent_revoked_hides_the_member(db, p):
    from socialcare.referrals.models import Consent

    service.record_service(db, p.users["cbo"], rec(p), today=TODAY)
    for c in db.scalars(select(Consent).where(Consent.member_id == p.members[0].id)):
        c.revoked_at = c.granted_at
    db.flush()
    with pytest.raises(Forbidden):
        service.record_service(db, p.users["cbo"], rec(p), today=TODAY)
    assert service.list_services(db, p.users["cbo"], repo.Filters()).total == 0
    assert service.list_services(db, p.users["admin"], repo.Filters()).total == 1  # the plan still sees it


def test_plans_cannot_record_and_auditors_see_nothing(db, p):
    with pytest.raises(Forbidden):
        service.record_service(db, p.users["admin"], rec(p), today=TODAY)
    service.record_service(db, p.users["cbo"], rec(p), today=TODAY)
    with pytest.raises(Forbidden):
        service.list_services(db, p.users["auditor"], repo.Filters())


def test_scoping_of_lists(db, p):
    service.record_service(db, p.users["cbo"], rec(p), today=TODAY)
    service.record_service(db, p.users["other_cbo"], rec(p, member=p.other_members[0],
                                                         service_id=p.services["housing"].id, units=1), today=TODAY)
    f = repo.Filters()
    assert service.list_services(db, p.users["admin"], f).total == 2
    assert service.list_services(db, p.users["other_admin"], f).total == 0
    cbo_rows = service.list_services(db, p.users["cbo"], f).items
    assert [r[0].organization_id for r in cbo_rows] == [p.cbo.id]
    assert [r[0].organization_id for r in service.list_services(db, p.users["other_cbo"], f).items] == [
        p.other_cbo.id]
    # reading another CBO's record by id is "not found", not a leak
    other_id = service.list_services(db, p.users["other_cbo"], f).items[0][0].id
    with pytest.raises(NotFound):
        repo.get_service_record(db, p.users["cbo"], other_id)
    # the hub sees its network CBO's records for members shared with the hub
    assert service.list_services(db, p.users["hub"], f).total == 0
    share(db, p.members[0], p.hub, p.plan)
    assert service.list_services(db, p.users["hub"], f).total == 1
    # list reads are audited, one row per member shown
    reads = db.scalars(select(AuditEvent).where(AuditEvent.action == "delivery.service.list")).all()
    assert reads and all(e.member_id for e in reads)


def test_void_leaves_record_out_of_totals(db, p):
    r = service.record_service(db, p.users["cbo"], rec(p), today=TODAY)
    with pytest.raises(InvalidInput):
        service.void_service(db, p.users["cbo"], r.id, " ")
    service.void_service(db, p.users["cbo"], r.id, "wrong member")
    assert r.status == "entered-in-error"
    assert repo.service_totals(db, p.users["admin"], repo.Filters()) == []
    with pytest.raises(Conflict):
        service.void_service(db, p.users["cbo"], r.id, "again")


def test_bulk_import_is_all_or_nothing(db, p):
    rows = [rec(p), rec(p, member=p.members[1], units=3), rec(p, member=p.unshared), rec(p, units=-1)]
    with pytest.raises(InvalidInput) as exc:
        service.record_services_bulk(db, p.users["cbo"], rows, file="march.csv", today=TODAY)
    assert {(x.row, x.field) for x in exc.value.problems} == {(4, "member_id"), (5, "units")}
    assert db.scalar(select(func.count()).select_from(ServiceRecord)) == 0
    assert service.record_services_bulk(db, p.users["cbo"], rows[:2], today=TODAY) == 2


# ---- episodes --------------------------------------------------------------------------------


def ep(p, member=None, start=date(2026, 1, 5), **kw):
    return service.EpisodeInput(member_id=(member or p.members[0]).id, start_date=start,
                                service_id=p.services["cm"].id, **kw)


def test_episode_defaults_to_three_months(db, p):
    e = service.open_episode(db, p.users["cbo"], ep(p), today=TODAY)
    assert (e.period_days, e.planned_end, e.status, e.billing_code) == (90, date(2026, 4, 4), "active", "T1016")


def test_episode_takes_the_contract_maximum(db, p):
    add_contract(db, p, BUNDLED, counterparty=p.hub)  # the hub's contract covers its network CBO
    e = service.open_episode(db, p.users["cbo"], ep(p), today=TODAY)
    assert (e.period_days, e.max_renewals, e.planned_end) == (60, 1, date(2026, 3, 5))


def test_renewal_paid_only_when_the_plan_approves(db, p):
    e = service.open_episode(db, p.users["cbo"], ep(p, max_renewals=1), today=TODAY)
    r = service.request_renewal(db, p.users["cbo"], e.id, "still unstable housing", on=date(2026, 3, 20))
    assert (r.period_start, r.period_end, r.status) == (date(2026, 4, 5), date(2026, 7, 3), "requested")
    with pytest.raises(Conflict):  # one pending request at a time
        service.request_renewal(db, p.users["cbo"], e.id, "again", on=date(2026, 3, 21))
    with pytest.raises(Forbidden):  # the CBO cannot approve its own renewal
        service.decide_renewal(db, p.users["cbo"], e.id, r.id, True)
    with pytest.raises(NotFound):  # another plan cannot see it
        service.decide_renewal(db, p.users["other_admin"], e.id, r.id, True)
    r = service.decide_renewal(db, p.users["staff"], e.id, r.id, True, "agreed at case review")
    assert (r.status, r.decided_by) == ("approved", p.users["staff"].username)
    e = service.get_episode(db, p.users["cbo"], e.id)
    assert e.planned_end == date(2026, 7, 3)
    with pytest.raises(Conflict):  # decided already
        service.decide_renewal(db, p.users["admin"], e.id, r.id, False, "no")
    with pytest.raises(Conflict):  # the maximum of one renewal is used
        service.request_renewal(db, p.users["cbo"], e.id, "more", on=date(2026, 6, 1))


def test_denial_needs_a_reason_and_keeps_the_end(db, p):
    e = service.open_episode(db, p.users["cbo"], ep(p), today=TODAY)
    r = service.request_renewal(db, p.users["cbo"], e.id, "needs more", on=date(2026, 3, 1))
    with pytest.raises(InvalidInput):
        service.decide_renewal(db, p.users["admin"], e.id, r.id, False, "")
    service.decide_renewal(db, p.users["admin"], e.id, r.id, False, "goals met")
    assert service.get_episode(db, p.users["admin"], e.id).planned_end == date(2026, 4, 4)


def test_close_early_and_no_overlapping_episode(db, p):
    e = service.open_episode(db, p.users["cbo"], ep(p), today=TODAY)
    with pytest.raises(InvalidInput):
        service.close_episode(db, p.users["cbo"], e.id, date(2026, 5, 1), "beyond the period", today=TODAY)
    e = service.close_episode(db, p.users["cbo"], e.id, date(2026, 2, 1), "member moved", today=TODAY)
    assert e.status == "closed-early"
    with pytest.raises(Conflict):  # the case rate already covers the member through Apr 4
        service.open_episode(db, p.users["cbo"], ep(p, start=date(2026, 3, 1)), today=TODAY)
    assert service.open_episode(db, p.users["cbo"], ep(p, start=date(2026, 4, 5)), today=TODAY).status == "active"


# ---- pathways and engagements ----------------------------------------------------------------


def walk(db, p, user, inst, upto: int, start=date(2026, 5, 1)):
    pdef = service.catalog().get(inst.pathway_code)
    for i, s in enumerate(pdef.steps[1:upto], 1):
        inst = service.record_step(db, user, inst.id, s.code, date(start.year, start.month, start.day + i),
                                   today=TODAY)
    return inst


def test_pathway_steps_and_hub_confirmation(db, p):
    cbo = p.users["cbo"]
    inst = service.open_pathway(db, cbo, p.members[0].id, "housing", date(2026, 5, 1), today=TODAY)
    assert [s.step_code for s in inst.steps] == ["identified"]
    with pytest.raises(Conflict):
        service.open_pathway(db, cbo, p.members[0].id, "housing", date(2026, 5, 2), today=TODAY)
    with pytest.raises(InvalidInput):  # out of order
        service.record_step(db, cbo, inst.id, "referred", date(2026, 5, 2), today=TODAY)
    inst = walk(db, p, cbo, inst, 5)
    assert rules.benchmarks_reached(service.catalog().get("housing"), service._done(inst)) == [1, 2]
    with pytest.raises(Forbidden):  # a network CBO does not confirm its own outcome: the hub does
        service.confirm_completion(db, cbo, inst.id, date(2026, 6, 1), today=TODAY)
    share(db, p.members[0], p.hub, p.plan)
    inst = service.confirm_completion(db, p.users["hub"], inst.id, date(2026, 6, 1), "lease signed", today=TODAY)
    assert (inst.status, inst.confirmed_on, inst.confirmed_by) == ("completed", date(2026, 6, 1),
                                                                   p.users["hub"].username)
    assert inst.steps[-1].step_code == "outcome_confirmed"


def test_independent_cbo_confirms_its_own_and_incomplete_needs_reason(db, p):
    oc = p.users["other_cbo"]
    m = p.other_members[0]
    inst = service.open_pathway(db, oc, m.id, "food_security", date(2026, 5, 1), today=TODAY)
    with pytest.raises(InvalidInput):  # steps missing
        service.confirm_completion(db, oc, inst.id, date(2026, 6, 1), today=TODAY)
    inst = walk(db, p, oc, inst, 5)
    assert service.confirm_completion(db, oc, inst.id, date(2026, 6, 1), today=TODAY).status == "completed"
    inst2 = service.open_pathway(db, oc, m.id, "employment", date(2026, 5, 1), today=TODAY)
    with pytest.raises(InvalidInput):
        service.finish_incomplete(db, oc, inst2.id, date(2026, 6, 1), "", today=TODAY)
    assert service.finish_incomplete(db, oc, inst2.id, date(2026, 6, 1), "moved away",
                                     today=TODAY).status == "finished-incomplete"


def test_engagement_once_a_day(db, p):
    service.record_engagement(db, p.users["cbo"], p.members[0].id, date(2026, 6, 1), today=TODAY)
    with pytest.raises(Conflict):
        service.record_engagement(db, p.users["cbo"], p.members[0].id, date(2026, 6, 1), today=TODAY)
    with pytest.raises(Forbidden):
        service.record_engagement(db, p.users["cbo"], p.unshared.id, date(2026, 6, 1), today=TODAY)


# ---- flexible member fund --------------------------------------------------------------------

FLEX = """
terms:
  - id: flex
    model: flex_funds
    per_member_limit: "100.00"
    program_budget: "150.00"
"""

BUNDLED = """
terms:
  - id: case-management
    model: bundled
    billing_code: T1016
    episode_rate: "675.00"
    episode_days: 60
    max_renewals: 1
"""


def dis(p, member, amount, on=date(2026, 6, 1), category="utilities"):
    return service.DisbursementInput(member_id=member.id, category=category, amount=amount, disbursed_on=on,
                                     purpose="shut-off notice")


def test_flex_fund_needs_a_contract(db, p):
    with pytest.raises(InvalidInput) as exc:
        service.record_disbursement(db, p.users["cbo"], dis(p, p.members[0], "40.00"), today=TODAY)
    assert "flexible member fund" in exc.value.problems[0].message


def test_flex_fund_allowance_and_budget_from_the_payment_terms(db, p):
    add_contract(db, p, FLEX)
    cbo = p.users["cbo"]
    d = service.record_disbursement(db, cbo, dis(p, p.members[0], "60.00"), today=TODAY)
    assert d.amount == Decimal("60.00") and d.term_id == "flex" and d.approved_by == cbo.username
    with pytest.raises(InvalidInput) as exc:  # 60 + 50 > 100 for this member
        service.record_disbursement(db, cbo, dis(p, p.members[0], "50.00"), today=TODAY)
    assert "per-member allowance" in exc.value.problems[0].message
    service.record_disbursement(db, cbo, dis(p, p.members[1], "80.00"), today=TODAY)
    with pytest.raises(InvalidInput) as exc:  # 140 + 20 > 150 program budget
        service.record_disbursement(db, cbo, dis(p, p.members[2], "20.00"), today=TODAY)
    assert "program budget" in exc.value.problems[0].message
    with pytest.raises(InvalidInput) as exc:  # not a category of the term, float-free parsing
        service.record_disbursement(db, cbo, dis(p, p.members[2], "5.00", category="casino"), today=TODAY)
    assert exc.value.problems[0].field == "category"
