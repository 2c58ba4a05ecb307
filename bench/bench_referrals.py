# ci-args: --small
"""Benchmark: referral transitions per second through the JSON API on PostgreSQL, concurrent clients.

    .venv/bin/python bench/bench_referrals.py                      # 16 clients, 1,600 referrals
    .venv/bin/python bench/bench_referrals.py --small              # CI: 4 clients, 80 referrals
    .venv/bin/python bench/bench_referrals.py --clients 32 --referrals 4000 --workers 4
    .venv/bin/python bench/bench_referrals.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

What it does: erases and migrates the database (created if missing); adds a plan, a CBO, one CBO
user per client, members and requested referrals (bulk); starts the app with uvicorn in a separate
process (``--workers`` processes); each client signs in for an API token and walks its own
referrals through accept -> outreach -> contacted -> enroll -> start_service -> resolve, one API call
per transition, each with ``If-Match`` (the ETag of the previous answer), as a CBO worklist would.
Every transition is a compare-and-set UPDATE, an event row and an audit row in one transaction.
Then ``--contended`` rounds make all clients race on the same referrals with the same version:
exactly one wins each race, the others get 409 (checked).

Prints transitions/second and latency percentiles. docs/referrals.md keeps the figure measured on
the reference machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_referrals"
PASSWORD = "bench-password-123"
STEPS = [("accept", {}), ("outreach", {"channel": "phone", "result": "no_answer"}),
         ("contacted", {"channel": "phone", "result": "reached"}), ("enroll", {}), ("start_service", {}),
         ("resolve", {})]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str, clients: int, referrals: int) -> dict:
    """A fresh database with one plan, one CBO, a user per client and ``referrals`` requested referrals."""
    from socialcare.core.db import make_engine
    from socialcare.core.migrate import upgrade
    from socialcare.directory.models import Organization
    from socialcare.members.models import Member
    from socialcare.referrals.models import Referral, ReferralEvent
    from socialcare.security.models import User
    from socialcare.security.passwords import hash_password

    parsed = make_url(url)
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    upgrade(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        plan_id = conn.execute(sa.insert(Organization).values(kind="health_plan", name="Bench plan", description="")
                               .returning(Organization.id)).scalar_one()
        cbo_id = conn.execute(sa.insert(Organization).values(kind="cbo", name="Bench CBO", description="")
                              .returning(Organization.id)).scalar_one()
        pw = hash_password(PASSWORD)
        conn.execute(sa.insert(User), [dict(username=f"chw{i}", full_name=f"CHW {i}", password_hash=pw,
                                            role="cbo_staff", organization_id=cbo_id, is_active=True)
                                       for i in range(clients)])
        member_ids = conn.execute(sa.insert(Member).returning(Member.id), [
            dict(plan_id=plan_id, plan_member_id=f"B{i:07d}", first_name="Bench", last_name=f"Member{i}",
                 birth_date=date(1970, 1, 1), sex="female", preferred_language="en", product_line="medicaid")
            for i in range(referrals)]).scalars().all()
        ref_ids = conn.execute(sa.insert(Referral).returning(Referral.id), [
            dict(plan_id=plan_id, requester_org_id=plan_id, owner_org_id=cbo_id, member_id=mid, need_domain="food",
                 reason="bench", urgency="routine", status="requested", version=1, outreach_attempts=0,
                 source="batch", requested_at=now, created_at=now, updated_at=now)
            for mid in member_ids]).scalars().all()
        conn.execute(sa.insert(ReferralEvent), [dict(referral_id=r, at=now, kind="status", action="create",
                                                     to_status="requested", version=1) for r in ref_ids])
    engine.dispose()
    return {"referral_ids": list(ref_ids)}


def start_server(url: str, workers: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "SOCIALCARE_DATABASE_URL": url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "socialcare.web.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/login", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit("the server did not start")
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the server did not start in 60 s")


async def token(client: httpx.AsyncClient, username: str) -> dict:
    r = await client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def walk(client: httpx.AsyncClient, headers: dict, ref_ids: list[int], latencies: list[float]) -> int:
    """One CHW's worklist: each referral through the six steps, If-Match from the previous ETag."""
    done = 0
    for rid in ref_ids:
        etag = '"1"'
        for action, body in STEPS:
            t = time.perf_counter()
            r = await client.post(f"/api/v1/referrals/{rid}/actions/{action}", json=body,
                                  headers={**headers, "If-Match": etag})
            latencies.append(time.perf_counter() - t)
            if r.status_code != 200:
                raise RuntimeError(f"{action} on {rid}: {r.status_code} {r.text[:300]}")
            etag = r.headers["ETag"]
            done += 1
    return done


async def race(client: httpx.AsyncClient, headers: list[dict], ref_ids: list[int]) -> tuple[int, int]:
    """All clients accept the same referral with the same version at once: one 200, the rest 409."""
    wins = conflicts = 0
    for rid in ref_ids:
        rs = await asyncio.gather(*[client.post(f"/api/v1/referrals/{rid}/actions/accept", json={},
                                                headers={**h, "If-Match": '"1"'}) for h in headers])
        codes = [r.status_code for r in rs]
        if codes.count(200) != 1 or codes.count(409) != len(codes) - 1:
            raise RuntimeError(f"race on {rid}: {codes}")
        wins += 1
        conflicts += len(codes) - 1
    return wins, conflicts


async def run(base: str, clients: int, ref_ids: list[int], contended: int) -> dict:
    limits = httpx.Limits(max_connections=clients * 2, max_keepalive_connections=clients * 2)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        headers = [await token(client, f"chw{i}") for i in range(clients)]
        race_ids, work_ids = ref_ids[:contended], ref_ids[contended:]
        slices = [work_ids[i::clients] for i in range(clients)]
        latencies: list[float] = []
        t = time.perf_counter()
        counts = await asyncio.gather(*[walk(client, headers[i], slices[i], latencies) for i in range(clients)])
        elapsed = time.perf_counter() - t
        wins, conflicts = await race(client, headers, race_ids) if race_ids else (0, 0)
    lat = sorted(latencies)
    return {
        "transitions": sum(counts), "seconds": elapsed, "per_second": sum(counts) / elapsed,
        "p50_ms": 1000 * statistics.median(lat), "p95_ms": 1000 * lat[int(0.95 * (len(lat) - 1))],
        "races": wins, "conflicts": conflicts,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database-url", default=os.environ.get("SOCIALCARE_BENCH_DATABASE_URL", DEFAULT_URL))
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--referrals", type=int, default=1600)
    ap.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 2))
    ap.add_argument("--contended", type=int, default=20, help="referrals all clients race on (409 check)")
    ap.add_argument("--small", action="store_true", help="CI size: 4 clients, 80 referrals, 2 workers")
    args = ap.parse_args(argv)
    if args.small:
        args.clients, args.referrals, args.workers, args.contended = 4, 80, 2, 5
    if not args.database_url.startswith("postgresql"):
        print("bench_referrals measures PostgreSQL: pass --database-url postgresql+psycopg://...")
        return 2
    print(f"preparing {args.referrals} referrals for {args.clients} clients ...", flush=True)
    data = prepare(args.database_url, args.clients, args.referrals + args.contended)
    proc, base = start_server(args.database_url, args.workers)
    try:
        res = asyncio.run(run(base, args.clients, data["referral_ids"], args.contended))
    finally:
        proc.terminate()
        proc.wait(15)
    print(f"{res['transitions']} transitions by {args.clients} concurrent clients against {args.workers} uvicorn "
          f"workers in {res['seconds']:.1f} s: {res['per_second']:.0f} transitions/second "
          f"(p50 {res['p50_ms']:.0f} ms, p95 {res['p95_ms']:.0f} ms)")
    print(f"contended: {res['races']} races, each exactly one winner; {res['conflicts']} clients got 409 Conflict")
    return 0


if __name__ == "__main__":
    sys.exit(main())
