# ci-args: --rows 100000
"""Benchmark: settle N delivered-service rows (default 1,000,000) across a mixed contract.

    .venv/bin/python bench/bench_settlement.py                 # 1 M rows
    .venv/bin/python bench/bench_settlement.py --rows 100000   # CI

The contract combines fee-for-service (three codes, one capped, one with a minimum), capitation,
the WNYICC hybrid, a case rate with episodes, pay for performance net of nothing (in addition) and
shared savings. Steps timed: generate the CSV (not part of settlement), read + validate it
(pyarrow, column-wise), settle (Arrow group-by, then Decimal money on the aggregates), and the
aggregate invoice. docs/payments.md keeps the figure measured on the reference machine.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from socialcare.payments import billing, build_facts, parse_terms, settle

TERMS = """
version: 1
contract: Mixed benchmark contract
terms:
  - id: ffs
    model: fee_for_service
    fee_schedule:
      - {service_code: T1016, unit: "15 minutes", rate: "18.25", max_units: 150000}
      - {service_code: G0019, unit: month, rate: "75.00", min_units: 100}
      - {service_code: A0100, unit: trip, rate: "22.40"}
  - id: cap
    model: capitation
    pmpm: "38.00"
    covered_services: [S9452]
  - id: meals
    model: hybrid_ffs_capitation
    capitation: {amount_per_month: "250000.00"}
    fee_schedule: [{service_code: S5170, unit: meal, rate: "9.75"}]
  - id: cm
    model: bundled
    billing_code: H0043
    episode_rate: "675.00"
    services_carved_in: [G0022]
  - id: p4p
    model: pay_for_performance
    base_terms: [ffs, cap]
    metrics:
      - {metric: documentation_accuracy_percent, target: 95, bonus: "5000.00"}
      - {metric: median_days_to_start, target: 7, direction: at_most, penalty_percent_of_base: 2}
  - id: savings
    model: shared_savings
    guaranteed_payment: "450000.00"
    sharing: {min_percent: 40, max_percent: 50, metrics_total: 7}
"""

CODES = np.array(["S5170", "T1016", "G0019", "A0100", "S9452", "G0022"])
WEIGHTS = np.array([0.55, 0.15, 0.1, 0.1, 0.05, 0.05])


def generate(rows: int, seed: int = 7) -> bytes:
    rng = np.random.default_rng(seed)
    members = np.char.add("M", rng.integers(100000, 160000, rows).astype(str))
    codes = CODES[rng.choice(len(CODES), rows, p=WEIGHTS)]
    start = np.datetime64(date(2025, 1, 1))
    days = (start + rng.integers(0, 90, rows).astype("timedelta64[D]")).astype(str)
    units = rng.integers(1, 5, rows)
    table = pa.table({"member_id": members, "service_code": codes, "service_date": days, "units": units})
    out = io.BytesIO()
    pacsv.write_csv(table, out)
    return out.getvalue()


def other_facts() -> str:
    eps = "\n".join(f"  - {{episode_id: E{i}, member_id: C{i}, term: cm, start: 2025-0{1 + i % 3}-1{i % 9}}}"
                    for i in range(300))
    return f"""member_months:
  cap: {{"2025-01": 12000, "2025-02": 12100, "2025-03": 12200}}
metrics: {{documentation_accuracy_percent: 96.2, median_days_to_start: 6}}
tcoc:
  savings: {{projected_tcoc: "41000000.00", actual_tcoc: "39800000.00", quality_metrics_met: 5}}
episodes:
{eps}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--period", default="2025-Q1")
    args = ap.parse_args()

    t0 = time.perf_counter()
    raw = generate(args.rows)
    t_gen = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "services.csv"
        path.write_bytes(raw)
        t1 = time.perf_counter()
        terms = parse_terms(TERMS, "bench terms")
        facts = build_facts([("facts.yaml", other_facts())], [(str(path), path.read_bytes())])
        t_read = time.perf_counter() - t1
        t2 = time.perf_counter()
        statement = settle(terms, facts, args.period)
        t_settle = time.perf_counter() - t2
        t3 = time.perf_counter()
        invoice = billing.invoice_csv(statement)
        t_invoice = time.perf_counter() - t3
    total = t_read + t_settle + t_invoice
    print(f"rows: {args.rows:,} ({len(raw) / 1e6:.1f} MB CSV), {len(statement.lines)} statement lines, "
          f"{invoice.count(chr(10)) - 1} invoice lines")
    print(f"  generate CSV (not timed as settlement): {t_gen:6.2f} s")
    print(f"  read + validate (file, row, field):     {t_read:6.2f} s")
    print(f"  settle (aggregate + Decimal money):     {t_settle:6.2f} s")
    print(f"  invoice:                                {t_invoice:6.2f} s")
    print(f"  total, file to statement:               {total:6.2f} s")
    print(f"  paid: {statement.total:,}  (reported only: {statement.reported_total:,})")


if __name__ == "__main__":
    main()
