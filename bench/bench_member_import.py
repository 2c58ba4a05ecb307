# ci-args: --rows 20000
"""Benchmark: importing a member list / eligibility file of N rows (default 100,000).

    .venv/bin/python bench/bench_member_import.py                      # SQLite file in a temp dir
    .venv/bin/python bench/bench_member_import.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Builds an empty, migrated database, a health plan and a plan staff user, writes an N-row CSV in the
documented layout, and times the whole import in one transaction (read, validate column by column,
bulk insert of members and coverage spans, import record, audit event). Then times re-importing a
changed file (every member updated) and the duplicate refusal. docs/interop.md keeps the figures.
"""

from __future__ import annotations

import argparse
import time

from common import fresh_database
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from socialcare.directory.models import Organization
from socialcare.interop.flatfiles import samples
from socialcare.interop.flatfiles.service import import_file
from socialcare.members.models import Member
from socialcare.security.principal import Principal


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--url", default=None, help="database URL (its schema is dropped and rebuilt)")
    args = ap.parse_args()
    url, engine = fresh_database(args.url, "import")
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory.begin() as s:
        plan = Organization(kind="health_plan", name="Bench Plan", description="")
        s.add(plan)
        s.flush()
        plan_id = plan.id
    who = Principal(user_id=None, username="bench", org_id=plan_id, org_kind="health_plan", role="plan_staff",
                    via="cli")

    t0 = time.perf_counter()
    rows = samples.member_rows(args.rows, seed=7)
    data = samples.to_csv(rows)
    t_gen = time.perf_counter() - t0
    print(f"{args.rows:,}-row file: {len(data) / 1e6:.1f} MB generated in {t_gen:.2f}s ({url.split(':')[0]})")

    t0 = time.perf_counter()
    with factory.begin() as s:
        res = import_file(s, who, "member_eligibility", "members.csv", data)
    t_import = time.perf_counter() - t0
    assert res.status == "accepted", res.problems[:5]
    print(f"first import (all new):    {t_import:.2f}s  ({res.rows_inserted:,} inserted)")

    for r in rows:
        r["phone"] = "716-555-0000"
    data2 = samples.to_csv(rows)
    t0 = time.perf_counter()
    with factory.begin() as s:
        res2 = import_file(s, who, "member_eligibility", "members-feb.csv", data2)
    t_update = time.perf_counter() - t0
    assert res2.status == "accepted"
    print(f"second import (all known): {t_update:.2f}s  ({res2.rows_updated:,} updated)")

    t0 = time.perf_counter()
    with factory.begin() as s:
        res3 = import_file(s, who, "member_eligibility", "members-again.csv", data)
    print(f"same file again:           {time.perf_counter() - t0:.2f}s  ({res3.status})")
    assert res3.status == "duplicate"
    with factory() as s:
        n = s.scalar(select(func.count()).select_from(Member).where(Member.plan_id == plan_id))
    assert n == args.rows
    engine.dispose()


if __name__ == "__main__":
    main()
