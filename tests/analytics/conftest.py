"""Synthetic claims made once per test session; one SparkSession reused by every Spark test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from socialcare.analytics.savings import SavingsParams
from socialcare.analytics.synth import SynthSpec, generate


def params_from(manifest: dict, **kw) -> SavingsParams:
    values = dict(
        baseline_start=manifest["baseline"][0],
        baseline_end=manifest["baseline"][1],
        performance_start=manifest["performance"][0],
        performance_end=manifest["performance"][1],
        zip_codes=manifest["attribution"]["zip_codes"],
        practice_ids=manifest["attribution"]["practice_ids"],
    )
    values.update(kw)
    return SavingsParams(**values)


def _make(tmp_path_factory, name: str, **spec) -> Path:
    out = tmp_path_factory.mktemp(name)
    generate(SynthSpec(**spec), out)
    return out


@pytest.fixture(scope="session")
def planted(tmp_path_factory) -> tuple[Path, dict]:
    """20,000 members, 24 months (~2 M lines), 30 % of participants' ER/inpatient lines averted."""
    out = _make(tmp_path_factory, "planted", members=20_000, seed=11, effect=0.30)
    return out, json.loads((out / "manifest.json").read_text())


@pytest.fixture(scope="session")
def null_effect(tmp_path_factory) -> tuple[Path, dict]:
    """Same population, no effect planted."""
    out = _make(tmp_path_factory, "null", members=20_000, seed=12, effect=0.0)
    return out, json.loads((out / "manifest.json").read_text())


@pytest.fixture(scope="session")
def small(tmp_path_factory) -> tuple[Path, dict]:
    """1,500 members (~150k lines) for engine parity and CLI tests."""
    out = _make(tmp_path_factory, "small", members=1_500, seed=5, effect=0.30)
    return out, json.loads((out / "manifest.json").read_text())


@pytest.fixture(scope="session")
def spark_con():
    pytest.importorskip("pyspark")
    from socialcare.analytics.connect import connect, spark_session

    session = spark_session()
    yield connect("spark", session=session)
    session.stop()
