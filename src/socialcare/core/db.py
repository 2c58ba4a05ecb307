"""Engine, declarative base and the unit of work.

Services flush, never commit: the request, CLI command or job that calls them owns the
transaction through ``unit_of_work()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from socialcare.core.settings import get_settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def limit_waits(session: Session) -> None:
    """For a request's transaction on PostgreSQL: a contended row (lock_timeout) or a runaway statement
    (statement_timeout) ends in an error the web layer answers 409/503, never a request that waits
    forever. Jobs and the CLI (long bulk statements) keep the server's defaults."""
    if session.get_bind().dialect.name != "postgresql":
        return
    settings = get_settings()
    session.connection().exec_driver_sql(
        f"SET LOCAL statement_timeout = {int(settings.db_statement_timeout_ms)}; "
        f"SET LOCAL lock_timeout = {int(settings.db_lock_timeout_ms)}")


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().effective_database_url)


_session_factory: sessionmaker[Session] | None = None


def session_factory() -> sessionmaker[Session]:
    global _session_factory
    if _session_factory is None:
        _session_factory = sessionmaker(bind=get_engine(), expire_on_commit=False)
    return _session_factory


def set_session_factory(factory: sessionmaker[Session] | None) -> None:
    """Tests bind the app to their own connection."""
    global _session_factory
    _session_factory = factory


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """A nested transaction inside the caller's unit of work: what happens inside is undone alone
    if it raises. Use this, never ``session.begin_nested()`` directly: Python's sqlite3 opens the
    outer transaction only at the first INSERT/UPDATE/DELETE, so a SAVEPOINT before that would be
    the outermost one and releasing it would commit for real (half a request on disk). Here the
    outer transaction is opened first, IMMEDIATE: a savepoint is there to write, and a deferred
    transaction that read first would fail at its first write ("database is locked", without waiting)
    whenever another connection wrote in between; an immediate one waits its turn for the lock."""
    conn = session.connection()
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    with session.begin_nested():
        yield


def serialize(session: Session, key: str) -> None:
    """Until this transaction ends, other transactions asking for the same ``key`` wait: a check
    followed by an insert (is there already an open referral? a failed sign-in count) cannot interleave.
    PostgreSQL: a transaction-level advisory lock; SQLite: its one write lock, taken now."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%(k)s))", {"k": key})
    elif conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def import_all_models() -> None:
    """Import every domain's models so Base.metadata is complete (Alembic, tests)."""
    import importlib
    import pkgutil

    import socialcare

    for mod in pkgutil.iter_modules(socialcare.__path__):
        if mod.ispkg:
            try:
                importlib.import_module(f"socialcare.{mod.name}.models")
            except ModuleNotFoundError as exc:
                if exc.name != f"socialcare.{mod.name}.models":
                    raise
