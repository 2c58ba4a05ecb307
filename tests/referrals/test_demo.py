"""The referrals demo step: every referral state with a consistent timeline, scored screenings, consents,
escalations, and seed 002's score card (2,069 assigned, 1,642 outreached, 866 contacted, 420 accepted)."""

from __future__ import annotations

from datetime import date

import pytest
import simple_icd_10_cm as icd
import sqlalchemy as sa

from socialcare.demo.builder import build_demo
from socialcare.referrals import rules

AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('refdemo') / 'demo.db'}"
    result = build_demo(url, seed=5, members=3000, as_of=AS_OF, progress=False)
    engine = sa.create_engine(url)
    yield engine, result
    engine.dispose()


def q(engine, sql, **kw):
    with engine.connect() as c:
        return c.execute(sa.text(sql), kw).all()


def test_every_task_status_occurs(demo):
    engine, _ = demo
    statuses = {r[0] for r in q(engine, "SELECT DISTINCT status FROM referral")}
    assert statuses == set(rules.TRANSITIONS)


def test_each_timeline_is_a_valid_path_in_time_order(demo):
    engine, _ = demo
    events = q(engine, "SELECT referral_id, at, action, from_status, to_status FROM referral_event "
                       "ORDER BY referral_id, id")
    last: dict[int, tuple] = {}
    for rid, at, action, frm, to in events:
        prev = last.get(rid)
        if prev is None:
            assert action == "create", rid
        else:
            assert str(at) >= str(prev[0]), (rid, action)
            if to is not None and action != "create":
                assert rules.can_transition(frm, to), (rid, frm, to)
        last[rid] = (at, to or (prev[1] if prev else None))
    final = dict(q(engine, "SELECT id, status FROM referral"))
    for rid, (_at, status) in last.items():
        assert status == final[rid], rid


def test_sub_referrals_roll_up_to_the_plans_referral(demo):
    engine, _ = demo
    rows = q(engine, """SELECT p.status, p.business_status, c.status, c.business_status,
                               p.enrolled_at IS NOT NULL, c.enrolled_at IS NOT NULL
                        FROM referral c JOIN referral p ON p.id = c.parent_id
                        WHERE c.id = (SELECT max(id) FROM referral x WHERE x.parent_id = p.id)""")
    assert rows
    for p_status, p_bs, c_status, c_bs, p_enr, c_enr in rows:
        if c_status in ("completed", "failed") and p_status not in ("cancelled",):
            assert (p_status, p_bs) == (c_status, c_bs)
        if c_enr:
            assert p_enr


def test_screenings_scored_with_billable_z_codes(demo):
    engine, _ = demo
    codes = {r[0] for r in q(engine, "SELECT DISTINCT z_code FROM social_need")}
    assert codes and all(icd.is_leaf(c) for c in codes)
    declined = q(engine, "SELECT count(*) FROM screening WHERE status = 'declined' AND data_absent_reason = "
                         "'asked-declined'")[0][0]
    assert declined > 0
    cbo_hvs = q(engine, "SELECT count(*) FROM screening s JOIN organization o ON o.id = s.organization_id "
                        "WHERE o.kind = 'cbo' AND s.instrument = 'hunger_vital_sign' AND s.referral_id IS NOT NULL")
    assert cbo_hvs[0][0] > 0


def test_consents_and_escalations(demo):
    engine, _ = demo
    n, revoked = q(engine, "SELECT count(*), sum(CASE WHEN revoked_at IS NOT NULL THEN 1 ELSE 0 END) "
                           "FROM member_consent")[0]
    assert n > 100 and revoked >= 1
    statuses = {r[0] for r in q(engine, "SELECT DISTINCT status FROM escalation")}
    assert statuses == {"open", "in-progress", "resolved"}


def test_scaled_seed_funnel_matches_its_state(demo):
    engine, result = demo
    f = result["state"]["seed_funnel"]
    assert not f["exact_seed"]
    row = q(engine, "SELECT count(*), count(first_outreach_at), count(contacted_at), count(enrolled_at) "
                    "FROM referral WHERE batch_id = :b", b=f["batch_id"])[0]
    assert tuple(row) == (f["assigned"], f["outreached"], f["contacted"], f["accepted"])


def test_seed_scorecard_exactly(tmp_path):
    url = f"sqlite:///{tmp_path / 'seed.db'}"
    result = build_demo(url, seed=9, members=10_000, as_of=AS_OF, progress=False)
    f = result["state"]["seed_funnel"]
    engine = sa.create_engine(url)
    row = q(engine, "SELECT count(*), count(first_outreach_at), count(contacted_at), count(enrolled_at), "
                    "min(first_outreach_at), max(enrolled_at) FROM referral WHERE batch_id = :b", b=f["batch_id"])[0]
    engine.dispose()
    assert tuple(row[:4]) == (2069, 1642, 866, 420)
    month = f["contract_month"][:7]
    assert str(row[4])[:7] == month and str(row[5])[:7] == month
