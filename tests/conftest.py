"""Test database: migrated once per run (Alembic, never create_all), one rolled-back transaction per test.

The suite runs on SQLite by default and on PostgreSQL when SOCIALCARE_DATABASE_URL says so
(`.ci/run` does both). The app under test shares the test's connection, so what a request writes
is visible to the test and rolled back after it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from socialcare.core import db as core_db
from socialcare.core.migrate import upgrade
from socialcare.core.settings import get_settings

_TMP = Path(tempfile.mkdtemp(prefix="socialcare-tests-"))


def _test_url() -> str:
    url = os.environ.get("SOCIALCARE_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{_TMP / 'test.db'}"


os.environ.setdefault("SOCIALCARE_DATA_DIR", str(_TMP))
os.environ["SOCIALCARE_DATABASE_URL"] = _test_url()
get_settings.cache_clear()
core_db.get_engine.cache_clear()


def is_postgres() -> bool:
    return _test_url().startswith("postgresql")


def reset_database(url: str) -> None:
    """Empty the database so Alembic builds the schema from nothing."""
    if url.startswith("postgresql"):
        eng = sa.create_engine(url)
        with eng.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        eng.dispose()
    elif url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)


@pytest.fixture(scope="session")
def engine():
    url = _test_url()
    reset_database(url)
    upgrade(url)
    eng = core_db.get_engine()
    yield eng
    eng.dispose()


@pytest.fixture
def db(engine):
    """A Session inside a transaction that is rolled back after the test (app requests share it)."""
    connection = engine.connect()
    outer = connection.begin()
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    core_db.set_session_factory(factory)
    session: Session = factory()
    try:
        yield session
    finally:
        session.close()
        core_db.set_session_factory(None)
        if outer.is_active:
            outer.rollback()
        connection.close()


# ---- a clone stands alone ----------------------------------------------------------------------
# With SOCIALCARE_STRICT_SKIPS=1 (.ci/run sets it for the run from an isolated clone), a test skipped
# because a file, a program or a module is missing fails the run instead of passing quietly.
_MISSING = ("not found", "no such file", "missing", "not installed", "could not import", "does not exist")
_missing_skips: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped and os.environ.get("SOCIALCARE_STRICT_SKIPS") == "1":
        reason = str(report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr)
        if any(word in reason.lower() for word in _MISSING):
            _missing_skips.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session, exitstatus):
    if _missing_skips:
        print("\nSkipped for something missing (SOCIALCARE_STRICT_SKIPS=1), which fails this run:")
        for line in _missing_skips:
            print(f"  {line}")
        session.exitstatus = 1
