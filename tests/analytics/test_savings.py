"""Shared savings on claims: the analytics find a planted effect, find none when none was planted,
and give the same figures on DuckDB, on Spark, from CSV and in a plain pandas re-implementation."""

from __future__ import annotations

import importlib.util
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from socialcare.analytics import connect as cn
from socialcare.analytics import savings as sv
from socialcare.core.errors import InvalidInput
from tests.analytics.conftest import params_from

D = Decimal


def _run(data: Path, params, con=None):
    return sv.run(
        data / "claims", data / "eligibility", params, program_path=data / "program.parquet", con=con
    )


def test_planted_effect_is_recovered_within_the_confidence_interval(planted):
    data, manifest = planted
    truth = D(manifest["planted_effect_pmpm"])  # realized: averted paid / participant performance months
    report = _run(data, params_from(manifest, cap_percentile=None))
    did = report.did
    assert did is not None and did.n_treated > 800
    assert did.ci_low <= truth <= did.ci_high, (truth, did)
    assert did.significant and did.effect_pmpm < 0
    assert did.savings > 0 and did.savings_ci_low > 0
    # the matched comparison matters: participants' own pre/post change is not the effect
    assert abs(did.naive_pre_post_pmpm - truth) > abs(did.effect_pmpm - truth)


def test_no_significant_savings_when_no_effect_was_planted(null_effect):
    data, manifest = null_effect
    assert manifest["planted_effect_pmpm"] == "0.00"
    report = _run(data, params_from(manifest, cap_percentile=None, guaranteed_payments="0"))
    assert not report.did.significant, report.did
    assert report.did.ci_low < 0 < report.did.ci_high
    assert not report.savings_supported
    assert not sv.tcoc_facts(report).savings_supported


def test_contract_figures_and_netting_of_the_guaranteed_payment(planted):
    data, manifest = planted
    report = _run(
        data,
        params_from(
            manifest, trend="0.05", guaranteed_payments="250000", minimum_savings_rate="0.02", bootstrap=200
        ),
    )
    assert report.trend_source == "contract"
    assert report.trend_factor == D("1.050000")
    assert report.projected_tcoc == (
        report.baseline_tcoc / report.baseline_member_months * D("1.05") * report.performance_member_months
    ).quantize(D("0.01"))
    assert report.gross_savings == report.projected_tcoc - report.actual_tcoc
    assert report.net_savings == report.gross_savings - D("250000.00")
    assert report.savings_rate == (report.gross_savings / report.projected_tcoc).quantize(D("0.0001"))
    assert report.msr_met == (report.savings_rate >= D("0.02"))
    # a minimum savings rate nobody can meet stops the payout
    strict = _run(data, params_from(manifest, trend="0.05", minimum_savings_rate="0.5", bootstrap=0))
    assert not strict.msr_met and not strict.savings_supported
    text = report.explain()
    assert "projected TCOC" in text and "net of the guaranteed payment" in text


def test_outlier_cap_truncates_member_pmpm(planted):
    data, manifest = planted
    uncapped = _run(data, params_from(manifest, cap_percentile=None, bootstrap=0))
    p99 = _run(data, params_from(manifest, cap_percentile="0.99", bootstrap=0))
    fixed = _run(data, params_from(manifest, cap_pmpm="2000", bootstrap=0))
    assert p99.actual_tcoc < uncapped.actual_tcoc and fixed.actual_tcoc < p99.actual_tcoc
    # the 99th-percentile threshold: 1 % of member-periods above it (nearest rank)
    thr = p99.cap_pmpm["baseline"]
    con = duckdb.connect()
    share = con.sql(
        f"""with m as (
              select e.member_id, count(*) as mm, coalesce(sum(c.paid), 0) as paid
              from (select distinct member_id, month from '{data}/eligibility/*.parquet' where month < date '2025-01-01') e
              left join (select member_id, date_trunc('month', service_from)::date as month, sum(paid_amount) as paid
                         from '{data}/claims/*.parquet' group by all) c using (member_id, month)
              group by e.member_id)
            select avg(case when paid / mm > {thr} + 0.005 then 1.0 else 0 end) from m"""
    ).fetchone()[0]
    assert 0.009 <= share <= 0.011


def test_pandas_reimplementation_gives_the_same_figure(small):
    """bench/bench_claims.py's pandas version of the contract figure agrees to the cent."""
    spec = importlib.util.spec_from_file_location(
        "bench_claims", Path(__file__).parents[2] / "bench" / "bench_claims.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    data, manifest = small
    params = bench.params_for(manifest)
    g_duck, _ = bench.duckdb_contract(data, params)
    g_pd, _ = bench.pandas_contract(data, params)
    assert g_duck == g_pd
    report = _run(data, params)
    assert report.gross_savings == g_duck


def test_csv_files_give_the_same_report_as_parquet(small, tmp_path):
    """A plan's CSV extract: text columns, zip codes with leading zeros, money as text."""
    data, manifest = small
    con = duckdb.connect()
    for name in ("claims", "eligibility"):
        (tmp_path / name).mkdir()
        con.sql(f"copy (select * from '{data}/{name}/*.parquet') to '{tmp_path}/{name}/{name}.csv' (header)")
    con.sql(f"copy (select * from '{data}/program.parquet') to '{tmp_path}/program.csv' (header)")
    assert "08102" in (tmp_path / "eligibility" / "eligibility.csv").read_text()[:100_000]
    params = params_from(manifest, bootstrap=100)
    a = _run(data, params)
    b = sv.run(tmp_path / "claims", tmp_path / "eligibility", params, program_path=tmp_path / "program.csv")
    assert (a.projected_tcoc, a.actual_tcoc, a.did.effect_pmpm, a.did.ci_low) == (
        b.projected_tcoc,
        b.actual_tcoc,
        b.did.effect_pmpm,
        b.did.ci_low,
    )


def test_a_missing_column_names_the_column(small, tmp_path):
    data, manifest = small
    duckdb.sql(
        f"copy (select * exclude (paid_amount) from '{data}/claims/*.parquet') to '{tmp_path}/c.parquet'"
    )
    with pytest.raises(InvalidInput) as exc:
        sv.run(tmp_path / "c.parquet", data / "eligibility", params_from(manifest))
    assert any(p.field == "paid_amount" for p in exc.value.problems)


def test_periods_must_not_overlap():
    with pytest.raises(InvalidInput) as exc:
        sv.SavingsParams(
            baseline_start="2024-01-01",
            baseline_end="2024-12-01",
            performance_start="2024-06-01",
            performance_end="2025-05-01",
        )
    assert exc.value.problems[0].field == "performance_start"


def test_tcoc_facts_for_the_payments_engine(small):
    data, manifest = small
    report = _run(
        data,
        params_from(
            manifest,
            guaranteed_payments="40000",
            quality_metrics_met=5,
            quality_metrics_total=7,
            bootstrap=100,
        ),
    )
    facts = sv.tcoc_facts(report)
    d = facts.as_dict()
    assert d["projected_tcoc"] == report.projected_tcoc and isinstance(d["actual_tcoc"], Decimal)
    assert d["guaranteed_payments"] == D("40000.00")
    assert (d["quality_metrics_met"], d["quality_metrics_total"]) == (5, 7)
    assert any(line.startswith("projected TCOC") for line in d["explanation"])


@pytest.mark.spark
def test_duckdb_and_spark_give_the_same_figures(small, spark_con):
    data, manifest = small
    params = params_from(manifest, guaranteed_payments="40000", minimum_savings_rate="0.02", bootstrap=200)
    duck = _run(data, params)
    spark = _run(data, params, con=spark_con)
    assert spark.engine == "spark" and duck.engine == "duckdb"
    skip = {"engine", "sql", "seconds"}
    a = {k: v for k, v in asdict(duck).items() if k not in skip}
    b = {k: v for k, v in asdict(spark).items() if k not in skip}
    assert a == b


def test_unknown_engine_is_refused():
    with pytest.raises(InvalidInput):
        cn.connect("oracle")


@pytest.mark.parametrize("trend", [None, "0.05"])
def test_the_explanation_lines_can_be_redone_by_hand(small, trend):
    """Each projection line shows every operand it uses, so the arithmetic on the page gives the
    figure to the cent (the projected TCOC used to be shown as a rounded PMPM × member-months)."""
    import re

    data, manifest = small
    kw = {"bootstrap": 0} | ({"trend": trend} if trend else {})
    r = _run(data, params_from(manifest, **kw))
    lines = {ln.label: ln for ln in r.lines}

    def nums(text):
        return [Decimal(x.replace(",", "")) for x in re.findall(r"-?\d[\d,]*(?:\.\d+)?", text)]

    tcoc, base_mm, factor, perf_mm = nums(lines["projected TCOC"].formula)
    assert (tcoc, base_mm, perf_mm) == (r.baseline_tcoc, r.baseline_member_months, r.performance_member_months)
    assert (tcoc / base_mm * factor * perf_mm).quantize(D("0.01")) == r.projected_tcoc
    assert lines["projected TCOC"].result == f"{r.projected_tcoc:,.2f}"
    a, b = nums(lines["gross savings"].formula)
    assert a - b == r.gross_savings and lines["gross savings"].result == f"{r.gross_savings:,.2f}"
    assert "E+" not in r.explain() and "E-" not in r.explain()
