# ci-args: --lines 200000 --pandas-lines 200000
"""Benchmark: the shared-savings figure on N synthetic claim lines, DuckDB vs a pandas version.

    .venv/bin/python bench/bench_claims.py                          # 2 M lines, quick
    .venv/bin/python bench/bench_claims.py --lines 100000000 --pandas-lines 5000000

Steps: generate N lines (Parquet, in chunks) under --out; run the Ibis pipeline on DuckDB (the
contract figures: capped TCOC, trended projection, gross savings; and the full report with the
DiD); then generate --pandas-lines lines, compute the same contract figure with pandas and with
DuckDB, and assert they agree to the cent. Timings are printed; docs/analytics.md keeps the
figures measured on the reference machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from socialcare.analytics import connect as cn
from socialcare.analytics import savings as sv
from socialcare.analytics.synth import SynthSpec, generate, members_for_lines

MONTHS = 24
LPMM = 5.0


def params_for(manifest: dict, bootstrap: int = 200) -> sv.SavingsParams:
    return sv.SavingsParams(
        baseline_start=manifest["baseline"][0],
        baseline_end=manifest["baseline"][1],
        performance_start=manifest["performance"][0],
        performance_end=manifest["performance"][1],
        zip_codes=manifest["attribution"]["zip_codes"],
        practice_ids=manifest["attribution"]["practice_ids"],
        cap_percentile=Decimal("0.99"),
        trend=Decimal("0.05"),
        bootstrap=bootstrap,
    )


def synth(lines: int, out: Path) -> tuple[dict, float]:
    members = max(100, members_for_lines(lines, MONTHS, LPMM))
    t = time.perf_counter()
    m = generate(SynthSpec(members=members, months=MONTHS, lines_per_member_month=LPMM), out)
    return m, time.perf_counter() - t


def duckdb_contract(out: Path, params: sv.SavingsParams, threads: int | None = None) -> tuple[Decimal, float]:
    """Gross savings (projected − actual capped TCOC of the attributed population) on DuckDB."""
    con = cn.connect("duckdb", threads=threads)
    t = time.perf_counter()
    claims = sv.conform(cn.read(con, out / "claims"), "claims")
    elig = sv.conform(cn.read(con, out / "eligibility"), "eligibility")
    mpc = sv.capped(sv.member_periods(claims, elig, params), params).mutate(treated=False)
    rows = {r["period"]: r for r in con.to_pyarrow(sv.contract_totals(mpc)).to_pylist()}
    g = _gross(
        rows["baseline"]["tcoc"],
        rows["baseline"]["member_months"],
        rows["performance"]["tcoc"],
        rows["performance"]["member_months"],
        params,
    )
    return g, time.perf_counter() - t


def _gross(base_tcoc, base_mm, perf_tcoc, perf_mm, params) -> Decimal:
    factor = (1 + params.trend) ** params.years_between
    projected = (Decimal(base_tcoc) / base_mm * factor * perf_mm).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return projected - Decimal(perf_tcoc).quantize(Decimal("0.01"))


def pandas_contract(out: Path, params: sv.SavingsParams) -> tuple[Decimal, float]:
    """The same figure in pandas (money as integer cents so sums are exact)."""
    t = time.perf_counter()
    c = pd.read_parquet(out / "claims", columns=["member_id", "service_from", "paid_amount"])
    e = pd.read_parquet(out / "eligibility", columns=["member_id", "month", "zip_code", "practice_id"])
    c["month"] = pd.to_datetime(c["service_from"]).dt.to_period("M").dt.to_timestamp()
    c["cents"] = (
        c["paid_amount"].map(lambda d: int(d * 100))
        if c["paid_amount"].dtype == object
        else (c["paid_amount"] * 100).round().astype("int64")
    )
    cm = c.groupby(["member_id", "month"], as_index=False, observed=True)["cents"].sum()
    e["month"] = pd.to_datetime(e["month"])
    bs, be = pd.Timestamp(params.baseline_start), pd.Timestamp(params.baseline_end)
    ps, pe = pd.Timestamp(params.performance_start), pd.Timestamp(params.performance_end)
    e["period"] = np.where(
        e["month"].between(bs, be), "baseline", np.where(e["month"].between(ps, pe), "performance", None)
    )
    e = e[e["period"].notna()]
    e["attr"] = (e["zip_code"].isin(params.zip_codes) & e["practice_id"].isin(params.practice_ids)).astype(
        int
    )
    e = e.groupby(["member_id", "month"], as_index=False, observed=True).agg(
        period=("period", "max"), attr=("attr", "max")
    )
    j = e.merge(cm, on=["member_id", "month"], how="left").fillna({"cents": 0})
    mp = j.groupby(["member_id", "period"], as_index=False, observed=True).agg(
        months=("month", "count"), attributed_months=("attr", "sum"), cents=("cents", "sum")
    )
    mp["pmpm"] = (mp["cents"] / 100.0) / mp["months"]
    mp = mp.sort_values(["period", "pmpm", "member_id"], kind="mergesort")
    n = mp.groupby("period")["pmpm"].transform("size")
    mp["pr"] = mp.groupby("period").cumcount() / (n - 1).where(n > 1, 1)
    thr = mp[mp["pr"] >= float(params.cap_percentile)].groupby("period")["pmpm"].min()
    limit = (mp["period"].map(thr) * mp["months"] * 100).round().astype("int64")
    mp["capped"] = np.minimum(mp["cents"].astype("int64"), limit)
    a = (
        mp[mp["attributed_months"] * 2 >= mp["months"]]
        .groupby("period")
        .agg(mm=("months", "sum"), cents=("capped", "sum"))
    )
    g = _gross(
        Decimal(int(a.loc["baseline", "cents"])) / 100,
        int(a.loc["baseline", "mm"]),
        Decimal(int(a.loc["performance", "cents"])) / 100,
        int(a.loc["performance", "mm"]),
        params,
    )
    return g, time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--pandas-lines", type=int, default=2_000_000)
    ap.add_argument("--out", type=Path, default=Path("/tmp/socialcare-bench"))
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--full-report", action="store_true", help="also time the full report (DiD + bootstrap)")
    a = ap.parse_args(argv)
    results = {}
    big = a.out / "big"
    m, t_gen = synth(a.lines, big)
    params = params_for(m)
    size = sum(f.stat().st_size for f in big.rglob("*.parquet"))
    print(
        f"generated {m['lines']:,} lines / {m['member_months']:,} member-months in {t_gen:.1f} s ({size / 1e9:.2f} GB Parquet)"
    )
    g, t_duck = duckdb_contract(big, params)
    print(f"DuckDB  contract gross savings on {m['lines']:,} lines: {g} in {t_duck:.1f} s")
    results.update(
        lines=m["lines"], generate_s=round(t_gen, 1), duckdb_contract_s=round(t_duck, 1), gross=str(g)
    )
    if a.full_report:
        t = time.perf_counter()
        rep = sv.run(big / "claims", big / "eligibility", params, program_path=big / "program.parquet")
        t_full = time.perf_counter() - t
        print(
            f"DuckDB  full report (DiD, {params.bootstrap} bootstrap replicates): {t_full:.1f} s; DiD {rep.did.effect_pmpm} "
            f"(CI {rep.did.ci_low} to {rep.did.ci_high}), planted {m['planted_effect_pmpm']}"
        )
        results.update(
            duckdb_full_report_s=round(t_full, 1),
            did=str(rep.did.effect_pmpm),
            planted=m["planted_effect_pmpm"],
        )
    if not a.keep:
        shutil.rmtree(big, ignore_errors=True)

    small = a.out / "small"
    ms, _ = synth(a.pandas_lines, small)
    ps = params_for(ms)
    g_duck, t_duck_s = duckdb_contract(small, ps)
    g_pd, t_pd = pandas_contract(small, ps)
    print(f"DuckDB  on {ms['lines']:,} lines: {g_duck} in {t_duck_s:.1f} s")
    print(f"pandas  on {ms['lines']:,} lines: {g_pd} in {t_pd:.1f} s")
    results.update(small_lines=ms["lines"], duckdb_small_s=round(t_duck_s, 1), pandas_small_s=round(t_pd, 1))
    if not a.keep:
        shutil.rmtree(small, ignore_errors=True)
    print(json.dumps(results))
    if g_duck != g_pd:
        print(f"MISMATCH: DuckDB {g_duck} vs pandas {g_pd}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
