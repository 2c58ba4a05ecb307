"""FHIR search, the protocol part: reading the query (parameters, modifiers, comma OR values, prefixes),
refusing or ignoring what a resource does not support (``Prefer: handling=strict``), paging and the
searchset Bundle with its ``self``/``first``/``next``/``previous`` links.

Each resource's search (searches.py) turns the criteria into one or more *sources*: a filtered
SELECT with an id column and a renderer. The result is their concatenation in (source, id) order,
paged by keyset: a ``next`` link names the last (source, id) it showed, so a client that pages
while Tasks change under it (a poller accepting what it reads) never skips one, which offset paging
would. ``_offset`` skips rows after that position, for clients that page by offset.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

from fastapi import Request
from sqlalchemy import Select, and_, false, func, not_, or_, select, true
from sqlalchemy.orm import Session

from socialcare.core.clock import parse_fhir_datetime, utcnow
from socialcare.interop.fhir.base import FhirError, instant, to_json

DEFAULT_COUNT = 50
MAX_COUNT = 500  # documented in the CapabilityStatement and docs/interop.md
# result parameters every search accepts
CONTROL = {"_count", "_offset", "_summary", "_include", "_page", "_format", "_total"}
DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")


@dataclass(frozen=True)
class Param:
    """A search parameter one resource supports: its FHIR type and the modifiers it honours."""

    type: str  # token, string, reference, date, special
    modifiers: frozenset[str] = frozenset()


STRING_MODS = frozenset({"exact", "contains"})
TOKEN_MODS = frozenset({"not", "missing"})
REF_MODS = frozenset({"missing"})


@dataclass
class Criterion:
    name: str
    modifier: str | None
    values: list[str]  # OR'ed (comma-separated in the query)


@dataclass
class Query:
    criteria: list[Criterion] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    offset: int = 0
    summary_count: bool = False
    includes: list[str] = field(default_factory=list)
    page: tuple[str, int, int] | None = None  # ("after" | "before", source, id)
    used: list[tuple[str, str]] = field(default_factory=list)  # (name, value) honoured, for the links
    ignored: list[str] = field(default_factory=list)

    def all(self, name: str) -> list[Criterion]:
        return [c for c in self.criteria if c.name == name]


def split_or(value: str) -> list[str]:
    """Comma-separated OR values; ``\\,`` is a literal comma."""
    parts = re.split(r"(?<!\\),", value)
    return [p.replace("\\,", ",") for p in parts if p != ""]


def strict(request: Request) -> bool:
    prefer = request.headers.get("prefer", "")
    return any(p.strip().replace(" ", "") == "handling=strict" for p in prefer.replace(",", ";").split(";"))


def parse_query(pairs: list[tuple[str, str]], supported: dict[str, Param], rtype: str,
                includes: tuple[str, ...] = (), *, is_strict: bool = False) -> Query:
    """The criteria of a search on ``rtype``. Under ``Prefer: handling=strict`` an unknown parameter
    or modifier is refused with an OperationOutcome; otherwise it is ignored and left out of the
    Bundle's self link (so the client can see what was not applied)."""
    q = Query()

    def refuse(name: str, why: str) -> None:
        if is_strict:
            raise FhirError(f"{rtype} search: {why}", expression=name, code="not-supported")
        q.ignored.append(name)

    for raw_name, value in pairs:
        name, _, modifier = raw_name.partition(":")
        if name in CONTROL:
            _control(q, name, value, rtype, includes, refuse)
            continue
        param = supported.get(name)
        if param is None:
            refuse(raw_name, f"the parameter '{name}' is not supported (supported: {', '.join(sorted(supported))}).")
            continue
        if modifier and modifier not in param.modifiers:
            refuse(raw_name, f"the modifier ':{modifier}' is not supported on '{name}'.")
            continue
        values = split_or(value)
        if not values:
            continue
        q.criteria.append(Criterion(name, modifier or None, values))
        q.used.append((raw_name, value))
    return q


def _control(q: Query, name: str, value: str, rtype: str, includes, refuse) -> None:
    if name == "_count":
        if not value.isdigit():
            raise FhirError("_count is a whole number.", expression="_count")
        q.count = min(int(value), MAX_COUNT)  # a server may return fewer than asked
        return
    if name == "_offset":
        if not value.isdigit():
            raise FhirError("_offset is a whole number.", expression="_offset")
        q.offset = int(value)
        q.used.append((name, value))
        return
    if name == "_summary":
        if value == "count":
            q.summary_count = True
            q.used.append((name, value))
        elif value != "false":
            refuse("_summary", f"_summary={value} is not supported (count or false).")
        return
    if name == "_include":
        if value in includes:
            q.includes.append(value)
            q.used.append((name, value))
        else:
            refuse("_include", f"_include={value} is not supported ({', '.join(includes) or 'none'}).")
        return
    if name == "_page":
        m = re.fullmatch(r"(after|before)-(\d+)-(\d+)", value)
        if not m:
            raise FhirError("_page is a page position from a Bundle link.", expression="_page")
        q.page = (m.group(1), int(m.group(2)), int(m.group(3)))
        return
    if name == "_format":
        if "xml" in value:
            raise FhirError("This server speaks FHIR JSON only.", status_code=406, code="not-supported")
        return
    # _total: we always give the accurate total


# ---- criteria -> SQL ------------------------------------------------------------------------------


def _date_clause(col, prefix: str, start: datetime, end: datetime, is_date: bool):
    if is_date:  # a date column (birthDate): whole days, the last one partly covered included
        start_v = start.date()
        end_v = end.date() if end.time() == datetime.min.time() else end.date() + timedelta(days=1)
    else:
        start_v, end_v = start, end
    return {
        "eq": and_(col >= start_v, col < end_v), "ne": or_(col < start_v, col >= end_v),
        "gt": col >= end_v, "sa": col >= end_v, "ge": col >= start_v,
        "lt": col < start_v, "eb": col < start_v, "le": col < end_v,
    }[prefix]


def date_clause(col, crit: Criterion, *, is_date: bool = False):
    """One date criterion (OR of its values) against an instant column (or a date column)."""
    ors = []
    for v in crit.values:
        prefix, value = (v[:2], v[2:]) if v[:2] in DATE_PREFIXES + ("ap",) else ("eq", v)
        if prefix == "ap":
            raise FhirError(f"The prefix 'ap' is not supported on {crit.name}.", expression=crit.name,
                            code="not-supported")
        try:
            start, end = parse_fhir_datetime(value)
        except ValueError:
            raise FhirError(f"{crit.name}={v}: not a FHIR date, e.g. ge2026-03-01 or gt2026-03-01T10:00:00-05:00.",
                            expression=crit.name) from None
        ors.append(_date_clause(col, prefix, start, end, is_date))
    return or_(*ors)


def string_clause(cols: list, crit: Criterion):
    """FHIR string matching: starts-with, case-insensitive by default; ``:contains``; ``:exact``."""
    ors = []
    for v in crit.values:
        for col in cols:
            if crit.modifier == "exact":
                ors.append(col == v)
            elif crit.modifier == "contains":
                ors.append(func.lower(col).contains(v.lower(), autoescape=True))
            else:
                ors.append(func.lower(col).startswith(v.lower(), autoescape=True))
    return or_(*ors)


def token_clause(col, crit: Criterion, *, system: str | None = None, mapping: Callable[[str], object] | None = None):
    """A token criterion on a code column: ``code``, ``system|code`` (system must be ``system`` when
    given), ``|code``; ``:not`` negates; ``:missing`` tests for a value."""
    if crit.modifier == "missing":
        return col.is_(None) if crit.values[0] == "true" else col.is_not(None)
    codes = []
    for v in crit.values:
        sys_, bar, code = v.rpartition("|")
        if bar and sys_ and system is not None and sys_ != system:
            continue  # another code system: matches nothing here
        codes.append(mapping(code) if mapping else code)
    clause = col.in_(codes) if codes else false()
    return not_(clause) | col.is_(None) if crit.modifier == "not" else clause


def ids_clause(col, values: list, resolve: Callable[[str], int | None]):
    ids = [i for i in (resolve(v) for v in values) if i is not None]
    return col.in_(ids) if ids else false()


# ---- paging -----------------------------------------------------------------------------------


@dataclass
class Source:
    """One part of a result: a filtered SELECT of rows, their id column, and how to render them."""

    stmt: Select
    id_col: object
    render: Callable[[list], list[dict]]


@dataclass
class Page:
    resources: list[dict]
    total: int
    rows: list = field(default_factory=list)
    first: tuple[int, int] | None = None
    last: tuple[int, int] | None = None
    has_next: bool = False
    has_prev: bool = False


def _count(db: Session, stmt: Select) -> int:
    return db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def _exists(db: Session, stmt: Select) -> bool:
    return db.scalar(select(stmt.order_by(None).limit(1).exists())) or False


def run(db: Session, sources: list[Source], q: Query) -> Page:
    """The page of the concatenated sources the query asks for, with its total."""
    total = sum(_count(db, s.stmt) for s in sources)
    if q.summary_count or q.count == 0:
        return Page([], total)
    direction, g, i = q.page or ("after", -1, 0)

    def after(tag: int, s: Source) -> Select | None:
        if tag < g:
            return None
        return s.stmt.where(s.id_col > i) if tag == g else s.stmt

    def before(tag: int, s: Source) -> Select | None:
        if tag > g:
            return None
        return s.stmt.where(s.id_col < i) if tag == g else s.stmt

    picked: list[tuple[int, object]] = []
    if direction == "after":
        skip = q.offset
        for tag, s in enumerate(sources):
            stmt = after(tag, s)
            if stmt is None or len(picked) >= q.count:
                continue
            if skip:
                n = _count(db, stmt)
                if n <= skip:
                    skip -= n
                    continue
            rows = db.scalars(stmt.order_by(s.id_col).offset(skip).limit(q.count - len(picked))).all()
            skip = 0
            picked += [(tag, r) for r in rows]
    else:
        for tag in reversed(range(len(sources))):
            s = sources[tag]
            stmt = before(tag, s)
            if stmt is None or len(picked) >= q.count:
                continue
            rows = db.scalars(stmt.order_by(s.id_col.desc()).limit(q.count - len(picked))).all()
            picked = [(tag, r) for r in reversed(rows)] + picked
    page = Page([], total, [r for _, r in picked])
    if not picked:
        page.has_prev = q.page is not None or q.offset > 0
        return page
    key = [(tag, r.id) for tag, r in picked]
    page.first, page.last = key[0], key[-1]
    lt, li = page.last
    ft, fi = page.first
    page.has_next = any(
        _exists(db, s.stmt.where(s.id_col > li) if tag == lt else s.stmt) for tag, s in enumerate(sources) if tag >= lt)
    page.has_prev = any(
        _exists(db, s.stmt.where(s.id_col < fi) if tag == ft else s.stmt) for tag, s in enumerate(sources) if tag <= ft)
    for tag, s in enumerate(sources):
        mine = [r for t, r in picked if t == tag]
        if mine:
            rendered = iter(s.render(mine))
            for n, (t, _r) in enumerate(picked):
                if t == tag:
                    picked[n] = (t, next(rendered))
    page.resources = [r for _, r in picked]
    return page


def empty_source(model, id_col) -> Source:
    return Source(select(model).where(false()), id_col, lambda rows: [])


def match_all(*clauses):
    return and_(true(), *clauses)


# ---- the searchset Bundle --------------------------------------------------------------------


def _url(request: Request, pairs: list[tuple[str, str]]) -> str:
    base = str(request.base_url).rstrip("/") + request.url.path
    return f"{base}?{urlencode(pairs)}" if pairs else base


def bundle(request: Request, q: Query, page: Page, includes: list[dict] | None = None) -> dict:
    base = str(request.base_url).rstrip("/") + "/fhir"
    common = [p for p in q.used if p[0] != "_offset"] + [("_count", str(q.count))]
    links = [{"relation": "self", "url": _url(request, q.used + [("_count", str(q.count))] + (
        [("_page", f"{q.page[0]}-{q.page[1]}-{q.page[2]}")] if q.page else []))}]
    if not q.summary_count and q.count:
        links.append({"relation": "first", "url": _url(request, common)})
        if page.has_prev and page.first:
            links.append({"relation": "previous",
                          "url": _url(request, common + [("_page", f"before-{page.first[0]}-{page.first[1]}")])})
        if page.has_next and page.last:
            links.append({"relation": "next",
                          "url": _url(request, common + [("_page", f"after-{page.last[0]}-{page.last[1]}")])})
    entries = [{"fullUrl": f"{base}/{e['resourceType']}/{e['id']}", "resource": e, "search": {"mode": "match"}}
               for e in page.resources]
    entries += [{"fullUrl": f"{base}/{e['resourceType']}/{e['id']}", "resource": e, "search": {"mode": "include"}}
                for e in includes or []]
    # meta.lastUpdated is when the search ran: a poller's next _lastUpdated=gt... starts there
    b = {"resourceType": "Bundle", "type": "searchset", "total": page.total,
         "meta": {"lastUpdated": instant(utcnow())}, "link": links}
    if entries:
        b["entry"] = entries
    return to_json(b)
