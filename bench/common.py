"""What the benchmarks share: an empty, migrated database to measure on.

Run a bench as ``python bench/bench_x.py``: this folder is then on the import path."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

from socialcare.core.db import make_engine
from socialcare.core.migrate import upgrade


def fresh_database(url: str | None, name: str) -> tuple[str, Engine]:
    """``url`` emptied (PostgreSQL: its public schema dropped) or, when None, a new SQLite file in a
    temporary folder; migrated by Alembic like any installation. Returns the URL and its engine."""
    url = url or f"sqlite:///{Path(tempfile.mkdtemp(prefix=f'sc-bench-{name}-')) / 'bench.db'}"
    engine = make_engine(url)
    if url.startswith("postgresql"):
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(url)
    return url, engine
