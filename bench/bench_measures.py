# ci-args: --members 20000
"""Benchmark: the measures engine over a large roster, in the database.

    python bench/bench_measures.py                        # 1,000,000 members, scratch SQLite file
    python bench/bench_measures.py --members 20000        # a quick run (CI)
    python bench/bench_measures.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

The data is made in SQL (a recursive CTE over 1..N, deterministic functions of the row number), so
SQLite and PostgreSQL get identical rows: N members (8 counties, 7 race/ethnicity groups, 4 languages,
3 product lines, ages 5-90), one referral per member on one contract, assigned across the 12 months
of 2026 with the funnel's milestones (about 79 % outreached, 53 % of those contacted, 48 % of those
enrolled), and a screening with food, housing and transportation answers for 60 % of members
(positives get a referral for the domain within 0-40 days for some of them).

Then it times what a scorecard computes: the month's funnel, the funnel of each of 12 months, the
strata (county, race and ethnicity, language, product line), HEDIS SNS-E for the year (six rates,
by product line), timeliness with medians, loop closure, and the whole scorecard. It prints each
time and a fingerprint of the results; the fingerprints must be equal on SQLite and PostgreSQL.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from socialcare.core.migrate import upgrade
from socialcare.demo.builder import reset_database
from socialcare.measures import engine, rules
from socialcare.measures.engine import Scope

MONTH = date(2026, 6, 1)
AS_OF = datetime(2026, 12, 31, 23, tzinfo=UTC)


def _ts(dialect: str, days: str, hours: str = "9") -> str:
    """A timestamp 2026-01-01 + days + hours, as SQL for the dialect."""
    if dialect == "postgresql":
        return f"(TIMESTAMPTZ '2026-01-01 00:00:00+00' + ({days}) * INTERVAL '1 day' + ({hours}) * INTERVAL '1 hour')"
    return f"datetime('2026-01-01', '+' || ({days}) || ' days', '+' || ({hours}) || ' hours')"


def _series(dialect: str, n: int) -> str:
    if dialect == "postgresql":
        return f"(SELECT generate_series(1, {n}) AS i) AS s"
    return (f"(WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < {n}) "
            "SELECT i FROM seq) AS s")


def build(conn, n: int) -> dict:
    d = conn.dialect.name
    t = time.perf_counter()
    plan = conn.execute(sa.text("INSERT INTO organization (kind, name, description, created_at, updated_at) VALUES "
                                "('health_plan', 'Bench Plan', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id")).scalar()
    cbo = conn.execute(sa.text("INSERT INTO organization (kind, name, description, created_at, updated_at) VALUES "
                               "('cbo', 'Bench CBO', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id")).scalar()
    contract = conn.execute(sa.text(
        "INSERT INTO contract (plan_id, counterparty_id, name, contract_type, payment_model, phase, start_date, "
        "end_date, renewal_window_months, current_version, vision, created_at, updated_at) VALUES (:p, :c, "
        "'Bench contract', 'vendor', '', 'implementation', '2026-01-01', '2026-12-31', 4, 1, '', CURRENT_TIMESTAMP, "
        "CURRENT_TIMESTAMP) RETURNING id"), {"p": plan, "c": cbo}).scalar()
    county = "CASE i % 8 WHEN 0 THEN 'Erie' WHEN 1 THEN 'Niagara' WHEN 2 THEN 'Chautauqua' WHEN 3 THEN " \
             "'Cattaraugus' WHEN 4 THEN 'Genesee' WHEN 5 THEN 'Allegany' WHEN 6 THEN 'Orleans' ELSE 'Wyoming' END"
    race = "CASE i % 7 WHEN 0 THEN 'white' WHEN 1 THEN 'black' WHEN 2 THEN 'asian' WHEN 3 THEN 'other' " \
           "WHEN 4 THEN 'multiple' WHEN 5 THEN 'white' ELSE 'black' END"
    lang = "CASE i % 11 WHEN 0 THEN 'es' WHEN 1 THEN 'ar' WHEN 2 THEN 'bn' ELSE 'en' END"
    line = "CASE i % 5 WHEN 0 THEN 'medicare_advantage' WHEN 1 THEN 'commercial' ELSE 'medicaid' END"
    birth = ("(DATE '1936-01-01' + ((i % 31000) * 7919) % 31000)" if d == "postgresql"
             else "date('1936-01-01', '+' || (((i % 31000) * 7919) % 31000) || ' days')")
    conn.execute(sa.text(
        f"INSERT INTO member (plan_id, plan_member_id, first_name, last_name, birth_date, sex, race, ethnicity, "
        f"preferred_language, county, state, product_line, created_at, updated_at) "
        f"SELECT {plan}, 'B' || i, 'F', 'L' || i, {birth}, 'female', {race}, "
        f"CASE WHEN i % 9 = 0 THEN 'hispanic_or_latino' ELSE 'not_hispanic_or_latino' END, {lang}, {county}, 'NY', "
        f"{line}, {_ts(d, '0')}, {_ts(d, '0')} FROM {_series(d, n)}"))
    first_id = conn.execute(sa.text("SELECT min(id) FROM member WHERE plan_id = :p"), {"p": plan}).scalar()
    # one referral per member, assigned on day (i % 360) of 2026; milestones by bands of (i * 37) % 1000
    r = "((m.id - :f) * 37) % 1000"
    day = "((m.id - :f) % 360)"
    out = f"{r} < 794"
    con = f"{r} < 419"
    enr = f"{r} < 203"
    srv = f"{r} < 150"
    done = f"{r} < 90"
    conn.execute(sa.text(
        f"INSERT INTO referral (plan_id, requester_org_id, owner_org_id, member_id, need_domain, contract_id, "
        f"reason, urgency, status, business_status, outreach_attempts, version, source, created_at, requested_at, "
        f"outreach_due_at, contact_due_at, service_due_at, first_outreach_at, contacted_at, enrolled_at, "
        f"service_started_at, closed_at, updated_at) "
        f"SELECT m.plan_id, m.plan_id, {cbo}, m.id, CASE (m.id - :f) % 3 WHEN 0 THEN 'food' WHEN 1 THEN 'housing' "
        f"ELSE 'transportation' END, {contract}, '', 'routine', "
        f"CASE WHEN {done} THEN 'completed' WHEN {srv} THEN 'in-progress' WHEN {out} THEN 'accepted' "
        f"ELSE 'requested' END, CASE WHEN {done} THEN 'need-resolved' ELSE NULL END, 0, 1, 'batch', "
        f"{_ts(d, day)}, {_ts(d, day)}, {_ts(d, day, '81')}, {_ts(d, day, '129')}, {_ts(d, day, '177')}, "
        f"CASE WHEN {out} THEN {_ts(d, day, f'9 + ({r} % 120)')} END, "
        f"CASE WHEN {con} THEN {_ts(d, day, f'40 + ({r} % 100)')} END, "
        f"CASE WHEN {enr} THEN {_ts(d, day, '150')} END, CASE WHEN {srv} THEN {_ts(d, day, f'170 + {r} % 30')} END, "
        f"CASE WHEN {done} THEN {_ts(d, day, '900')} END, {_ts(d, day)} "
        f"FROM member m WHERE m.plan_id = {plan}"), {"f": first_id})
    # screenings for 60 % of members, on day (i * 13) % 330, one answer per domain
    conn.execute(sa.text(
        f"INSERT INTO screening (member_id, plan_id, organization_id, instrument, panel_loinc, status, "
        f"screened_at, positive_domains, created_at) "
        f"SELECT m.id, m.plan_id, m.plan_id, 'ahc_hrsn_core', '96777-8', 'completed', "
        f"{_ts(d, '((m.id - :f) * 13) % 330')}, '[]', {_ts(d, '0')} "
        f"FROM member m WHERE m.plan_id = {plan} AND (m.id - :f) % 5 < 3"), {"f": first_id})
    for dom, loinc, k in (("food", "88122-7", 4), ("housing", "71802-3", 6), ("transportation", "93030-5", 7)):
        conn.execute(sa.text(
            f"INSERT INTO screening_answer (screening_id, item_loinc, answer_code, positive, domain) "
            f"SELECT s.id, '{loinc}', 'LA33-6', (s.member_id % {k}) = 0, '{dom}' "
            f"FROM screening s WHERE s.plan_id = {plan}"))
    conn.execute(sa.text("ANALYZE"))
    return {"plan": plan, "contract": contract, "seconds": round(time.perf_counter() - t, 1)}


def run(url: str, n: int, reuse: bool = False) -> dict:
    eng = sa.create_engine(url)
    if reuse:  # time again on the data an earlier run built
        with eng.connect() as conn:
            made = {"plan": conn.execute(sa.text("SELECT min(id) FROM organization")).scalar(),
                    "contract": conn.execute(sa.text("SELECT min(id) FROM contract")).scalar()}
    else:
        reset_database(url)
        upgrade(url)
        with eng.begin() as conn:
            made = build(conn, n)
        print(f"built {n:,} members, {n:,} referrals, {n * 3 // 5:,} screenings in {made['seconds']} s")
    scope = Scope(made["plan"], made["contract"])
    times, results = {}, {}
    with Session(eng) as s:
        def timed(name, fn):
            t = time.perf_counter()
            results[name] = fn()
            times[name] = round(time.perf_counter() - t, 3)
            print(f"  {name:<28} {times[name]:>8.3f} s")

        timed("funnel (month)", lambda: engine.funnel_counts(s, scope, MONTH))
        timed("funnel (12 months)", lambda: {k.isoformat(): v for k, v in
                                              engine.funnel_by_month(s, scope, date(2026, 1, 1), date(2026, 12, 1)).items()})
        timed("strata (4 dimensions)", lambda: [(c.dimension, c.value, c.counts) for c in
                                                engine.funnel_strata(s, scope, MONTH)])
        timed("SNS-E year, by product line", lambda: _sns(engine.sns_e(s, Scope(made["plan"]), date(2026, 12, 1),
                                                                         group_by="product_line")))
        timed("timeliness + medians", lambda: _plain(engine.timeliness(s, scope, MONTH, AS_OF)))
        timed("loop closure + documentation", lambda: _plain(engine.loop_and_documentation(s, scope, MONTH)))
        total = round(sum(times.values()), 3)
        print(f"  {'total':<28} {total:>8.3f} s")
    fp = hashlib.sha256(json.dumps(results, sort_keys=True, default=str).encode()).hexdigest()[:16]
    print(f"  month funnel: {results['funnel (month)']}")
    print(f"  fingerprint {fp}")
    eng.dispose()
    return {"times": times, "total": total, "fingerprint": fp}


def _sns(out: dict) -> dict:
    return {"members": out["members"], "rates": _plain(out["rates"]),
            "strata": {k: _plain(v["rates"]) for k, v in out["strata"].items()}}


def _plain(obj):
    if isinstance(obj, rules.Rate):
        return [obj.numerator, obj.denominator]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return str(obj)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--database-url", default=None, help="default: a scratch SQLite file")
    ap.add_argument("--reuse", action="store_true", help="time again on the data a previous run built there")
    args = ap.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-measures-')) / 'bench.db'}"
    print(f"measures benchmark on {url.split('@')[-1]} with {args.members:,} members")
    run(url, args.members, reuse=args.reuse)


if __name__ == "__main__":
    main()
