"""The demo partnership's contracts: one per payment example of seed 002, in different phases, each
with a full scope of work (the capitation contract, still being scoped, names what it lacks)."""

from __future__ import annotations

import random
from datetime import date

import numpy as np
import pytest
from sqlalchemy import select

from socialcare.contracts import demo as contracts_demo
from socialcare.contracts import rules, schemas, service
from socialcare.contracts.models import Contract, ContractVersion, MemberSelection
from socialcare.demo.context import DemoContext
from socialcare.directory import demo as directory_demo
from socialcare.members import demo as members_demo
from socialcare.security.principal import system_principal

TODAY = date(2026, 6, 30)


@pytest.fixture
def demo(db):
    state: dict = {}
    for i, module in enumerate((directory_demo, members_demo, contracts_demo)):
        ctx = DemoContext(session=db, seed=7, members_count=2500, today=TODAY, rng=random.Random(i),
                          np_rng=np.random.default_rng(i), state=state)
        module.build(ctx)
    db.flush()
    return state


def test_seven_seed_contracts_in_different_phases(db, demo):
    contracts = {c.id: c for c in db.scalars(select(Contract).where(Contract.plan_id == demo["plan_id"]))}
    by_key = {k: contracts[i] for k, i in demo["contract_ids"].items()}
    assert {k: c.phase for k, c in by_key.items()} == {
        "fixed_price": "renewal", "fee_for_service": "ended", "bundled": "pre_launch", "capitation": "scoping",
        "hybrid": "implementation", "shared_savings": "shared_vision", "outcome_based": "implementation",
    }
    assert {k: c.payment_model for k, c in by_key.items()} == {
        "fixed_price": "fixed_price", "fee_for_service": "fee_for_service", "bundled": "bundled+fee_for_service",
        "capitation": "capitation+escalating_penalty", "hybrid": "hybrid_ffs_capitation",
        "shared_savings": "fixed_price+shared_savings", "outcome_based": "outcome_based",
    }
    assert by_key["hybrid"].counterparty_id == demo["hub_id"]
    # the MARC phased implementation is an amendment: invoices, then member claims
    v2 = db.scalar(select(ContractVersion).where(ContractVersion.contract_id == by_key["fee_for_service"].id,
                                                 ContractVersion.version == 2))
    assert "mode: claims" in v2.payment_terms_yaml and any(ch["path"].startswith("payment_terms.billing")
                                                          for ch in v2.changes)


def test_each_scope_of_work_is_full_except_the_one_being_scoped(db, demo):
    for key, cid in demo["contract_ids"].items():
        v = db.scalar(select(ContractVersion).where(ContractVersion.contract_id == cid)
                      .order_by(ContractVersion.version.desc()).limit(1))
        schemas.ScopeOfWork.model_validate(v.scope_of_work)
        cl = rules.checklist(v.scope_of_work)
        if key == "capitation":
            assert {r.row.item for r in cl.missing} == {
                "Credentialing process for staff", "Escalation process", "Revisit contract terms mid- contract",
                "Data shared with Community-Based Organization/Community Care Hub- what, how, when",
            }
        else:
            assert cl.complete, (key, [r.row.item for r in cl.missing])
            assert all(r.present for r in cl.also_recommended), key


def test_pre_launch_contract_is_blocked_and_live_ones_have_member_lists(db, demo):
    plan = system_principal(demo["plan_id"], "health_plan")
    blockers = service.launch_blockers(db, plan, demo["contract_ids"]["bundled"])
    assert any("workflow test" in b for b in blockers)
    pilot = demo["contract_ids"]["fixed_price"]
    sel = db.scalar(select(MemberSelection).where(MemberSelection.contract_id == pilot))
    assert sel.cap == 30 and sel.selected_count == 30 and sel.eligible_count > 30
    r = service.eligibility(db, plan, demo["contract_ids"]["outcome_based"], TODAY)
    assert 0 < r.eligible < r.enrolled
