"""Alembic, driven from Python: migrations are the only way a schema is made, on both databases."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # a %-encoded password or option
    cfg.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(hour).2d%%(minute).2d_%%(slug)s")
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)


def current_heads(url: str) -> list[str]:
    from alembic.script import ScriptDirectory

    return list(ScriptDirectory.from_config(alembic_config(url)).get_heads())


_SCRIPT_HEADS: set[str] | None = None


def missing_migrations(connection) -> list[str]:
    """Head revisions the database does not have yet (empty: the schema is at head)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    global _SCRIPT_HEADS
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    if _SCRIPT_HEADS is None:
        _SCRIPT_HEADS = set(script.get_heads())
    have = set(MigrationContext.configure(connection).get_current_heads())
    if have == _SCRIPT_HEADS:
        return []
    from alembic.util.exc import CommandError

    try:
        for h in have:
            script.get_revision(h)
    except CommandError:
        return []  # the database is ahead of this code (a rolling upgrade): not missing anything
    applied = {s.revision for s in script.iterate_revisions(tuple(have), "base")} if have else set()
    return sorted(h for h in _SCRIPT_HEADS if h not in applied)
