# ci-args: --rows 20000
"""Benchmark: settle a contract for a quarter from N delivered-service rows in the database
(default 1,000,000) into a stored statement, compared with the in-memory settlement of the same rows.

    python bench/bench_ledger.py                            # 1 M rows, scratch SQLite file
    python bench/bench_ledger.py --rows 20000               # CI
    python bench/bench_ledger.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Rows: N service records by a hub's network CBO for 50,000 members over 2025-Q1, five codes, one with a
monthly cap (so the quarter settles three monthly caps), plus capitation-free terms. Timed: the ledger's
``settle_contract`` (SQL group-by of the records into facts, the engine, the statement and its lines
stored, audited) and, separately, the in-memory ``settle`` of an Arrow table of the same rows (what the
paste calculator does after reading a CSV). Both must give the same total to the cent.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import fresh_database  # noqa: E402

from socialcare.payments import build_facts, parse_terms, settle  # noqa: E402

TERMS = """
version: 1
contract: Ledger benchmark contract
terms:
  - id: ffs
    model: fee_for_service
    fee_schedule:
      - {service_code: S5170, unit: meal, rate: "9.75", max_units: 400000}
      - {service_code: T1016, unit: "15 minutes", rate: "18.25"}
      - {service_code: A0100, unit: trip, rate: "22.40"}
      - {service_code: G0019, unit: month, rate: "75.00", min_units: 100}
      - {service_code: S9452, unit: class, rate: "45.00"}
"""
CODES = np.array(["S5170", "T1016", "A0100", "G0019", "S9452"])
WEIGHTS = np.array([0.6, 0.2, 0.1, 0.05, 0.05])
MEMBERS = 50_000


def build(session: Session, rows: int) -> tuple[int, int, dict]:
    from socialcare.contracts.models import Contract, ContractVersion
    from socialcare.delivery.models import ServiceRecord
    from socialcare.directory.models import HubNetworkMembership, Organization, Service
    from socialcare.kit.bulk import bulk_insert
    from socialcare.members.models import Member

    plan = Organization(kind="health_plan", name="Bench plan")
    hub = Organization(kind="community_care_hub", name="Bench hub")
    cbo = Organization(kind="cbo", name="Bench CBO")
    session.add_all([plan, hub, cbo])
    session.flush()
    session.add(HubNetworkMembership(hub_id=hub.id, cbo_id=cbo.id, start_date=date(2024, 1, 1)))
    svc = Service(organization_id=cbo.id, name="Meals", need_domain="food", service_code="S5170", unit="meal")
    session.add(svc)
    c = Contract(plan_id=plan.id, counterparty_id=hub.id, name="Bench contract", phase="implementation",
                 start_date=date(2025, 1, 1), end_date=date(2025, 12, 31))
    session.add(c)
    session.flush()
    session.add(ContractVersion(contract_id=c.id, version=1, effective_date=c.start_date, start_date=c.start_date,
                                end_date=c.end_date, payment_terms_yaml=TERMS))
    session.flush()
    first = session.connection().exec_driver_sql("SELECT COALESCE(MAX(id), 0) FROM member").scalar() + 1
    bulk_insert(session, Member, ["id", "plan_id", "plan_member_id", "first_name", "last_name", "birth_date", "sex",
                                  "preferred_language", "product_line", "created_at", "updated_at"],
                ((first + i, plan.id, f"M{i:07d}", "Ana", f"Rivera{i}", "1970-05-17", "female", "en", "medicaid",
                  "2025-01-01 00:00:00", "2025-01-01 00:00:00") for i in range(MEMBERS)))
    rng = np.random.default_rng(7)
    member_ix = rng.integers(0, MEMBERS, rows)
    codes = CODES[rng.choice(len(CODES), rows, p=WEIGHTS)]
    day = rng.integers(0, 90, rows)
    units = rng.integers(1, 5, rows)
    start = date(2025, 1, 1)
    days = [(start + timedelta(days=int(d))).isoformat() for d in range(90)]
    bulk_insert(session, ServiceRecord, ["plan_id", "member_id", "organization_id", "service_id", "need_domain",
                                         "service_code", "hcpcs", "service_date", "units", "place_of_service",
                                         "status", "created_at"],
                ((plan.id, first + int(m), cbo.id, svc.id, "food", str(cd), str(cd), days[d], int(u), "12", "recorded",
                  "2025-04-01 00:00:00") for m, cd, d, u in zip(member_ix, codes, day, units, strict=True)))
    session.flush()
    session.connection().exec_driver_sql("ANALYZE")  # statistics, as autovacuum keeps them on a live database
    table = pa.table({"member_id": pa.array([f"M{int(m):07d}" for m in member_ix], pa.string()),
                      "service_code": pa.array(codes.tolist(), pa.string()),
                      "service_date": pa.array([start + timedelta(days=int(d)) for d in day], pa.date32()),
                      "units": pa.array(units, pa.int64())})
    return plan.id, c.id, {"table": table}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--period", default="2025-Q1")
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()
    import socialcare.contracts.service  # noqa: F401 - imported before timing (a server has them loaded)
    import socialcare.delivery.service  # noqa: F401
    from socialcare.payments import ledger
    from socialcare.security.principal import system_principal

    url, engine = fresh_database(args.database_url, "ledger")
    with Session(engine) as session:
        t0 = time.perf_counter()
        plan_id, contract_id, mem = build(session, args.rows)
        session.commit()
        t_build = time.perf_counter() - t0

    with Session(engine) as session:
        principal = system_principal(plan_id, "health_plan")
        t1 = time.perf_counter()
        st = ledger.settle_contract(session, principal, contract_id, args.period).statement
        session.flush()
        t_db = time.perf_counter() - t1
        total_db, lines = st.total, len(st.lines)
        session.commit()

    terms = parse_terms(TERMS, "bench terms")
    facts = build_facts([], [])
    facts.services = mem["table"]
    t2 = time.perf_counter()
    mem_st = settle(terms, facts, args.period)
    t_mem = time.perf_counter() - t2
    assert mem_st.total == total_db, (mem_st.total, total_db)
    print(f"rows: {args.rows:,} service records ({url.split(':')[0]}), {lines} statement lines")
    print(f"  build the records (not timed as settlement):     {t_build:6.2f} s")
    print(f"  settle from the database into a stored statement: {t_db:6.2f} s")
    print(f"  in-memory settle of the same rows (Arrow):        {t_mem:6.2f} s")
    print(f"  paid: {total_db:,} (the same to the cent both ways)")


if __name__ == "__main__":
    main()
