"""Fast bulk writes inside the Session's own transaction: demo steps, file imports, any job that
builds many rows in memory.

One ORM object per row is far too slow for a million members, and even SQLAlchemy Core spends most
of its time processing bind parameters row by row. So rows go straight to the driver:

- SQLite: the DBAPI ``executemany`` of one prepared INSERT;
- PostgreSQL: ``COPY ... FROM STDIN`` through psycopg 3.

Rows are tuples of *database-ready* values, in ``columns`` order, because no type processing
happens on the way: dates and datetimes as ISO strings (``2024-05-01``,
``2024-05-01 09:30:00.000000``), JSON as ``json.dumps`` text, amounts as ``str(Decimal)``,
booleans as ``bool``, missing values as ``None``. Those spellings are what SQLAlchemy itself stores
on SQLite and what PostgreSQL parses in COPY's text format, so the ORM reads the rows back normally.
Callers holding Python values (dates, Decimals) in dicts get such tuples from ``db_ready``, which
runs each column's own bind processor (what the ORM would do, once per column instead of per row).
Columns left out get their server defaults (``created_at``); ``db_ready`` adds the scalar Python
defaults (``default="en"``) the raw INSERT would otherwise miss.

Tables whose ids the caller assigns (``"id"`` in ``columns``) get their PostgreSQL sequence moved
past the largest id afterwards, so later ORM inserts do not collide.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice

from sqlalchemy import Table, bindparam, func, select, text, update
from sqlalchemy.orm import Session

UPDATE_BATCH = 10_000


def _table(table) -> Table:
    return getattr(table, "__table__", table)


def next_id(session: Session, table) -> int:
    """The first free id of ``table`` (its largest id + 1), for callers that assign ids themselves."""
    t = _table(table)
    return int(session.scalar(select(func.coalesce(func.max(t.c.id), 0))) or 0) + 1


def _batches(rows: Iterable[tuple], size: int):
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


def db_ready(session: Session, table, rows: list[dict]) -> tuple[list[str], list[tuple]]:
    """(columns, tuples) for ``bulk_insert`` from dicts of Python values (all dicts have the keys of the
    first): each column converted by its type's bind processor, scalar Python defaults filled in."""
    t = _table(table)
    if not rows:
        return [], []
    cols = list(rows[0].keys())
    dialect = session.get_bind().dialect
    defaults = [(c.name, c.default.arg) for c in t.c
                if c.name not in cols and c.default is not None and c.default.is_scalar]
    columns = []
    for name in cols:
        values = [r[name] for r in rows]
        proc = t.c[name].type._cached_bind_processor(dialect)
        if proc is not None:
            values = [None if v is None else proc(v) for v in values]
        columns.append(values)
    for _name, value in defaults:
        columns.append([value] * len(rows))
    return cols + [n for n, _ in defaults], list(zip(*columns, strict=True))


def bulk_insert(
    session: Session,
    table,
    columns: Sequence[str],
    rows: Iterable[tuple],
    *,
    batch_size: int = 50_000,
    on_batch=None,
) -> int:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table``; returns the number inserted.

    ``on_batch(n)`` is called after each batch (demo steps pass ``ctx.advance``)."""
    t = _table(table)
    if not columns:  # nothing to insert (db_ready of no rows)
        return 0
    unknown = [c for c in columns if c not in t.c]
    if unknown:
        raise ValueError(f"{t.name} has no column(s) {unknown}")
    session.flush()  # ORM rows added earlier (parents of these) must reach the database first
    dbapi_conn = session.connection().connection.dbapi_connection
    dialect = session.get_bind().dialect.name
    quoted = ", ".join(f'"{c}"' for c in columns)
    total = 0
    if dialect == "sqlite":
        sql = f'INSERT INTO "{t.name}" ({quoted}) VALUES ({", ".join("?" for _ in columns)})'
        cur = dbapi_conn.cursor()
        try:
            for batch in _batches(rows, batch_size):
                cur.executemany(sql, batch)
                total += len(batch)
                if on_batch:
                    on_batch(len(batch))
        finally:
            cur.close()
    elif dialect == "postgresql":
        with dbapi_conn.cursor() as cur:
            with cur.copy(f'COPY "{t.name}" ({quoted}) FROM STDIN') as copy:
                for batch in _batches(rows, batch_size):
                    for row in batch:
                        copy.write_row(row)
                    total += len(batch)
                    if on_batch:
                        on_batch(len(batch))
        if "id" in columns and total:
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('\"{t.name}\"', 'id'), "
                    f'(SELECT MAX(id) FROM "{t.name}"))'
                )
            )
    else:  # pragma: no cover - socialcare runs on SQLite and PostgreSQL
        raise NotImplementedError(f"bulk_insert does not support {dialect}")
    return total


def bulk_update(session: Session, table, rows: list[dict]) -> None:
    """UPDATE by primary key for each row dict ({"id": ..., column: value, ...}): Core executemany in
    batches (the values go through the column types as usual; updates are far fewer than inserts)."""
    if not rows:
        return
    t = _table(table)
    cols = [c for c in rows[0] if c != "id"]
    stmt = update(t).where(t.c.id == bindparam("_id")).values({c: bindparam(f"_{c}") for c in cols})
    conn = session.connection()
    params = [{f"_{k}": v for k, v in r.items()} for r in rows]
    for i in range(0, len(params), UPDATE_BATCH):
        conn.execute(stmt, params[i:i + UPDATE_BATCH])
