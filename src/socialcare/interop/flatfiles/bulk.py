"""Bulk writes for imports, inside the caller's transaction: PostgreSQL COPY (the fastest way in),
else Core executemany (SQLite's executemany is already fast). Core, not the ORM: the ORM's bulk
path costs about five times more per row and imports need none of its features."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Table, bindparam, update
from sqlalchemy.orm import Session

BATCH = 10_000


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def bulk_insert(session: Session, table: Table, rows: list[dict]) -> None:
    if not rows:
        return
    cols = list(rows[0].keys())
    session.flush()
    if _is_postgres(session):
        now = datetime.now(UTC)
        stamp = [c for c in ("created_at", "updated_at") if c in table.c and c not in cols]
        names = ", ".join(f'"{c}"' for c in cols + stamp)
        dbapi = session.connection().connection.driver_connection  # same connection, same transaction
        with dbapi.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for r in rows:
                copy.write_row([r[c] for c in cols] + [now] * len(stamp))
        return
    # SQLite: the driver's executemany with the column types' own conversions (dates, decimals)
    dialect = session.get_bind().dialect
    procs = [table.c[c].type._cached_bind_processor(dialect) for c in cols]
    defaults = [
        (c.name, c.default.arg) for c in table.c
        if c.name not in cols and c.default is not None and c.default.is_scalar
    ]
    names = cols + [n for n, _ in defaults]
    sql = f'INSERT INTO "{table.name}" ({", ".join(chr(34) + n + chr(34) for n in names)}) VALUES ({", ".join("?" * len(names))})'
    fixed = [v for _, v in defaults]
    columns = [[r[c] for r in rows] for c in cols]
    for j, proc in enumerate(procs):
        if proc is not None:
            columns[j] = [None if v is None else proc(v) for v in columns[j]]
    tuples = [list(t) + fixed for t in zip(*columns, strict=True)]
    cur = session.connection().connection.driver_connection.cursor()
    try:
        cur.executemany(sql, tuples)
    finally:
        cur.close()


def bulk_update(session: Session, table: Table, rows: list[dict]) -> None:
    """UPDATE by primary key for each row dict ({"id": ..., column: value, ...}), one executemany."""
    if not rows:
        return
    cols = [c for c in rows[0] if c != "id"]
    stmt = (
        update(table).where(table.c.id == bindparam("_id"))
        .values({c: bindparam(f"_{c}") for c in cols})
    )
    conn = session.connection()
    params = [{f"_{k}": v for k, v in r.items()} for r in rows]
    for i in range(0, len(params), BATCH):
        conn.execute(stmt, params[i:i + BATCH])
