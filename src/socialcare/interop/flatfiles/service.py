"""Import a partner's file: all or nothing, every bad row and field named, the same file never
imported twice, and a record of every attempt (exchange_import + the audit log).

The caller owns the transaction (CLI command, web request, drop folder). A rejected or duplicate
file writes only its import record and audit event, so the caller commits and the rejection is
on record; an accepted file writes its rows and the record together.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcare.core.db import savepoint
from socialcare.core.errors import InvalidInput, Problem, SocialcareError
from socialcare.interop.flatfiles import reader
from socialcare.interop.flatfiles.layouts import Layout, layout
from socialcare.interop.models import ExchangeImport
from socialcare.security import audit
from socialcare.security.principal import Principal

KEEP_PROBLEMS = 1000


@dataclass
class ImportResult:
    status: str  # accepted, rejected, duplicate
    layout: str
    file_name: str
    sha256: str
    rows_total: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    problems: list[Problem] = field(default_factory=list)
    import_id: int | None = None
    duplicate_of: int | None = None

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"

    def summary(self) -> str:
        if self.status == "accepted":
            return (f"{self.file_name}: accepted ({self.layout}), {self.rows_total:,} rows: "
                    f"{self.rows_inserted:,} added, {self.rows_updated:,} updated.")
        if self.status == "duplicate":
            return (f"{self.file_name}: refused, the same file (SHA-256 {self.sha256[:12]}...) was already "
                    f"imported (import #{self.duplicate_of}); nothing was written.")
        return (f"{self.file_name}: rejected, {len(self.problems):,} problem(s) in {self.rows_total:,} rows; "
                "nothing was imported.")

    def as_dict(self) -> dict:
        return {"status": self.status, "layout": self.layout, "file": self.file_name, "sha256": self.sha256,
                "rows": self.rows_total, "inserted": self.rows_inserted, "updated": self.rows_updated,
                "import_id": self.import_id, "duplicate_of": self.duplicate_of,
                "problems": [p.as_dict() for p in self.problems]}

    def raise_if_rejected(self) -> None:
        if self.status == "rejected":
            raise InvalidInput(self.summary(), self.problems)


IMPORTERS = {
    "member_eligibility": "socialcare.interop.flatfiles.members",
    "referral_status": "socialcare.interop.flatfiles.referral_status",
    "service_record": "socialcare.interop.flatfiles.service_records",
}


def _importer(name: str):
    """The module that checks and applies one layout: authorize(principal); prepare(session, principal,
    parsed, file) -> (problems, work), every row checked and nothing written; apply(session,
    principal, work) -> (inserted, updated)."""
    if name not in IMPORTERS:
        raise InvalidInput(f"The {name} layout is an export only.", [Problem("not importable", field="layout")])
    import importlib

    return importlib.import_module(IMPORTERS[name])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def previous_import(session: Session, org_id: int, layout_name: str, digest: str) -> ExchangeImport | None:
    return session.scalar(select(ExchangeImport).where(
        ExchangeImport.organization_id == org_id, ExchangeImport.layout == layout_name,
        ExchangeImport.accepted_sha256 == digest,
    ))


def import_file(
    session: Session, principal: Principal, layout_name: str, file_name: str, data: bytes, *, via: str = "cli"
) -> ImportResult:
    principal.require("exchange:import")
    lay: Layout = layout(layout_name)
    importer = _importer(lay.name)
    importer.authorize(principal)
    digest = sha256(data)
    result = ImportResult(status="rejected", layout=lay.name, file_name=file_name, sha256=digest)

    earlier = previous_import(session, principal.org_id, lay.name, digest)
    if earlier is not None:
        result.status, result.duplicate_of = "duplicate", earlier.id
        result.problems = [Problem(f"already imported as import #{earlier.id} on {earlier.created_at:%Y-%m-%d %H:%M}",
                                   file=file_name)]
        return _record(session, principal, result, len(data), via)

    try:
        df = reader.read_table(file_name, data)
    except reader.FileUnreadable as exc:
        result.problems = [Problem(exc.message, file=file_name)]
        return _record(session, principal, result, len(data), via)
    result.rows_total = len(df)
    # header, encoding, shape and formula problems are reported together with every row problem
    found = list(df.attrs.get("problems", []))
    header = [p for p in found if p.row is None] + reader.header_problems(df, lay, file_name)
    shape = [p for p in found if p.row is not None]
    if any(cols.count(c) > 1 for cols in [list(df.columns)] for c in cols):
        problems = header + shape  # a repeated column: which one holds the value is unknown
    else:
        problems, parsed = reader.validate_columns(df, lay, file_name)
        missing = [c.name for c in lay.columns if c.required and c.name not in df.columns]
        if not missing:
            # the importer's checks run on every row too (a row with an unreadable cell skips only
            # what depends on that cell), so one report names every bad row and field
            theirs, work = importer.prepare(session, principal, parsed, file_name)
            problems += reader.sort_problems(theirs)
        problems = header + sorted(shape + problems, key=lambda p: p.row or 0)
    if not problems and result.rows_total == 0:
        problems = [Problem("the file has a header but no rows", file=file_name)]
    if problems:
        result.problems = problems
        return _record(session, principal, result, len(data), via)

    # prepare() found nothing wrong, but applying goes through the domains' own services, which check
    # again (the state machine, a concurrent change): if one refuses a row, the savepoint takes back
    # every row already written, so the file is still all or nothing and its rejection is on record.
    try:
        with savepoint(session):
            result.rows_inserted, result.rows_updated = importer.apply(session, principal, work)
    except SocialcareError as exc:
        session.expire_all()  # objects loaded inside the savepoint may hold values it took back
        result.rows_inserted = result.rows_updated = 0
        result.problems = list(getattr(exc, "problems", None) or []) or [Problem(exc.message, file=file_name)]
        result.problems = [p if p.file else replace(p, file=file_name) for p in result.problems]
        return _record(session, principal, result, len(data), via)
    result.status = "accepted"
    return _record(session, principal, result, len(data), via)


def _record(session: Session, principal: Principal, result: ImportResult, size: int, via: str) -> ImportResult:
    row = ExchangeImport(
        organization_id=principal.org_id, user_id=principal.user_id, username=principal.username, via=via,
        layout=result.layout, file_name=result.file_name[:255], sha256=result.sha256,
        accepted_sha256=result.sha256 if result.status == "accepted" else None, size_bytes=size,
        status=result.status, rows_total=result.rows_total, rows_inserted=result.rows_inserted,
        rows_updated=result.rows_updated, problem_count=len(result.problems),
        problems=[p.as_dict() for p in result.problems[:KEEP_PROBLEMS]] or None,
    )
    session.add(row)
    session.flush()
    result.import_id = row.id
    audit.record(
        session, principal, f"exchange.import.{result.status}", object_type="exchange_import", object_id=row.id,
        detail={"layout": result.layout, "file": result.file_name, "sha256": result.sha256,
                "rows": result.rows_total, "inserted": result.rows_inserted, "updated": result.rows_updated,
                "problems": len(result.problems)},
    )
    return result


def recent_imports(session: Session, principal: Principal, limit: int = 50) -> list[ExchangeImport]:
    """The organization's own import history (never another organization's)."""
    return list(session.scalars(
        select(ExchangeImport).where(ExchangeImport.organization_id == principal.org_id)
        .order_by(ExchangeImport.id.desc()).limit(limit)
    ))


def error_report_csv(result: ImportResult) -> str:
    """The error report a partner gets back: one line per problem (row, field, reason)."""
    import csv
    import io

    from socialcare.kit.cells import safe_row

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["row", "field", "problem"])
    for p in result.problems:
        w.writerow(safe_row([p.row if p.row is not None else "", p.field or "", p.message]))
    return buf.getvalue()
