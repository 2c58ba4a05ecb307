"""Service records from the organization that delivered the services: each row becomes one service
record through ``delivery.service.record_services_bulk`` (the rules the web form and the delivery
CLI apply: the member shared with the organization, the service one it offers, the code that
service's, units, place of service, Z code, date).

The file names a referral and the need domain and code of the service; the directory service is
resolved here: the importer's own service in that need domain whose code matches (a service's code
with extra modifiers, e.g. S5170-U6-GQ for S5170-U6, is that service). A service line is identified
by referral + date + code: a second line with the same key, in the file or already recorded, is
refused (a corrected line replaces a record marked entered in error, never doubles a claim).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcare.core.errors import Forbidden, Problem
from socialcare.delivery import rules as delivery_rules
from socialcare.delivery import service as delivery
from socialcare.delivery.models import ServiceRecord
from socialcare.directory.models import Service
from socialcare.interop.flatfiles import layouts
from socialcare.kit.codes import npi_valid
from socialcare.referrals import repository as referral_repo
from socialcare.referrals import service as referrals
from socialcare.security.principal import Principal

DEFAULT_PLACE = "12"  # home: the delivery domain's default, the usual place of a CBO's service
FIELDS = {"member_id": "plan_member_id"}  # the delivery domain's field names -> this layout's columns


def authorize(principal: Principal) -> None:
    if principal.is_plan or not principal.can("delivery:write"):
        raise Forbidden("Service record files come from the organization that delivered the services; "
                        "a plan reads them on the Delivery pages.")


@dataclass
class Line:
    row: int
    record: delivery_rules.ServiceRecordInput


def _cell(parsed: dict, name: str, i: int) -> str:
    return parsed[name].iloc[i]


def _unreadable(parsed: dict, i: int) -> set[str]:
    """The columns of row ``i`` the reader already reported: checks that need them are skipped here
    (and the row is not handed to the delivery rules, which would report them again)."""
    lay = layouts.SERVICE_RECORD
    bad = {c for c in ("referral_id", "units") if not _cell(parsed, c, i).isdigit()}
    bad |= {c for c in ("service_id",) if _cell(parsed, c, i) and not _cell(parsed, c, i).isdigit()}
    bad |= {c for c in ("need_domain", "place_of_service")
            if _cell(parsed, c, i) and _cell(parsed, c, i) not in (lay.column(c).values or ())}
    bad |= {c for c in ("rendering_npi",) if _cell(parsed, c, i) and not npi_valid(_cell(parsed, c, i))}
    bad |= {c.name for c in lay.columns if c.kind == "text" and c.max_len and len(_cell(parsed, c.name, i)) > c.max_len}
    if pd.isna(parsed["service_date"].iloc[i]):
        bad.add("service_date")
    return bad


def _services(session: Session, org_id: int) -> list[Service]:
    return list(session.scalars(select(Service).where(Service.organization_id == org_id).order_by(Service.id)))


def _label(s: Service) -> str:
    return f"#{s.id} {s.name} ({s.service_code or 'no code'})"


def _resolve(services: list[Service], domain: str, code: delivery_rules.ServiceCode | None,
             service_id: int | None, referral_service_id: int | None) -> tuple[Service | None, str | None, str]:
    """(the service, or None with the problem and the field it is about)."""
    if service_id is not None:
        svc = next((s for s in services if s.id == service_id), None)
        if svc is None:
            return None, f"service {service_id} is not one your organization offers", "service_id"
        if svc.need_domain != domain:
            return None, f"service {service_id} ({svc.name}) is for {svc.need_domain}, not {domain}", "need_domain"
        return svc, None, ""
    in_domain = [s for s in services if s.need_domain == domain and s.status == "active"]
    if not in_domain:
        return None, f"your organization offers no active {domain} service in the directory", "need_domain"
    if code is None:  # no code: the service without one, or the only one in the domain
        matches = [s for s in in_domain if not s.service_code] or in_domain
    else:
        matches = [s for s in in_domain if delivery_rules.code_offered(s.service_code, code)]
    if not matches:
        return None, (f"none of your {domain} services has the code {code.text if code else ''} (they are: "
                      + ", ".join(_label(s) for s in in_domain) + ")"), "service_code"
    if len(matches) > 1:
        preferred = [s for s in matches if s.id == referral_service_id]
        if preferred:
            return preferred[0], None, ""
        return None, ("several of your services fit; give the service_id: "
                      + ", ".join(_label(s) for s in matches)), "service_id"
    return matches[0], None, ""


def _line_code(code: delivery_rules.ServiceCode | None, svc: Service) -> str:
    """A line's code as it is stored (the service's own when the row has none); a service without
    a code is told apart by its id."""
    if code is not None:
        return code.text
    try:
        return delivery_rules.parse_service_code(svc.service_code or "").text
    except ValueError:
        return f"service {svc.id}"


def plan(session: Session, principal: Principal, parsed: dict, file: str | None = None
         ) -> tuple[list[Line], list[Problem]]:
    """Every row checked: the service records to write, or every problem. Nothing is written."""
    n = len(parsed["referral_id"])
    found = referral_repo.visible_with_member_ids(
        session, principal, (int(v) for v in parsed["referral_id"].tolist() if v.isdigit()))
    services = _services(session, principal.org_id)
    problems: list[Problem] = []
    lines: list[Line] = []
    seen: dict[tuple, int] = {}

    def bad(row: int, fld: str, msg: str) -> None:
        problems.append(Problem(msg, field=fld, row=row, file=file))

    for i in range(n):
        row = i + 2
        unreadable = _unreadable(parsed, i)
        if "referral_id" in unreadable:
            continue
        rid = int(_cell(parsed, "referral_id", i))
        day = parsed["service_date"].iloc[i]
        day = None if pd.isna(day) else day.date()
        raw_code = _cell(parsed, "service_code", i)
        code = None
        if raw_code and "service_code" not in unreadable:
            try:
                code = delivery_rules.parse_service_code(raw_code)
            except ValueError as exc:
                bad(row, "service_code", str(exc))
                unreadable.add("service_code")
        if rid not in found:
            bad(row, "referral_id", referrals.NOT_VISIBLE.format(id=rid))
            continue
        ref, pmid = found[rid]
        if ref.owner_org_id != principal.org_id:
            bad(row, "referral_id", f"referral {rid} was not sent to your organization; services are recorded by "
                "the organization that delivered them, under the referral it holds")
            continue
        if _cell(parsed, "plan_member_id", i) != pmid:
            bad(row, "plan_member_id", f"{_cell(parsed, 'plan_member_id', i)} is not the member of referral {rid}")
            continue
        if unreadable & {"need_domain", "service_code", "service_id"}:
            continue
        sid = _cell(parsed, "service_id", i)
        svc, why, fld = _resolve(services, _cell(parsed, "need_domain", i), code, int(sid) if sid else None,
                                 ref.service_id)
        if svc is None:
            bad(row, fld, why or "")
            continue
        if unreadable:
            continue
        key = (rid, day, _line_code(code, svc))
        if key in seen:
            bad(row, "service_code", f"the same service line (referral {rid}, {day}, {key[2]}) is on row {seen[key]}")
            continue
        seen[key] = row
        lines.append(Line(row, delivery_rules.ServiceRecordInput(
            member_id=ref.member_id, service_id=svc.id, service_date=day, units=int(_cell(parsed, "units", i)),
            place_of_service=_cell(parsed, "place_of_service", i) or DEFAULT_PLACE,
            service_code=raw_code or None, diagnosis_code=_cell(parsed, "diagnosis_code", i) or None,
            referral_id=rid, note=_cell(parsed, "note", i) or None,
            rendering_npi=_cell(parsed, "rendering_npi", i) or None,
        )))
    problems += _already_recorded(session, principal, lines, seen, file)
    _values, found_problems = delivery.check_services_bulk(
        session, principal, [x.record for x in lines], file=file or "service records", row_numbers=[x.row for x in lines])
    problems += [Problem(p.message, field=FIELDS.get(p.field or "", p.field), row=p.row, file=file)
                 for p in found_problems]
    return lines, problems


def _already_recorded(session: Session, principal: Principal, lines: list[Line], seen: dict[tuple, int],
                      file: str | None) -> list[Problem]:
    """Lines of the file that are already recorded (same referral, date and code, not entered in error)."""
    ref_ids = sorted({x.record.referral_id for x in lines})
    problems = []
    for i in range(0, len(ref_ids), 5000):
        for rec_id, rid, day, code, svc_id in session.execute(
            select(ServiceRecord.id, ServiceRecord.referral_id, ServiceRecord.service_date, ServiceRecord.service_code,
                   ServiceRecord.service_id)
            .where(ServiceRecord.referral_id.in_(ref_ids[i:i + 5000]),
                   ServiceRecord.organization_id == principal.org_id, ServiceRecord.status == "recorded")
        ).tuples():
            row = seen.get((rid, day, code or f"service {svc_id}"))
            if row is not None:
                problems.append(Problem(
                    f"already recorded as service record #{rec_id} (referral {rid}, {day}, {code or 'no code'}); "
                    "to correct it, mark that record entered in error first", field="service_code", row=row,
                    file=file))
    return problems


def prepare(session: Session, principal: Principal, parsed: dict, file: str) -> tuple[list[Problem], list[Line]]:
    """Every problem of the file, and the lines ``apply`` writes when there is none."""
    lines, problems = plan(session, principal, parsed, file)
    return problems, lines


def apply(session: Session, principal: Principal, lines: list[Line]) -> tuple[int, int]:
    """Write every line as a service record (one INSERT). Returns (records added, 0)."""
    n = delivery.record_services_bulk(session, principal, [x.record for x in lines], file="service record file",
                                      row_numbers=[x.row for x in lines])
    return n, 0
