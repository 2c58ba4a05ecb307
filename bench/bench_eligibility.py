# ci-args: --members 5000
"""Benchmark: eligibility and prioritization over a large roster, in the database.

    python bench/bench_eligibility.py                       # 1,000,000 members, scratch SQLite file
    python bench/bench_eligibility.py --members 5000        # a quick run (CI)
    python bench/bench_eligibility.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

The roster is the members demo generator's (directory and members demo steps, same seed, so SQLite
and PostgreSQL get identical members). Then, for a Pathways-style rule (two counties, Medicaid,
adults, risk >= 1.5 OR a serious mental illness diagnosis via EXISTS on member_condition):

- eligibility: roster / enrolled / eligible and failed counts per criterion, one scan;
- prioritization: rank by risk score then condition count, cap = 600, plain and with proportional
  county x race/ethnicity strata (largest remainder), INSERT ... SELECT of the selection;
- the eligible-vs-selected report by stratum.

It prints each time and a fingerprint of every result (counts and a hash of the ranked member ids),
so runs on SQLite and PostgreSQL can be compared: the fingerprints must be equal.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcare.contracts import schemas, service
from socialcare.contracts.models import SelectedMember
from socialcare.core.migrate import upgrade
from socialcare.demo.builder import _loading_engine, _step_seed, reset_database
from socialcare.demo.context import DemoContext
from socialcare.kit.codes import OrgKind
from socialcare.security.principal import system_principal

AS_OF = date(2026, 6, 30)
RULE = {
    "kind": "group", "op": "and", "rules": [
        {"kind": "geography", "counties": ["Erie", "Niagara"]},
        {"kind": "product_line", "product_lines": ["medicaid"]},
        {"kind": "age", "min_age": 18},
        {"kind": "group", "op": "or", "rules": [
            {"kind": "risk", "min_score": "1.5"},
            {"kind": "condition", "icd10_prefixes": ["F20", "F31"]},
        ]},
    ],
}


def build_roster(url: str, members: int, seed: int) -> dict:
    from socialcare.directory import demo as directory_demo
    from socialcare.members import demo as members_demo

    reset_database(url)
    upgrade(url)
    engine = _loading_engine(url)
    state: dict = {}
    for module in (directory_demo, members_demo):
        s_seed = _step_seed(seed, module.__name__)
        with Session(engine) as session:
            ctx = DemoContext(session=session, seed=seed, members_count=members, today=AS_OF,
                              rng=random.Random(s_seed), np_rng=np.random.default_rng(s_seed), state=state)
            module.build(ctx)
            session.commit()
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    engine.dispose()
    return state


def existing_roster(url: str) -> dict:
    from socialcare.directory.models import Organization

    engine = sa.create_engine(url)
    with Session(engine) as s:
        kinds = dict(s.execute(select(Organization.kind, sa.func.min(Organization.id)).group_by(Organization.kind)).all())
    engine.dispose()
    return {"plan_id": kinds[OrgKind.HEALTH_PLAN.value], "hub_id": kinds[OrgKind.HUB.value]}


def fingerprint(session: Session, selection_id: int) -> str:
    ids = session.scalars(select(SelectedMember.member_id).where(SelectedMember.selection_id == selection_id)
                          .order_by(SelectedMember.rank)).all()
    return f"{len(ids)} members, sha1 {hashlib.sha1(','.join(map(str, ids)).encode()).hexdigest()[:12]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", "--size", dest="members", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cap", type=int, default=600)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--reuse", action="store_true",
                        help="the database already holds a roster built by this benchmark: skip building it")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="socialcare-bench-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        t0 = time.perf_counter()
        state = existing_roster(url) if args.reuse else build_roster(url, args.members, args.seed)
        print(f"eligibility benchmark, {args.members:,} members, {url.split('://')[0]}")
        print(f"  {'build roster':<34}{time.perf_counter() - t0:9.2f} s")

        from socialcare.core.db import make_engine

        engine = make_engine(url)
        with Session(engine, expire_on_commit=False) as s:
            plan = system_principal(state["plan_id"], OrgKind.HEALTH_PLAN, username="bench")
            sow = schemas.ScopeOfWork.model_validate({"who": {"population": {
                "rule": RULE, "volume": {"minimum": 100, "maximum": args.cap},
                "prioritization": {"rank_by": [{"key": "risk_score"}, {"key": "condition_count"}]},
            }}})
            c = service.create(s, plan, schemas.ContractCreate(
                name="Benchmark contract", counterparty_id=state["hub_id"], start_date=date(2026, 1, 1),
                end_date=date(2026, 12, 31), scope_of_work=sow))
            s.commit()

            def timed(label: str, fn):
                t = time.perf_counter()
                out = fn()
                s.commit()
                print(f"  {label:<34}{time.perf_counter() - t:9.2f} s")
                return out

            r = timed("eligibility + failed counts", lambda: service.eligibility(s, plan, c.id, AS_OF))
            plain = timed(f"prioritize, cap {args.cap}", lambda: service.create_selection(
                s, plan, c.id, schemas.SelectionRequest(as_of=AS_OF)))
            fair = timed(f"prioritize, cap {args.cap}, strata", lambda: service.create_selection(
                s, plan, c.id, schemas.SelectionRequest(as_of=AS_OF, proportional_strata=["county", "race_ethnicity"])))
            print("  results (equal on every database):")
            print(f"    roster {r.roster:,}, enrolled {r.enrolled:,}, eligible {r.eligible:,}")
            for cc in r.criteria:
                print(f"    failed '{cc.label}': {cc.failed:,}")
            print(f"    plain selection: {fingerprint(s, plain.id)}")
            print(f"    proportional selection: {fingerprint(s, fair.id)}")
            county = {x["stratum"]: (x["eligible"], x["selected"]) for x in fair.strata if x["dimension"] == "county"}
            print(f"    by county (eligible, selected): {county}")
        engine.dispose()


if __name__ == "__main__":
    main()
