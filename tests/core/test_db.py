"""The unit of work's savepoints on the embedded SQLite database."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from socialcare.core.db import make_engine, savepoint


@pytest.mark.parametrize("raise_inside", [False, True])
def test_a_savepoint_never_commits_the_request_on_sqlite(tmp_path, raise_inside):
    """Python's sqlite3 opens a transaction only at the first write, so a bare SAVEPOINT after
    reads would be the outermost transaction and its release a real commit: a request that fails
    later would leave half its writes on disk. ``savepoint`` opens the outer transaction first."""
    engine = make_engine(f"sqlite:///{tmp_path / 'uow.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    with sessionmaker(bind=engine)() as session:
        session.execute(text("SELECT count(*) FROM t")).scalar()  # a request reads first
        try:
            with savepoint(session):
                session.execute(text("INSERT INTO t VALUES (1)"))
                if raise_inside:
                    raise ValueError("refused")
        except ValueError:
            pass
        session.execute(text("INSERT INTO t VALUES (2)"))
        session.rollback()  # the request fails after the savepoint
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
    engine.dispose()
