"""The lifecycle workspace and case conferencing, as both parties use them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from socialcare.contracts import rules as contract_rules
from socialcare.contracts import views as contract_views
from socialcare.core.errors import Conflict, InvalidInput
from socialcare.joc.models import ActionItem, Committee, Meeting
from socialcare.partnership import conferences, views, workspace
from socialcare.referrals import service as svc
from socialcare.referrals.models import ReferralEvent
from tests.factories import make_user
from tests.partnership.conftest import make_live_contract


@pytest.fixture
def live(db, world, plan_admin):
    c = make_live_contract(db, world, plan_admin)
    return c, make_user(db, world.hub, "hub_admin")


def test_role_map_renders_as_a_swimlane_and_goes_out_with_the_scope(db, world, plan_admin, live):
    c, hub_admin = live
    p = workspace.schedule(db, hub_admin, c.id, kind="co_design", scheduled_on=date(2026, 2, 1))
    rows = workspace.parse_role_map("identification | Monthly prioritized list | plan\n"
                                    "engagement | First call within 3 business days | partner\n"
                                    "completion | Closing summary to the PCP | both")
    workspace.record(db, plan_admin, c.id, p.id, status="done", data={"role_map": rows})
    svg = views.role_map_svg(workspace.role_map_of(db, c.id), "Plan", "Hub")
    assert svg.startswith("<svg") and "Service provision" in svg and "Monthly prioritized list" in svg
    v = contract_views.export_context(db, c, c.versions[-1], contract_rules.checklist({}))
    assert "First call within 3" in v["role_map_svg"]
    with pytest.raises(InvalidInput):
        workspace.parse_role_map("onboarding | Something | plan")


def test_matrix_fills_the_data_section_and_checks_exchange_settings(db, world, plan_admin, live):
    c, hub_admin = live
    p = workspace.schedule(db, plan_admin, c.id, kind="data_strategy")
    matrix = workspace.parse_matrix("Eligible member list | to_partner | monthly | file | none | yes\n"
                                    "Closed-loop status | to_plan | each encounter | fhir | Z code | no")
    workspace.record(db, plan_admin, c.id, p.id, data={"matrix": matrix})
    checks = workspace.check_exchange(db, c, matrix)
    assert [x["ok"] for x in checks] == [True, False]  # the hub registered no FHIR connection
    proposal = workspace.propose_scope_from_matrix(db, plan_admin, c.id, p.id)
    ds = proposal.proposed["how"]["data_sharing"]
    assert ds["to_plan"]["exchange"] == ["fhir"] and ds["to_partner"]["elements"] == ["Eligible member list"]
    assert "Z code" in ds["standards"] and "consent" in ds["consent"]


def test_overdue_security_review_blocks_sharing_until_done(db, world, plan_admin):
    from socialcare.contracts import schemas, service

    c = make_live_contract(db, world, plan_admin)
    sow = schemas.ScopeOfWork.model_validate({"how": {"data_sharing": {"security_review_every_months": 12}}})
    service.amend(db, plan_admin, c.id, schemas.Amendment(reason="yearly review", scope_of_work=sow))
    with pytest.raises(Conflict):  # none done yet: due at the start of the contract
        workspace.require_sharing_allowed(db, c, date(2026, 6, 1))
    r = workspace.schedule(db, plan_admin, c.id, kind="security_review")
    workspace.record(db, plan_admin, c.id, r.id, status="done", held_on=date(2026, 3, 1))
    workspace.require_sharing_allowed(db, c, date(2026, 6, 1))
    status = workspace.security_review(db, c, date(2027, 3, 2))
    assert status["due"] == date(2027, 3, 1) and status["blocks"]


def test_stories_are_refused_while_identifying(db, world, plan_admin, live):
    c, hub_admin = live
    p = workspace.schedule(db, hub_admin, c.id, kind="site_visit")
    with pytest.raises(InvalidInput):
        workspace.add_story(db, hub_admin, c.id, p.id, "She called us at 716-555-0199 after discharge")
    workspace.add_story(db, hub_admin, c.id, p.id, "A grandmother could cook again after two weeks of meals.")
    assert len(workspace.get(db, plan_admin, c.id, p.id).data["stories"]) == 1


def test_a_member_contacted_by_another_party_is_flagged(db, world, plan_admin, live):
    c, _ = live
    ref, _ = svc.create_referral(db, world.plan_staff, svc.NewReferral(
        member_id=world.member.id, need_domain="food", owner_org_id=world.cbo.id))
    p = workspace.schedule(db, plan_admin, c.id, kind="comm_plan")
    workspace.record(db, plan_admin, c.id, p.id, data={"window_days": 5})
    now = datetime.now(UTC)
    db.add(ReferralEvent(referral_id=ref.id, at=now - timedelta(days=2), kind="step", channel="phone",
                         result="reached", org_id=world.cbo.id))
    db.add(ReferralEvent(referral_id=ref.id, at=now - timedelta(days=9), kind="step", channel="phone",
                         org_id=world.cbo.id))
    db.flush()
    flagged = workspace.recent_contacts_by_others(db, world.plan_staff, world.member.id, c.id, now)
    assert [(f["organization"], f["window_days"]) for f in flagged] == [(world.cbo.name, 5)]
    assert workspace.recent_contacts_by_others(db, world.cbo_user, world.member.id, c.id, now) == []


def test_case_conference_hides_identities_and_follow_ups_become_action_items(db, world, plan_admin, live):
    c, hub_admin = live
    ref, _ = svc.create_referral(db, world.plan_staff, svc.NewReferral(
        member_id=world.member.id, need_domain="food", owner_org_id=world.hub.id))
    conf = conferences.create(db, hub_admin, c.id, held_on=date(2026, 3, 3), attendees=["Rosa (hub)", "Dana (plan)"])
    case = conferences.add_case(db, plan_admin, c.id, conf.id, ref.id)
    with pytest.raises(Conflict):
        conferences.add_case(db, plan_admin, c.id, conf.id, ref.id)
    m = world.member
    conferences.save_notes(db, hub_admin, c.id, conf.id, notes=f"{m.first_name} {m.last_name} ({m.plan_member_id}) "
                           "missed two deliveries.", held=True)
    db.refresh(conf)
    assert m.last_name not in conf.notes and m.plan_member_id not in conf.notes and "Case 1" in conf.notes
    # each party sees the member under the referral's consent; a revoked consent hides the member
    assert conferences.case_list(db, plan_admin, conf)[0]["name"] == f"{m.first_name} {m.last_name}"
    assert conferences.case_list(db, hub_admin, conf)[0]["name"] == f"{m.first_name} {m.last_name}"
    consent = svc.grant_consent(db, world.plan_staff, member_id=m.id, organization_id=world.hub.id, scope="referral")
    svc.revoke_consent(db, world.plan_staff, consent.id, reason="member asked")
    assert conferences.case_list(db, hub_admin, conf)[0]["name"] is None
    # a referral outside the contract (to a CBO directly) cannot join the list
    other, _ = svc.create_referral(db, world.plan_staff, svc.NewReferral(
        member_id=m.id, need_domain="transportation", owner_org_id=world.outsider.id))
    with pytest.raises(InvalidInput):
        conferences.add_case(db, plan_admin, c.id, conf.id, other.id)
    with pytest.raises(Conflict):  # no JOC yet to carry the action item
        conferences.add_follow_up(db, hub_admin, c.id, conf.id, case.id, text="Call the member", owner_name="Rosa")
    committee = Committee(contract_id=c.id, name="JOC")
    db.add(committee)
    db.flush()
    db.add(Meeting(committee_id=committee.id, month=date(2026, 2, 1), held_on=date(2026, 3, 10)))
    db.flush()
    item_id = conferences.add_follow_up(db, hub_admin, c.id, conf.id, case.id,
                                        text=f"Call {m.last_name} about deliveries", owner_name="Rosa")
    item = db.get(ActionItem, item_id)
    assert "Case 1" in item.description and m.last_name not in item.description and item.status == "open"
