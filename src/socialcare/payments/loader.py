"""Reading terms and facts files. Every problem names the file, the row (CSV row, YAML line) and the
field; all problems are collected and nothing is settled unless every input passes.

- Terms: YAML (or JSON) in the format of ``schemas.PaymentTerms``.
- Delivered services: CSV, one row per service: member_id, service_code, service_date (YYYY-MM-DD),
  units (a positive whole number), optional modifiers, diagnosis, place_of_service. Read with
  pyarrow and validated column-wise (on the distinct values), so a million rows take well under a
  second. Row numbers count the header as row 1.
- Other facts: YAML or JSON (``OtherFacts``), one or more files merged; a section in two files is refused.

Numbers in YAML/JSON are read as Decimal (``8.50`` stays exactly 8.50): money never passes through a float.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from socialcare.core.errors import InvalidInput, Problem
from socialcare.payments.schemas import (
    CODE_RE,
    MONTH_RE,
    Dec,
    Money,
    PaymentTerms,
    PosMoney,
    TermId,
    TermsProblems,
)

# ---- YAML with Decimal numbers and line numbers ----------------------------------------------


class _Loader(yaml.SafeLoader):
    pass


def _decimal_scalar(loader, node):
    text = loader.construct_scalar(node).replace("_", "")
    if text.lower() in (".inf", "-.inf", "+.inf", ".nan"):
        raise yaml.constructor.ConstructorError(None, None, f"not a finite number: {text}", node.start_mark)
    return Decimal(text)


_Loader.add_constructor("tag:yaml.org,2002:float", _decimal_scalar)


def _yaml(text: str, file: str) -> tuple[Any, Any]:
    """(data, node tree) or InvalidInput naming the line."""
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InvalidInput(f"{file} is not valid YAML", [Problem(
            f"not valid YAML: {getattr(exc, 'problem', None) or exc}", file=file,
            row=mark.line + 1 if mark else None)]) from None
    return data, node


def _line(node, loc: tuple) -> int | None:
    """The line of the deepest node the location reaches (1-based)."""
    if node is None:
        return None
    best = node.start_mark.line + 1
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == str(key)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            node = None
        if node is None:
            break
        best = node.start_mark.line + 1
    return best


def _field(loc: tuple) -> str:
    out = ""
    for k in loc:
        out += f"[{k}]" if isinstance(k, int) else (("." if out else "") + str(k))
    return out


def _clean(loc: tuple, data: Any) -> tuple:
    """Drop the union tag pydantic puts in a location (terms.0.fee_for_service.rate -> terms.0.rate)."""
    out = []
    for i, k in enumerate(loc):
        if i >= 2 and loc[i - 2] == "terms" and isinstance(loc[i - 1], int) and isinstance(k, str):
            term = (data.get("terms") or [None] * (loc[i - 1] + 1))[loc[i - 1]] if isinstance(data, dict) else None
            if isinstance(term, dict) and term.get("model") == k:
                continue
        if isinstance(k, str) and k.startswith("function-"):
            continue
        out.append(k)
    return tuple(out)


def _problems(exc: ValidationError, data: Any, node: Any, file: str, prefix: tuple = (),
              shorthand: bool = False) -> list[Problem]:
    problems: list[Problem] = []
    for err in exc.errors():
        inner = (err.get("ctx") or {}).get("error")
        base = _clean(tuple(err["loc"]), data)
        if isinstance(inner, TermsProblems):
            items = [(base + tuple(loc), msg) for loc, msg in inner.problems]
        else:
            msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown field (check the spelling; see docs/payments.md)"
            elif err["type"] == "union_tag_invalid":
                msg = f"unknown model {err.get('input', {}).get('model')!r}" if isinstance(
                    err.get("input"), dict) else msg
            items = [(base, msg)]
        for loc, msg in items:
            node_loc = loc[2:] if shorthand and loc[:2] == ("terms", 0) else loc
            shown = node_loc if shorthand else loc
            problems.append(Problem(msg, field=_field(prefix + shown) or None, row=_line(node, prefix + node_loc),
                                    file=file))
    return problems


# ---- terms ---------------------------------------------------------------------------------


def parse_terms_text(text: str, file: str = "payment terms") -> PaymentTerms:
    data, node = _yaml(text, file)
    if not isinstance(data, dict):
        raise InvalidInput(f"{file}: payment terms are a YAML mapping",
                           [Problem("payment terms are a YAML mapping with 'terms:' (or one 'model:')", file=file)])
    shorthand = "model" in data and "terms" not in data
    if shorthand:
        top = {k: data[k] for k in ("version", "contract", "plan", "partner", "rate_decimals", "billing") if k in data}
        term = {k: v for k, v in data.items() if k not in top}
        term.setdefault("id", str(term.get("model", "term")))
        data = {**top, "terms": [term]}
    try:
        return PaymentTerms.model_validate(data)
    except ValidationError as exc:
        problems = _problems(exc, data, node, file, shorthand=shorthand)
        raise InvalidInput(f"The payment terms in {file} were refused", problems) from None


def load_terms(path: str | Path) -> PaymentTerms:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read {p}", [Problem(str(exc.strerror or exc), file=str(p))]) from None
    return parse_terms_text(text, str(p))


# ---- other facts ---------------------------------------------------------------------------


class _F(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Episode(_F):
    episode_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    term: TermId
    start: date
    kind: Literal["initial", "renewal"] = "initial"
    approved: bool | None = None


class PenaltyOccurrence(_F):
    term: TermId
    date: date
    measure: str = ""
    description: str = ""


class TcocFigures(BaseModel):
    """Total cost of care for the attributed population (socialcare.analytics.savings.tcoc_facts gives these)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    projected_tcoc: Money
    actual_tcoc: Money
    quality_metrics_met: int | None = Field(None, ge=0)
    member_months: int | None = Field(None, ge=0)


class Disbursement(_F):
    term: TermId | None = None  # may be left out when the contract has one flex_funds term
    member_id: str = Field(min_length=1)
    date: date
    category: str
    amount: PosMoney
    request_id: str = ""


class MemberInfo(_F):
    last_name: str = Field(min_length=1, max_length=60)
    first_name: str = Field("", max_length=35)
    birth_date: date
    sex: Literal["F", "M", "U"] = "U"
    address: str = Field("", max_length=55)
    city: str = Field("", max_length=30)
    state: str = Field("", pattern=r"^([A-Z]{2})?$")
    zip: str = Field("", pattern=r"^(\d{5}|\d{9})?$")
    diagnosis: str | None = Field(None, pattern=r"^[A-Z][0-9][0-9A-Z]{1,5}$")


NonNegInt = Annotated[int, Field(ge=0)]


def _count(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int | Decimal | str):
        raise ValueError(f"{what} must be a whole number")
    try:
        d = Decimal(str(v).strip())
    except ArithmeticError:
        raise ValueError(f"{what} must be a whole number") from None
    if d != d.to_integral_value():
        raise ValueError(f"{what} must be a whole number")
    if d < 0:
        raise ValueError(f"{what} must not be negative")
    return int(d)


def _member_months(v: Any) -> int | dict[str, int]:
    """A number for the period, or {YYYY-MM: number} by month."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if not MONTH_RE.match(str(k)):
                raise ValueError(f"'{k}' is not a month (YYYY-MM)")
            out[str(k)] = _count(x, "member-months")
        return out
    return _count(v, "member-months")


class RecoupState(_F):
    balance: Money | None = None  # upfront not yet recouped
    shortfall: Money = Decimal("0.00")  # scheduled recoupment not yet taken


class FlexState(_F):
    year: str = ""  # the program year these amounts are for ("" when limits never restart)
    program_used: Money = Decimal("0.00")
    members: dict[str, Money] = Field(default_factory=dict)


class HybridMonth(_F):
    ffs: Money = Decimal("0.00")
    capitation: Money = Decimal("0.00")
    supplement: Money = Decimal("0.00")


class Carried(_F):
    """State one settlement hands to the next (the ledger keeps it on each stored statement; in a
    what-if calculation it can be typed in as the ``carried`` section)."""

    recoupment: dict[TermId, RecoupState] = Field(default_factory=dict)
    penalties: dict[TermId, dict[str, NonNegInt]] = Field(default_factory=dict)  # occurrences so far, by key
    units: dict[TermId, dict[str, dict[str, NonNegInt]]] = Field(default_factory=dict)  # code -> bucket -> units
    hybrid: dict[TermId, dict[str, HybridMonth]] = Field(default_factory=dict)  # month -> month to date
    flex: dict[TermId, FlexState] = Field(default_factory=dict)


class OtherFacts(_F):
    member_months: dict[TermId, Annotated[Any, BeforeValidator(_member_months)]] = Field(default_factory=dict)
    episodes: list[Episode] = Field(default_factory=list)
    engagements: dict[TermId, NonNegInt] = Field(default_factory=dict)
    pathway_completions: dict[TermId, dict[str, NonNegInt]] = Field(default_factory=dict)
    metrics: dict[str, Dec] = Field(default_factory=dict)
    penalty_occurrences: list[PenaltyOccurrence] = Field(default_factory=list)
    tcoc: dict[TermId, TcocFigures] = Field(default_factory=dict)
    disbursements: list[Disbursement] = Field(default_factory=list)
    joc_hours: dict[TermId, Annotated[Decimal, Field(ge=0)]] = Field(default_factory=dict)
    members: dict[str, MemberInfo] = Field(default_factory=dict)
    carried: Carried | None = None
    upstream: dict[TermId, Money] = Field(default_factory=dict)  # what the plan paid the hub, by hub term
    upstream_units: dict[str, NonNegInt] = Field(default_factory=dict)  # the whole network's units, by code


SECTIONS = tuple(OtherFacts.model_fields)


@dataclass
class Facts:
    """A period's facts: delivered services (an Arrow table) and everything else (OtherFacts).

    ``sources`` says which file each section came from (for error messages); ``lines`` maps
    (section, key/index) to the line in that file.
    """

    other: OtherFacts = field(default_factory=OtherFacts)
    services: pa.Table | None = None
    services_file: str = "services"
    sources: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, Any] = field(default_factory=dict)

    def where(self, section: str, *loc) -> tuple[str, int | None]:
        file = self.sources.get(section, "facts")
        return file, _line(self.nodes.get(section), loc) if section in self.nodes else None

    def problem(self, message: str, section: str, *loc) -> Problem:
        file, row = self.where(section, *loc)
        return Problem(message, field=_field((section, *loc)), row=row, file=file)


def parse_other_facts(text: str, file: str) -> tuple[dict, Any]:
    data, node = _yaml(text, file)
    if data is None:
        return {}, node
    if not isinstance(data, dict):
        raise InvalidInput(f"{file}: facts are a mapping", [Problem("facts are a mapping of sections", file=file)])
    unknown = [k for k in data if k not in SECTIONS]
    if unknown:
        raise InvalidInput(f"The facts in {file} were refused", [
            Problem(f"unknown section (known: {', '.join(SECTIONS)})", field=str(k), file=file,
                    row=_line(node, (k,))) for k in unknown])
    return data, node


def build_facts(other_docs: list[tuple[str, str]], services: list[tuple[str, bytes]]) -> Facts:
    """Facts from (file name, text) YAML/JSON documents and (file name, CSV bytes) service files."""
    merged: dict = {}
    sources: dict[str, str] = {}
    nodes: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, text in other_docs:
        try:
            data, node = parse_other_facts(text, name)
        except InvalidInput as exc:
            problems += exc.problems
            continue
        for section, value in data.items():
            if section in merged:
                problems.append(Problem(f"also given in {sources[section]}", field=section, file=name,
                                        row=_line(node, (section,))))
                continue
            merged[section] = value
            sources[section] = name
            nodes[section] = next((v for k, v in node.value if k.value == section), None)
    other = OtherFacts()
    if not problems:
        try:
            other = OtherFacts.model_validate(merged)
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(err["loc"])
                section = loc[0] if loc else ""
                msg = err["msg"].removeprefix("Value error, ")
                if err["type"] == "extra_forbidden":
                    msg = "unknown field"
                problems.append(Problem(msg, field=_field(loc), row=_line(nodes.get(section), loc[1:]),
                                        file=sources.get(section, "facts")))
    tables = []
    files = []
    for name, raw in services:
        try:
            tables.append(read_services(raw, name))
            files.append(name)
        except InvalidInput as exc:
            problems += exc.problems
    if problems:
        raise InvalidInput("The facts were refused; nothing was settled", problems)
    table = None
    if len(tables) == 1:
        table = tables[0]
    elif tables:
        if len({tuple(t.schema.names) for t in tables}) > 1:
            common = [n for n in tables[0].schema.names if all(n in t.schema.names for t in tables)]
            tables = [t.select(common) for t in tables]
        table = pa.concat_tables(tables)
    return Facts(other=other, services=table, services_file=", ".join(files) or "services",
                 sources=sources, nodes=nodes)


def load_facts(paths: list[str | Path]) -> Facts:
    """Facts from files: *.csv are delivered services, *.yaml/*.yml/*.json the other facts."""
    docs: list[tuple[str, str]] = []
    services: list[tuple[str, bytes]] = []
    problems: list[Problem] = []
    for path in paths:
        p = Path(path)
        try:
            if p.suffix.lower() == ".csv":
                services.append((str(p), p.read_bytes()))
            elif p.suffix.lower() in (".yaml", ".yml", ".json"):
                docs.append((str(p), p.read_text(encoding="utf-8")))
            else:
                problems.append(Problem("facts are .csv (delivered services) or .yaml/.json", file=str(p)))
        except OSError as exc:
            problems.append(Problem(f"cannot read: {exc.strerror or exc}", file=str(p)))
    if problems:
        raise InvalidInput("The facts were refused; nothing was settled", problems)
    return build_facts(docs, services)


# ---- delivered services (CSV) --------------------------------------------------------------

REQUIRED = ("member_id", "service_code", "service_date", "units")
OPTIONAL = ("modifiers", "diagnosis", "place_of_service", "service_id")
MAX_ROWS_SHOWN = 20
_CODE = re.compile(CODE_RE)
_UNITS = re.compile(r"^\s*[+-]?\d+\s*$")


def _rows_where(mask) -> tuple[list[int], int]:
    """(first CSV row numbers where mask holds, how many in all); the header is row 1."""
    idx = pc.indices_nonzero(pc.fill_null(mask, True))
    return [int(i) + 2 for i in idx.slice(0, MAX_ROWS_SHOWN).to_pylist()], len(idx)


def _bad_rows(problems: list[Problem], mask, file: str, column: str, message) -> None:
    rows, n = _rows_where(mask)
    for r in rows[:MAX_ROWS_SHOWN]:
        problems.append(Problem(message(r) if callable(message) else message, field=column, row=r, file=file))
    if n > MAX_ROWS_SHOWN:
        problems.append(Problem(f"... and {n - MAX_ROWS_SHOWN:,} more rows with the same problem", field=column,
                                file=file))


def _bad_values(col: pa.ChunkedArray, ok) -> list[str]:
    """Distinct values for which ok(value) is False (validation runs on the distinct values only)."""
    return [v for v in pc.unique(col).to_pylist() if v is None or not ok(v)]


def _is_date(s: str) -> bool:
    try:
        return len(s) == 10 and date.fromisoformat(s) is not None
    except ValueError:
        return False


def read_services(source: bytes | str | Path, file: str = "services.csv") -> pa.Table:
    """Delivered services CSV -> Arrow table (member_id, service_code, service_date date32, units int64, ...)."""
    raw = Path(source).read_bytes() if isinstance(source, Path) else (
        source.encode() if isinstance(source, str) else source)
    first = raw.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").strip()
    if not first:
        raise InvalidInput(f"{file} is empty", [Problem("the file needs a header row", file=file, row=1)])
    names = [n.strip() for n in next(csv.reader([first]))]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise InvalidInput(f"{file} misses columns", [Problem(f"missing column (needed: {', '.join(REQUIRED)})",
                                                              field=c, row=1, file=file) for c in missing])
    try:
        table = pacsv.read_csv(
            io.BytesIO(raw),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except pa.ArrowInvalid as exc:
        raise InvalidInput(f"{file} is not a readable CSV", [Problem(str(exc), file=file)]) from None
    problems: list[Problem] = []
    cols = {n: pc.utf8_trim_whitespace(table[n]) for n in REQUIRED}
    _bad_rows(problems, pc.equal(cols["member_id"], ""), file, "member_id", "member_id is empty")
    bad = _bad_values(cols["service_code"], lambda v: bool(_CODE.match(v)))
    if bad:
        _bad_rows(problems, pc.is_in(cols["service_code"], pa.array(bad, pa.string())), file, "service_code",
                  "not a service code (letters and digits, e.g. S5170)")
    bad = _bad_values(cols["service_date"], _is_date)
    if bad:
        _bad_rows(problems, pc.is_in(cols["service_date"], pa.array(bad, pa.string())), file, "service_date",
                  "not a date (YYYY-MM-DD)")
    bad_units = _bad_values(cols["units"], lambda v: bool(_UNITS.match(v)) and int(v) > 0)
    if bad_units:
        malformed = [v for v in bad_units if not _UNITS.match(v or "")]
        negative = [v for v in bad_units if _UNITS.match(v or "") and int(v) < 0]
        zero = [v for v in bad_units if _UNITS.match(v or "") and int(v) == 0]
        for vals, msg in ((malformed, "units must be a whole number"), (negative, "units must not be negative"),
                          (zero, "units must be at least 1")):
            if vals:
                _bad_rows(problems, pc.is_in(cols["units"], pa.array(vals, pa.string())), file, "units", msg)
    if problems:
        problems.sort(key=lambda p: (p.row is None, p.row or 0))
        raise InvalidInput(f"{file} has rows that cannot be settled; nothing was settled", problems)
    out = {
        "member_id": cols["member_id"],
        "service_code": cols["service_code"],
        "service_date": pc.cast(cols["service_date"], pa.date32()),
        "units": pc.cast(cols["units"], pa.int64()),
    }
    for n in OPTIONAL:
        if n in names:
            out[n] = pc.utf8_trim_whitespace(table[n])
    return pa.table(out)
