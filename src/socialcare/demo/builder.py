"""Build the demo partnership: migrate with Alembic, then run every domain's ``demo.py`` step.

Steps are found by ``kit.discovery.domain_modules("demo")`` (never a central list) and run in
their ``ORDER``; each runs in its own transaction, so a failing step leaves the earlier ones'
data and names itself. Every step gets its own random generators seeded from ``--seed`` and the
step's module name: the same seed and as-of date give identical data, and adding a domain does
not change the data of the others.
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from types import ModuleType

import numpy as np
import sqlalchemy as sa
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from socialcare.core.clock import today
from socialcare.core.db import make_engine
from socialcare.core.errors import InvalidInput, Problem, SocialcareError
from socialcare.core.migrate import upgrade
from socialcare.demo.context import DemoContext
from socialcare.kit.discovery import domain_modules


def demo_steps() -> list[ModuleType]:
    """Every domain's demo module, in ORDER (then by name, so ties are stable)."""
    steps = [m for m in domain_modules("demo") if hasattr(m, "build")]
    return sorted(steps, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))


def step_name(module: ModuleType) -> str:
    return module.__name__.split(".")[-2]  # socialcare.<domain>.demo -> <domain>


def reset_database(url: str) -> None:
    """Empty the database so Alembic builds the schema from nothing.

    SQLite: delete the file (and its WAL files). PostgreSQL: drop and recreate the ``public``
    schema, which takes every table, sequence, trigger function and the Alembic version with it.
    """
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if not u.database or u.database == ":memory:":
            raise InvalidInput("The demo needs a database file, not an in-memory SQLite database.")
        path = Path(u.database)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    elif u.get_backend_name() == "postgresql":
        eng = sa.create_engine(url)
        try:
            with eng.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
        finally:
            eng.dispose()
    else:
        raise InvalidInput(f"The demo runs on SQLite or PostgreSQL, not {u.get_backend_name()}.")


def _loading_engine(url: str) -> Engine:
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        # The demo database is rebuilt from nothing, so a crash mid-build loses nothing worth
        # keeping: skip the fsyncs and give the page cache room. WAL keeps it consistent.
        @event.listens_for(engine, "connect")
        def _fast_load(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("PRAGMA cache_size=-262144")  # 256 MB
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.close()

    return engine


def _step_seed(seed: int, name: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(name.encode())) & 0xFFFFFFFF


@contextmanager
def _progress(enabled: bool, console: Console | None):
    if not enabled:
        yield None
        return
    progress = Progress(
        TextColumn("[bold]{task.description:<22}"),
        BarColumn(bar_width=40),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    with progress:
        yield progress


def build_demo(
    database_url: str,
    *,
    seed: int = 7,
    members: int = 20000,
    as_of: date | None = None,
    progress: bool = True,
    reset: bool = True,
    console: Console | None = None,
    on_step: Callable[[str, float], None] | None = None,
) -> dict:
    """Rebuild the demo partnership in ``database_url``.

    Returns ``{"logins": {role: (username, password)}, "timings": {step: seconds}, "state": ...}``.
    ``reset=False`` builds into an already-empty database (nothing is deleted).
    """
    if members < 1:
        raise InvalidInput("The demo needs at least one member.", [Problem("must be 1 or more", field="members")])
    as_of = as_of or today()
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def timed(name: str, t0: float) -> None:
        timings[name] = round(time.perf_counter() - t0, 3)
        if on_step:
            on_step(name, timings[name])

    t0 = time.perf_counter()
    if reset:
        reset_database(database_url)
    upgrade(database_url)
    timed("migrate", t0)

    steps = demo_steps()
    engine = _loading_engine(database_url)
    state: dict = {}
    try:
        with _progress(progress, console) as bar:
            tasks = {}
            if bar is not None:
                for module in steps:
                    tasks[module.__name__] = bar.add_task(step_name(module), total=None, start=False)
            for module in steps:
                name = step_name(module)
                task = tasks.get(module.__name__)
                step_seed = _step_seed(seed, module.__name__)
                ctx = DemoContext(
                    session=None,  # set below, per step
                    seed=seed,
                    members_count=members,
                    today=as_of,
                    rng=random.Random(step_seed),
                    np_rng=np.random.default_rng(step_seed),
                    state=state,
                )
                if bar is not None:
                    bar.start_task(task)
                    ctx.advance = lambda n, _t=task: bar.advance(_t, n)
                    ctx.set_total = lambda n, _t=task: bar.update(_t, total=n)
                t0 = time.perf_counter()
                with Session(engine, expire_on_commit=False) as session:
                    ctx.session = session
                    try:
                        module.build(ctx)
                        session.commit()
                    except SocialcareError as exc:
                        session.rollback()
                        raise SocialcareError(f"The demo step '{name}' ({module.__name__}) failed: {exc}") from exc
                    except Exception as exc:
                        session.rollback()
                        raise RuntimeError(f"demo step '{name}' ({module.__name__}) failed: {exc}") from exc
                if bar is not None:
                    total = next(t.total for t in bar.tasks if t.id == task) or 1
                    bar.update(task, total=total, completed=total)
                    bar.stop_task(task)
                timed(name, t0)

        t0 = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))  # fresh statistics for the query planner
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        timed("analyze", t0)
    finally:
        engine.dispose()
    timings["total"] = round(time.perf_counter() - started, 3)
    return {"logins": dict(state.get("logins", {})), "timings": timings, "state": state}
