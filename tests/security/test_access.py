"""security.access: one definition of who may reach a member for what; its SQL clause and its Python
check agree on every combination of referrals and consents (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from socialcare.referrals import rules as referral_rules
from socialcare.referrals.models import Consent, Referral
from socialcare.security import access
from socialcare.security.access import ConsentFact, Purpose, ReferralFact

NOW = datetime(2026, 6, 1, tzinfo=UTC)
STATUSES = [s.value for s in referral_rules.Status]


def test_statuses_agree_with_the_referral_state_machine():
    assert set(access.OPEN_STATUSES) == set(referral_rules.OPEN)
    assert set(access.NEVER_SHARING) <= set(STATUSES)
    assert set(access.CONSENT_SCOPES) == set(referral_rules.CONSENT_SCOPES)


referral_st = st.fixed_dictionaries({
    "holder": st.sampled_from(["cbo", "hub", "other"]),
    "via_hub": st.booleans(),
    "status": st.sampled_from(STATUSES),
    "closed_days_ago": st.one_of(st.none(), st.integers(0, 200)),
})
consent_st = st.fixed_dictionaries({
    "org": st.sampled_from(["cbo", "hub", "other"]),
    "granted_days_ago": st.integers(-5, 100),
    "expires_in_days": st.one_of(st.none(), st.integers(-50, 50)),
    "revoked": st.booleans(),
    "scope": st.sampled_from(list(access.CONSENT_SCOPES)),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(refs=st.lists(referral_st, max_size=3), consents=st.lists(consent_st, max_size=3),
       other_plan=st.booleans())
def test_sql_clause_and_python_check_agree(db, world, refs, consents, other_plan):
    orgs = {"cbo": world.cbo.id, "hub": world.hub.id, "other": world.plan_b.id}
    member = (world.members_b if other_plan else world.members_a)[0]
    db.execute(delete(Referral).where(Referral.member_id == member.id))
    db.execute(delete(Consent).where(Consent.member_id == member.id))
    ref_facts, consent_facts = [], []
    for r in refs:
        owner = orgs[r["holder"]]
        requester = world.hub.id if r["via_hub"] else member.plan_id
        closed = NOW - timedelta(days=r["closed_days_ago"]) if r["closed_days_ago"] is not None else None
        db.add(Referral(plan_id=member.plan_id, requester_org_id=requester, owner_org_id=owner, member_id=member.id,
                        need_domain="food", status=r["status"], requested_at=NOW - timedelta(days=300),
                        closed_at=closed, created_at=NOW, updated_at=NOW))
        ref_facts.append(ReferralFact(owner, requester, r["status"], closed))
    for c in consents:
        granted = NOW - timedelta(days=c["granted_days_ago"])
        expires = NOW + timedelta(days=c["expires_in_days"]) if c["expires_in_days"] is not None else None
        revoked = NOW - timedelta(days=1) if c["revoked"] else None
        db.add(Consent(member_id=member.id, plan_id=member.plan_id, organization_id=orgs[c["org"]], scope=c["scope"],
                       granted_at=granted, expires_at=expires, revoked_at=revoked))
        consent_facts.append(ConsentFact(orgs[c["org"]], granted, expires, revoked, c["scope"]))
    db.flush()
    for who in ("cbo", "hub", "staff_a", "auditor_a", "admin_a"):
        principal = world.users[who]
        for purpose in Purpose:
            in_sql = access.may(db, principal, purpose, member.id, now=NOW)
            in_python = access.allows(principal, purpose, member.plan_id, ref_facts, consent_facts, NOW)
            assert in_sql == in_python, (who, purpose, refs, consents)


def test_auditors_reach_no_member_for_any_purpose(db, world):
    for purpose in Purpose:
        assert not access.may(db, world.users["auditor_a"], purpose, world.members_a[0].id)


def test_a_plan_reaches_its_own_members_only(db, world):
    assert access.may(db, world.users["staff_a"], Purpose.READ, world.members_a[0].id)
    assert not access.may(db, world.users["staff_a"], Purpose.READ, world.members_b[0].id)
    assert not access.may(db, world.users["staff_a"], Purpose.RECORD_SERVICE, world.members_a[0].id)
    assert not access.may(db, world.users["staff_a"], Purpose.READ, 2**40)  # an id no row can have
