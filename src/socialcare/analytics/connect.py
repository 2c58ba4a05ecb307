"""One code path, two engines: an Ibis backend on DuckDB (default) or Apache Spark.

The analytics in savings.py are Ibis expressions; only the connection differs. Spark runs with
``spark.sql.session.timeZone=UTC`` so date semantics do not depend on the machine (architecture.md
section 4, guardrail 2), and with few shuffle partitions because local runs are small.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Literal

import ibis

from socialcare.core.errors import InvalidInput, Problem

Engine = Literal["duckdb", "spark"]
ENGINES: tuple[str, ...] = ("duckdb", "spark")


def spark_session(master: str = "local[2]", shuffle_partitions: int = 4):
    """A (reused) local SparkSession configured for the analytics."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master(master)
        .appName("socialcare-analytics")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.ansi.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def connect(engine: str = "duckdb", *, session=None, threads: int | None = None):
    """Return an Ibis backend. ``session`` reuses an existing SparkSession (tests, clusters)."""
    if engine == "duckdb":
        con = ibis.duckdb.connect()
        if threads:
            con.raw_sql(f"SET threads = {int(threads)}")
        return con
    if engine == "spark":
        try:
            import pyspark  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise InvalidInput(
                "the Spark engine needs the 'spark' extra: pip install 'socialcare[spark]' (and Java 17)"
            ) from exc
        return ibis.pyspark.connect(session or spark_session())
    raise InvalidInput(
        f"unknown engine {engine!r}", [Problem(f"use one of {', '.join(ENGINES)}", field="engine")]
    )


def _files(path: str | os.PathLike) -> tuple[list[str], str]:
    """The files behind a path (a file, a glob or a directory of part files) and their format."""
    p = str(path)
    if os.path.isdir(p):
        files = sorted(glob.glob(os.path.join(p, "*.parquet"))) or sorted(glob.glob(os.path.join(p, "*.csv")))
    else:
        files = sorted(glob.glob(p))
    if not files:
        raise InvalidInput("no input files", [Problem("no Parquet or CSV file found here", file=p)])
    suffixes = {Path(f).suffix.lower() for f in files}
    if suffixes <= {".parquet", ".pq"}:
        return files, "parquet"
    if suffixes <= {".csv"}:
        return files, "csv"
    raise InvalidInput("mixed or unknown file types", [Problem(f"suffixes {sorted(suffixes)}", file=p)])


def read(con, path: str | os.PathLike, table_name: str | None = None):
    """Read Parquet or CSV files into an Ibis table on ``con`` (any backend)."""
    files, fmt = _files(path)
    kw = {"table_name": table_name} if table_name else {}
    if fmt == "parquet":
        return con.read_parquet(files if len(files) > 1 else files[0], **kw)
    if con.name == "pyspark":
        return con.read_csv(files, header=True, inferSchema=False, **kw)
    # DuckDB: read every column as text and let schema.conform cast (ids and zips keep their zeros)
    return con.read_csv(files, all_varchar=True, **kw)
