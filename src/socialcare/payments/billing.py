"""Billing outputs of a settlement (standards.md section 5.4, invoice vs claim).

- Invoice: the statement's paid lines, aggregated (counts per service, as MARC billed in its first
  phase), plus every non-service payment (installments, capitation, bonuses...). ``invoice_csv``.
- Claims: member-level service lines (MARC's later phase): every delivered service in the period
  billed under a fee schedule, at its fee, and every paid case-rate episode. Claims are also the
  encounter data the plan reports, so they list what was delivered; caps and minimum guarantees
  are applied in settlement, not on the claims. ``claims_csv`` and ``claims_837p`` (X12
  005010X222A1, validated with pyx12 in the tests).

Which one a contract uses is ``billing.mode`` in its terms.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from socialcare.core.errors import InvalidInput, Problem
from socialcare.core.money import ZERO, cents
from socialcare.payments import schemas as s
from socialcare.payments.loader import Facts
from socialcare.payments.rules import Period, Statement

MAX_LINES_PER_CLAIM = 50  # 837P loop 2400 repeats at most 50 times


# ---- invoice ---------------------------------------------------------------------------------


def invoice_lines(statement: Statement) -> list[dict]:
    """One row per paid statement line: service lines carry their count and rate."""
    rows = []
    for ln in statement.lines:
        if not ln.paid or (ln.amount == 0 and ln.units is None):
            continue
        rows.append({"term_id": ln.term_id, "month": ln.month or "", "service_code": ln.service_code or "",
                     "description": ln.description if ln.service_code else f"{ln.component}: {ln.description}", "quantity": "" if ln.units is None
                     else ln.units, "rate": "" if ln.rate is None else str(ln.rate), "amount": str(ln.amount),
                     "mlr": ln.mlr})
    return rows


def invoice_csv(statement: Statement) -> str:
    out = io.StringIO()
    cols = ["term_id", "month", "service_code", "description", "quantity", "rate", "amount", "mlr"]
    w = csv.DictWriter(out, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    w.writerows(invoice_lines(statement))
    w.writerow({"description": f"TOTAL for {statement.period}", "amount": str(statement.total)})
    return out.getvalue()


# ---- member-level claim lines ----------------------------------------------------------------


@dataclass(frozen=True)
class ClaimLine:
    claim_id: str
    member_id: str
    service_code: str
    modifiers: tuple[str, ...]
    service_date: date
    units: int
    rate: Decimal
    charge: Decimal
    diagnosis: str
    term_id: str


def claim_lines(terms: s.PaymentTerms, facts: Facts, period: Period | str) -> list[ClaimLine]:
    """Member-level lines for the period, grouped into claims of one member and one month (split at
    50 lines). Deterministic order: member, date, code."""
    if isinstance(period, str):
        period = Period.parse(period)
    fees: dict[str, list[tuple[s.FeeLine, object]]] = defaultdict(list)
    for t in terms.terms:
        if isinstance(t, s.FeeForService | s.HybridFfsCapitation):
            for f in t.fee_schedule:
                fees[f.service_code].append((f, t))
    raw: list[tuple] = []
    tb = facts.services
    if tb is not None and tb.num_rows:
        import pyarrow as pa
        import pyarrow.compute as pc

        lo, hi = pa.scalar(period.start, pa.date32()), pa.scalar(period.end, pa.date32())
        tb = tb.filter(pc.and_(pc.and_(pc.greater_equal(tb["service_date"], lo), pc.less_equal(tb["service_date"], hi)),
                               pc.is_in(tb["service_code"], pa.array(list(fees), pa.string()))))
        cols = {c: tb[c].to_pylist() for c in ("member_id", "service_code", "service_date", "units")}
        mods = tb["modifiers"].to_pylist() if "modifiers" in tb.column_names else [""] * tb.num_rows
        dx = tb["diagnosis"].to_pylist() if "diagnosis" in tb.column_names else [""] * tb.num_rows
        for m, c, d, u, md, x in zip(cols["member_id"], cols["service_code"], cols["service_date"], cols["units"],
                                     mods, dx, strict=True):
            match = next(((f, t) for f, t in fees[c] if t.active_on(d) and f.active_on(d)), None)
            if match is None:
                continue
            f, t = match
            row_mods = tuple(x for x in (md or "").replace(",", ":").split(":") if x) or tuple(f.modifiers)
            raw.append((m, d, c, row_mods, u, f.rate, (x or "").replace(".", ""), t.id))
    for t in terms.terms:
        if isinstance(t, s.Bundled):
            rate = t.episode_rate
            for e in facts.other.episodes:
                if e.term == t.id and e.start in period and (e.approved or (e.kind == "initial" and e.approved is None)):
                    r = rate if e.kind == "initial" else (t.renewal_rate or rate)
                    raw.append((e.member_id, e.start, t.billing_code, (), 1, r, "", t.id))
    raw.sort(key=lambda r: (r[0], r[1], r[2]))
    out: list[ClaimLine] = []
    count: dict[tuple, int] = defaultdict(int)
    default_dx = terms.billing.diagnosis
    for m, d, c, mods, u, rate, dx, tid in raw:
        month = d.strftime("%Y%m")
        n = count[(m, month)]
        count[(m, month)] += 1
        suffix = f"-{n // MAX_LINES_PER_CLAIM + 1}" if n >= MAX_LINES_PER_CLAIM else ""
        member_dx = facts.other.members[m].diagnosis if m in facts.other.members else None
        out.append(ClaimLine(f"{m}-{month}{suffix}"[:38], m, c, mods, d, u, rate, cents(u * rate),
                             dx or member_dx or default_dx, tid))
    return out


def claims_csv(lines: list[ClaimLine]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["claim_id", "member_id", "service_code", "modifiers", "service_date", "units", "rate", "charge",
                "diagnosis", "term_id"])
    for ln in lines:
        w.writerow([ln.claim_id, ln.member_id, ln.service_code, ":".join(ln.modifiers), ln.service_date.isoformat(),
                    ln.units, ln.rate, ln.charge, ln.diagnosis, ln.term_id])
    return out.getvalue()


# ---- X12 837P --------------------------------------------------------------------------------


def _x(v: object) -> str:
    """X12-safe text: upper case, no delimiters."""
    return "".join(ch for ch in str(v).upper() if ch not in "*~:^").strip()


def _amt(v: Decimal) -> str:
    v = cents(v)
    return f"{v:f}".rstrip("0").rstrip(".") if "." in f"{v:f}" else f"{v:f}"


def claims_837p(terms: s.PaymentTerms, facts: Facts, period: Period | str, *, control_number: int = 1,
                created: datetime | None = None, now: datetime | None = None, only_claims: set[str] | None = None,
                replaces: dict[str, str] | None = None) -> str:
    """An X12 837P (005010X222A1) with one claim per member per month. Deterministic: the creation
    time defaults to the day after the period ends (or now, when that is still to come); the
    interchange, group and transaction control numbers are ``control_number`` (the ledger hands out
    unique, increasing numbers per submitter). ``only_claims`` keeps some claims (a resubmission);
    ``replaces`` maps a claim id to the claim it corrects (frequency code 7 with REF*F8)."""
    if isinstance(period, str):
        period = Period.parse(period)
    now = now or datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)
    if created is not None and created > now:
        raise InvalidInput("An 837P's creation date cannot be in the future", [Problem(
            f"{created:%Y-%m-%d %H:%M} is after now", field="created")])
    created = created or min(datetime.combine(period.end + timedelta(days=1), time(0, 0)), now)
    b = terms.billing
    missing = [n for n in ("submitter", "receiver", "payer", "billing_provider") if getattr(b, n) is None]
    if missing:
        raise InvalidInput("An 837P needs the billing parties in the terms", [
            Problem("needed for claims (see docs/payments.md, billing)", field=f"billing.{n}") for n in missing])
    lines = claim_lines(terms, facts, period)
    if only_claims is not None:
        lines = [ln for ln in lines if ln.claim_id in only_claims]
    if not lines:
        raise InvalidInput("There is nothing to claim", [Problem(
            f"no services billed under a fee schedule or case rate were delivered in {period}", field="services")])
    problems = []
    for m in sorted({ln.member_id for ln in lines}):
        info = facts.other.members.get(m)
        if info is None:
            problems.append(Problem("the member's name, birth date and sex are needed on a claim",
                                    field=f"members.{m}", file=facts.sources.get("members", "facts")))
        elif not (info.address and info.city and info.state and info.zip):
            problems.append(Problem(f"member {m} ({info.first_name} {info.last_name}) has no complete address "
                                    "(street, city, state, ZIP): the subscriber's address is required when the "
                                    "subscriber is the patient", field=f"members.{m}.address",
                                    file=facts.sources.get("members", "facts")))
    bp = b.billing_provider
    if not bp.contact_phone or not bp.contact_phone.strip("0"):
        problems.append(Problem("the billing contact's phone is needed on an 837P (payers call it about claims)",
                                field="billing.billing_provider.contact_phone"))
    if problems:
        raise InvalidInput("The claims could not be written", problems)
    ctl = f"{control_number:09d}"
    st_ctl = f"{control_number:04d}"
    seg: list[str] = []
    add = seg.append
    add(f"ISA*00*{'':10}*00*{'':10}*ZZ*{_x(b.submitter.id):<15}*ZZ*{_x(b.receiver.id):<15}*"
        f"{created:%y%m%d}*{created:%H%M}*^*00501*{ctl}*0*{b.usage}*:")
    add(f"GS*HC*{_x(b.submitter.id)}*{_x(b.receiver.id)}*{created:%Y%m%d}*{created:%H%M}*{control_number}*X*"
        "005010X222A1")
    st_start = len(seg)
    add(f"ST*837*{st_ctl}*005010X222A1")
    add(f"BHT*0019*00*{ctl}*{created:%Y%m%d}*{created:%H%M}*CH")
    add(f"NM1*41*2*{_x(b.submitter.name)}*****46*{_x(b.submitter.id)}")
    add(f"PER*IC*{_x(bp.contact_name)}*TE*{bp.contact_phone}")
    add(f"NM1*40*2*{_x(b.receiver.name)}*****46*{_x(b.receiver.id)}")
    add("HL*1**20*1")
    add(f"PRV*BI*PXC*{bp.taxonomy}")
    add(f"NM1*85*2*{_x(bp.name)}*****XX*{bp.npi}")
    add(f"N3*{_x(bp.address)}")
    add(f"N4*{_x(bp.city)}*{bp.state}*{bp.zip}")
    add(f"REF*EI*{bp.ein}")
    claims: dict[str, list[ClaimLine]] = {}
    for ln in lines:
        claims.setdefault(ln.claim_id, []).append(ln)
    by_member: dict[str, list[str]] = {}
    for cid, cl in claims.items():
        by_member.setdefault(cl[0].member_id, []).append(cid)
    hl = 1
    for member in sorted(by_member):
        info = facts.other.members[member]
        hl += 1
        add(f"HL*{hl}*1*22*0")
        add(f"SBR*P*18*******{b.claim_filing}")
        add(f"NM1*IL*1*{_x(info.last_name)}*{_x(info.first_name)}****MI*{_x(member)}")
        add(f"N3*{_x(info.address)}")
        add(f"N4*{_x(info.city)}*{info.state}*{info.zip}")
        add(f"DMG*D8*{info.birth_date:%Y%m%d}*{info.sex}")
        add(f"NM1*PR*2*{_x(b.payer.name)}*****PI*{_x(b.payer.id)}")
        for cid in by_member[member]:
            cl = claims[cid]
            total = sum((c.charge for c in cl), ZERO)
            freq = "7" if replaces and cid in replaces else "1"
            add(f"CLM*{_x(cid)}*{_amt(total)}***{b.place_of_service}:B:{freq}*Y*A*Y*Y")
            if freq == "7":
                add(f"REF*F8*{_x(replaces[cid])}")
            dxs: list[str] = []
            for c in cl:
                if c.diagnosis not in dxs:
                    dxs.append(c.diagnosis)
            dxs = dxs[:12]
            add("HI*" + "*".join(f"{'ABK' if i == 0 else 'ABF'}:{d}" for i, d in enumerate(dxs)))
            for i, c in enumerate(cl, 1):
                proc = ":".join(["HC", c.service_code, *c.modifiers])
                ptr = dxs.index(c.diagnosis) + 1 if c.diagnosis in dxs else 1
                add(f"LX*{i}")
                add(f"SV1*{proc}*{_amt(c.charge)}*UN*{c.units}***{ptr}")
                add(f"DTP*472*D8*{c.service_date:%Y%m%d}")
    add(f"SE*{len(seg) - st_start + 1}*{st_ctl}")
    add(f"GE*1*{control_number}")
    add(f"IEA*1*{ctl}")
    return "~\n".join(seg) + "~\n"


def validate_837p(text: str) -> list[str]:
    """pyx12's x12n validation: the error messages (empty when the file is valid)."""
    import logging

    import pyx12.params
    import pyx12.x12n_document

    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    param = pyx12.params.params()
    fd_997, fd_json = io.StringIO(), io.StringIO()
    ok = pyx12.x12n_document.x12n_document(param, io.StringIO(text), fd_997, None, None, fd_json)
    raw = fd_json.getvalue().strip()
    errors: list[str] = []
    if raw:
        import json

        _collect(json.loads(raw), errors)
    if not ok and not errors:
        errors = ["pyx12 rejected the file"]
    return errors


def _collect(node, out: list[str]) -> None:
    """Every non-empty 'errors' entry and every rejected acknowledgement in pyx12's JSON report."""
    if isinstance(node, list):
        for x in node:
            _collect(x, out)
    elif isinstance(node, dict):
        for k, v in node.items():
            if k == "errors" and v:
                out += [str(e) for e in v]
            elif k == "ack_code" and v not in ("A", None):
                out.append(f"acknowledgement {v} at line {node.get('cur_line')}")
            elif isinstance(v, list | dict):
                _collect(v, out)


def x12_edits(text: str, *, today: date | None = None) -> list[str]:
    """Our own 005010X222A1 edits, for errors pyx12 lets through: every NPI's check digit (NM1 ... XX),
    CLM02 equal to the sum of its SV102 lines, matching envelope control numbers and segment count,
    a creation date not in the future, a subscriber address, a billing contact phone that is not zeros."""
    from socialcare.kit.codes import npi_valid

    today = today or datetime.now(UTC).date()
    segs = [x.strip() for x in text.replace("\n", "").split("~") if x.strip()]
    out: list[str] = []
    els = [x.split("*") for x in segs]
    claim: tuple[str, Decimal, Decimal] | None = None

    def close_claim():
        if claim is not None and claim[1] != claim[2]:
            out.append(f"claim {claim[0]}: CLM02 {claim[1]:.2f} is not the sum of its lines (SV102) {claim[2]:.2f}")

    isa = gs = st = None
    st_start = 0
    subscriber: str | None = None
    has_address = False
    for i, e in enumerate(els):
        tag = e[0]
        if tag in ("CLM", "HL", "SE"):
            close_claim()
            claim = None
        if tag in ("HL", "SE") and subscriber is not None and not has_address:
            out.append(f"subscriber {subscriber}: no address (N3/N4) for a subscriber who is the patient")
            subscriber = None
        if tag == "ISA" and len(e) > 13:
            isa = e[13]
        elif tag == "GS" and len(e) > 6:
            gs = e[6]
            if len(e) > 4 and e[4].isdigit() and date(int(e[4][:4]), int(e[4][4:6]), int(e[4][6:8])) > today:
                out.append(f"GS04 creation date {e[4]} is in the future")
        elif tag == "ST" and len(e) > 2:
            st, st_start = e[2], i
        elif tag == "BHT" and len(e) > 4 and e[4].isdigit():
            if date(int(e[4][:4]), int(e[4][4:6]), int(e[4][6:8])) > today:
                out.append(f"BHT04 creation date {e[4]} is in the future")
        elif tag == "PER" and "TE" in e:
            phone = e[e.index("TE") + 1] if e.index("TE") + 1 < len(e) else ""
            if not phone.strip("0"):
                out.append("PER: the billing contact phone is missing or zeros")
        elif tag == "NM1" and len(e) > 9 and e[8] == "XX" and not npi_valid(e[9]):
            out.append(f"NM1*{e[1]}: NPI {e[9]} fails the check digit")
        elif tag == "NM1" and len(e) > 1 and e[1] == "IL":
            subscriber, has_address = (e[9] if len(e) > 9 else e[3]), False
        elif tag in ("N3", "N4") and subscriber is not None:
            has_address = True
        elif tag == "CLM" and len(e) > 2:
            claim = (e[1], Decimal(e[2]), ZERO)
        elif tag == "SV1" and claim is not None and len(e) > 2:
            claim = (claim[0], claim[1], claim[2] + Decimal(e[2]))
        elif tag == "SE" and len(e) > 2:
            if e[2] != st:
                out.append(f"SE02 {e[2]} does not match ST02 {st}")
            if int(e[1]) != i - st_start + 1:
                out.append(f"SE01 says {e[1]} segments, the transaction has {i - st_start + 1}")
        elif tag == "GE" and len(e) > 2 and e[2] != gs:
            out.append(f"GE02 {e[2]} does not match GS06 {gs}")
        elif tag == "IEA" and len(e) > 2 and e[2] != isa:
            out.append(f"IEA02 {e[2]} does not match ISA13 {isa}")
    return out
