"""Every entry point attributes the work it creates to the right contract, with the reason, and asks a
person when several contracts could cover it: the member's page, a FHIR Task, a hub's routing, a
referral status file, a service record file, a service recorded on a referral, the command."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from socialcare.cli.main import app as cli_app
from socialcare.contracts import attributing, schemas
from socialcare.contracts import service as contracts
from socialcare.core.clock import today, utcnow
from socialcare.core.errors import Forbidden, InvalidInput
from socialcare.delivery import rules as delivery_rules
from socialcare.delivery import service as delivery
from socialcare.delivery.models import ServiceRecord
from socialcare.interop.flatfiles import samples
from socialcare.interop.flatfiles.layouts import REFERRAL_STATUS, SERVICE_RECORD
from socialcare.interop.flatfiles.service import import_file
from socialcare.kit.codes import NeedDomain
from socialcare.members.models import EnrollmentSpan
from socialcare.referrals import service as referrals
from socialcare.referrals.models import Referral
from socialcare.screening.models import SocialNeed
from socialcare.security.models import AuditEvent
from tests.contracts.conftest import complete_sow
from tests.web.fixtures import *  # noqa: F403  (app, client, client_factory, world)
from tests.web.fixtures import api_headers, csrf_token


def launch(db, w, counterparty, *, name: str, code: str | None = "S5170", domain: str = "food"):
    """A contract in implementation whose term covers the last two months and the next ten."""
    sow = complete_sow()
    sow.what.services[0].service_code = code
    sow.what.services[0].need_domain = NeedDomain(domain)
    c = contracts.create(db, w.users["admin_a"], schemas.ContractCreate(
        name=name, counterparty_id=counterparty.id, start_date=today() - timedelta(days=60),
        end_date=today() + timedelta(days=300), scope_of_work=sow,
        services_covered=[schemas.ServiceCovered(name=name, need_domain=domain, service_code=code, unit="meal")]))
    c.phase = "implementation"
    db.flush()
    return c


@pytest.fixture
def meals(db, world):
    """The plan's hub contract for meals, the CBO's own direct contract for the same meals; members enrolled."""
    for m in world.members_a[1:]:
        db.add(EnrollmentSpan(member_id=m.id, product_line="medicaid", start_date=date(2024, 1, 1)))
    hub = launch(db, world, world.hub, name="Meals through the hub")
    direct = launch(db, world, world.cbo, name="Meals direct")
    return hub, direct


def refer(db, w, member, owner, **kw) -> Referral:
    ref, _ = referrals.create_referral(db, w.users["staff_a"], referrals.NewReferral(
        member_id=member.id, need_domain="food", owner_org_id=owner.id, consent_scope="referral", **kw),
        now=utcnow() - timedelta(days=10))
    return ref


def test_a_referral_from_the_members_page_is_attributed_with_its_reason(db, world, meals, client_factory):
    hub_contract, _direct = meals
    c = client_factory("staff_a")
    m = world.members_a[0]
    r = c.post("/referrals", data={"member_id": m.id, "need_domain": "food", "owner_org_id": world.hub.id,
                                   "urgency": "routine", "csrf_token": csrf_token(c)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    ref = db.scalar(select(Referral).where(Referral.member_id == m.id))
    assert (ref.contract_id, ref.contract_version) == (hub_contract.id, 1)
    assert ref.contract_reason == f"contract {hub_contract.id} v1: counterparty, food need, within term, eligible"
    page = c.get(f"/referrals/{ref.id}")
    assert "Meals through the hub" in page.text and "within term, eligible" in page.text


def test_a_member_outside_the_population_or_a_need_outside_the_scope_counts_nowhere(db, world, meals):
    m = world.members_a[0]
    m.county = "Monroe"  # the contracts serve Erie
    db.flush()
    ref = refer(db, world, m, world.hub)
    assert ref.contract_id is None
    assert "member not in the eligible population" in ref.contract_reason
    ref2, _ = referrals.create_referral(db, world.users["staff_a"], referrals.NewReferral(
        member_id=world.members_a[1].id, need_domain="housing", owner_org_id=world.hub.id))
    assert ref2.contract_id is None and "not in the scope of work" in ref2.contract_reason


def test_a_fhir_task_from_an_external_referral_source_is_attributed(db, world, meals, client):
    hub_contract, _direct = meals
    h = api_headers(client, "staff_a")
    m = world.members_a[1]
    sr = {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
          "category": [{"coding": [{"system": "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/"
                                              "SDOHCC-CodeSystemTemporaryCodes", "code": "food-insecurity"}]}],
          "code": {"text": "Home-delivered meals"}, "subject": {"reference": f"Patient/{m.id}"}}
    r = client.post("/fhir/ServiceRequest", json=sr, headers=h)
    assert r.status_code == 201, r.text
    task = {"resourceType": "Task", "status": "requested", "intent": "order",
            "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]},
            "focus": {"reference": f"ServiceRequest/{r.json()['id']}"}, "for": {"reference": f"Patient/{m.id}"},
            "requester": {"reference": f"Organization/{world.plan_a.id}"},
            "owner": {"reference": f"Organization/{world.hub.id}"}}
    r = client.post("/fhir/Task", json=task, headers=h)
    assert r.status_code == 201, r.text
    ref = db.scalar(select(Referral).where(Referral.member_id == m.id))
    assert ref.contract_id == hub_contract.id
    assert ref.contract_reason.startswith(f"contract {hub_contract.id} v1: counterparty, food need")


def test_the_hubs_sub_referral_counts_under_the_hub_contract_not_the_cbos_own(db, world, meals):
    hub_contract, direct = meals
    parent = refer(db, world, world.members_a[0], world.hub)
    referrals.route(db, world.users["hub"], parent.id, cbo_id=world.cbo.id, service_id=world.services["meals"].id,
                    version=None)
    child = db.scalar(select(Referral).where(Referral.parent_id == parent.id))
    assert child.contract_id == hub_contract.id
    assert child.contract_reason == f"contract {hub_contract.id} v1: hub network member, S5170, within term, " \
                                    "as its referral"
    # the plan's referral straight to the CBO counts under the CBO's own contract
    mine = refer(db, world, world.members_a[1], world.cbo)
    assert mine.contract_id == direct.id and "counterparty" in mine.contract_reason


def test_a_referral_status_file_row_attributes_a_referral_never_decided(db, world, meals):
    _hub, direct = meals
    m = world.members_a[2]
    ref = refer(db, world, m, world.cbo)
    # a referral made before attribution existed
    db.execute(update(Referral).where(Referral.id == ref.id).values(contract_id=None, contract_version=None,
                                                                      contract_reason=None))
    data = samples.to_csv([{"referral_id": str(ref.id), "plan_member_id": m.plan_member_id, "status": "accepted",
                            "status_date": (today() - timedelta(days=2)).isoformat()}], REFERRAL_STATUS.column_names)
    res = import_file(db, world.users["cbo"], "referral_status", "status.csv", data)
    assert res.status == "accepted", res.problems
    db.refresh(ref)
    assert (ref.status, ref.contract_id, ref.contract_version) == ("accepted", direct.id, 1)
    assert ref.contract_reason.startswith(f"contract {direct.id} v1: counterparty")


def test_a_service_record_file_is_attributed_row_by_row(db, world, meals):
    hub_contract, direct = meals
    m0, m1 = world.members_a[:2]
    parent = refer(db, world, m0, world.hub)
    referrals.route(db, world.users["hub"], parent.id, cbo_id=world.cbo.id, service_id=world.services["meals"].id,
                    version=None, consent_scope="referral")
    routed = db.scalar(select(Referral).where(Referral.parent_id == parent.id))
    own = refer(db, world, m1, world.cbo)
    rows = [{"referral_id": str(r.id), "plan_member_id": m.plan_member_id,
             "service_date": (today() - timedelta(days=3)).isoformat(), "need_domain": "food",
             "service_code": "S5170-U6", "units": "10"} for r, m in ((routed, m0), (own, m1))]
    res = import_file(db, world.users["cbo"], "service_record", "services.csv",
                      samples.to_csv(rows, SERVICE_RECORD.column_names))
    assert res.status == "accepted", res.problems
    got = {r.referral_id: (r.contract_id, r.contract_version, r.contract_reason)
           for r in db.scalars(select(ServiceRecord))}
    assert got[routed.id][:2] == (hub_contract.id, 1)
    assert got[routed.id][2] == f"contract {hub_contract.id} v1: hub network member, S5170, within term, " \
                                "as its referral"
    assert got[own.id][:2] == (direct.id, 1)


def test_a_service_on_a_referral_moves_it_to_in_progress_and_resolving_resolves_the_need(db, world, meals):
    _hub, direct = meals
    m = world.members_a[0]
    need = SocialNeed(member_id=m.id, plan_id=world.plan_a.id, domain="food", sdoh_category="food-insecurity",
                      z_code="Z59.41", status="active", source="screening", identified_at=utcnow() - timedelta(days=20))
    db.add(need)
    db.flush()
    ref = refer(db, world, m, world.cbo, social_need_id=need.id)
    rec = delivery.record_service(db, world.users["cbo"], delivery_rules.ServiceRecordInput(
        member_id=m.id, service_id=world.services["meals"].id, service_date=today() - timedelta(days=1), units=10,
        referral_id=ref.id))
    assert (rec.contract_id, rec.contract_version) == (direct.id, 1)
    db.refresh(ref)
    assert (ref.status, ref.business_status) == ("in-progress", "service-started")
    assert ref.service_started_at is not None and ref.contacted_at is not None
    referrals.act(db, world.users["cbo"], ref.id, "resolve", version=None)
    db.refresh(need)
    assert need.status == "resolved" and need.resolved_at is not None


def test_several_needs_on_a_referral_are_asked_not_guessed(db, world, meals):
    m = world.members_a[0]
    needs = [SocialNeed(member_id=m.id, plan_id=world.plan_a.id, domain="food", sdoh_category="food-insecurity",
                        status="active", source="screening", identified_at=utcnow() - timedelta(days=d))
             for d in (40, 20)]
    db.add_all(needs)
    db.flush()
    ref = refer(db, world, m, world.cbo)
    delivery.record_service(db, world.users["cbo"], delivery_rules.ServiceRecordInput(
        member_id=m.id, service_id=world.services["meals"].id, service_date=today(), units=2, referral_id=ref.id))
    referrals.act(db, world.users["cbo"], ref.id, "resolve", version=None)
    assert [n.status for n in needs] == ["active", "active"]
    asked = referrals.needs_to_ask(db, world.users["staff_a"], ref.id)
    assert {n.id for n in asked} == {n.id for n in needs}
    assert referrals.resolve_needs(db, world.users["staff_a"], ref.id, [needs[1].id]) == [needs[1].id]
    db.refresh(needs[0])
    db.refresh(needs[1])
    assert [n.status for n in needs] == ["active", "resolved"]


def test_an_ambiguous_referral_asks_the_plan_and_the_choice_is_audited(db, world, meals, client_factory):
    hub_contract, _direct = meals
    pantry = launch(db, world, world.hub, name="Pantry boxes through the hub", code=None)
    ref = refer(db, world, world.members_a[0], world.hub)
    assert ref.contract_id is None
    assert ref.contract_reason.startswith(f"several contracts could cover this work (contract {hub_contract.id}, "
                                          f"contract {pantry.id}); choose one")
    c = client_factory("admin_a")
    page = c.get(f"/referrals/{ref.id}")
    assert "Several contracts could cover this referral" in page.text and "Pantry boxes through the hub" in page.text
    r = c.post(f"/referrals/{ref.id}/contract", data={"contract_id": pantry.id, "reason": "Pantry program",
                                                      "csrf_token": csrf_token(c)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    db.refresh(ref)
    assert (ref.contract_id, ref.contract_version) == (pantry.id, 1)
    assert ref.contract_reason.endswith("chosen by admin_a: Pantry program")
    ev = db.scalar(select(AuditEvent).where(AuditEvent.action == "contract.attribution.change"))
    assert ev.detail["to"]["contract_id"] == pantry.id and ev.detail["reason"] == "Pantry program"


def test_reattribution_needs_the_plan_a_reason_and_a_contract_that_covers_the_work(db, world, meals):
    hub_contract, direct = meals
    ref = refer(db, world, world.members_a[0], world.hub)
    with pytest.raises(Forbidden):
        attributing.reattribute(db, world.users["hub"], "referral", ref.id, None, "not ours")
    with pytest.raises(InvalidInput, match="Say why"):
        attributing.reattribute(db, world.users["admin_a"], "referral", ref.id, None, " ")
    with pytest.raises(InvalidInput, match="does not cover"):  # the CBO's contract: the hub holds this referral
        attributing.reattribute(db, world.users["admin_a"], "referral", ref.id, direct.id, "try")
    attributing.reattribute(db, world.users["admin_a"], "referral", ref.id, None, "pilot outside the contract")
    db.refresh(ref)
    assert ref.contract_id is None and ref.contract_reason == "no contract, by admin_a: pilot outside the contract"


def test_the_command_attributes_existing_rows_and_reports_counts(db, world, meals):
    hub_contract, _direct = meals
    refs = [refer(db, world, m, world.hub) for m in world.members_a]
    db.execute(update(Referral).where(Referral.id.in_([r.id for r in refs])).values(
        contract_id=None, contract_version=None, contract_reason=None))
    db.flush()
    result = CliRunner().invoke(cli_app, ["contracts", "attribute", "--as", "admin_a"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "referral" in result.output and "attributed" in result.output
    assert set(db.scalars(select(Referral.contract_id).where(Referral.id.in_([r.id for r in refs])))) == {
        hub_contract.id}
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "contract.attribution.run")) is not None


def test_a_contract_chosen_when_referring_is_checked_never_forced(db, world, meals):
    hub_contract, direct = meals
    pantry = launch(db, world, world.hub, name="Pantry boxes through the hub", code=None)
    ref = refer(db, world, world.members_a[0], world.hub, contract_id=pantry.id)
    assert (ref.contract_id, ref.contract_version) == (pantry.id, 1)
    assert ref.contract_reason.startswith(f"contract {pantry.id} v1: counterparty, food need")
    with pytest.raises(InvalidInput) as exc:  # the CBO's own contract does not cover a referral to the hub
        refer(db, world, world.members_a[1], world.hub, contract_id=direct.id)
    assert "not done by the counterparty" in exc.value.problems[0].message
