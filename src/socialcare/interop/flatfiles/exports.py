"""Scoped, minimum-necessary exports.

- ``members``: the member list a plan sends a partner: only members shared with that partner
  (an active referral to it AND the member's consent, security.sharing), and only the columns a
  partner needs to reach and serve the member (no race, ethnicity, risk score, PCP). Every member
  exported is audited (``member.export``).
- ``monthly_report``: referral counts per month, partner, need domain and status, over the
  referrals the caller's organization may see. No member-level data.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialcare.core.errors import Forbidden, InvalidInput, Problem
from socialcare.directory.models import Organization
from socialcare.kit.cells import safe_row
from socialcare.kit.codes import OrgKind
from socialcare.members.models import EnrollmentSpan, Member
from socialcare.security import audit
from socialcare.security.principal import Principal
from socialcare.security.rules import is_plan_role
from socialcare.security.sharing import shared_member_ids

PARTNER_MEMBER_COLUMNS = ["plan_member_id", "first_name", "last_name", "birth_date", "sex", "preferred_language",
                          "phone", "address_1", "city", "state", "zip", "county", "product_line",
                          "coverage_start", "coverage_end"]


def member_list(session: Session, principal: Principal, partner_name: str) -> tuple[list[str], list[list]]:
    principal.require("exchange:export")
    if not (principal.is_plan and is_plan_role(principal.role)):
        raise Forbidden("A member list is exported by the member's plan.")
    partner = session.scalar(select(Organization).where(func.lower(Organization.name) == partner_name.lower()))
    if partner is None or partner.kind not in (OrgKind.HUB, OrgKind.CBO):
        raise InvalidInput("Unknown partner", [Problem(f"no hub or CBO named '{partner_name}'", field="partner")])
    # the partner's view, restricted to this plan's members: the one sharing rule, not a copy of it
    as_partner = replace(principal, org_id=partner.id, org_kind=partner.kind, role="cbo_staff")
    latest = (
        select(EnrollmentSpan.member_id, func.max(EnrollmentSpan.start_date).label("start"))
        .group_by(EnrollmentSpan.member_id).subquery()
    )
    rows = session.execute(
        select(Member, EnrollmentSpan.start_date, EnrollmentSpan.end_date)
        .outerjoin(latest, latest.c.member_id == Member.id)
        .outerjoin(EnrollmentSpan, (EnrollmentSpan.member_id == Member.id) & (EnrollmentSpan.start_date == latest.c.start))
        .where(Member.plan_id == principal.org_id, Member.id.in_(shared_member_ids(as_partner)))
        .order_by(Member.plan_member_id)
    ).all()
    out = []
    for m, start, end in rows:
        out.append([m.plan_member_id, m.first_name, m.last_name, m.birth_date.isoformat(), m.sex,
                    m.preferred_language, m.phone or "", m.address_1 or "", m.city or "", m.state or "",
                    m.zip or "", m.county or "", m.product_line, start.isoformat() if start else "",
                    end.isoformat() if end else ""])
    audit.record_member_reads(session, principal, [m.id for m, _, _ in rows], action="member.export")
    audit.record(session, principal, "exchange.export.members", object_type="organization", object_id=partner.id,
                 detail={"partner": partner.name, "rows": len(out)})
    return PARTNER_MEMBER_COLUMNS, out


def monthly_report(session: Session, principal: Principal, month: str | None = None) -> tuple[list[str], list[list]]:
    principal.require("exchange:export")
    from socialcare.referrals.models import Referral
    from socialcare.referrals.repository import referral_visibility

    owner = Organization.__table__.alias("owner_org")
    created = func.coalesce(Referral.requested_at, Referral.created_at)
    if session.get_bind().dialect.name == "postgresql":
        month_col = func.to_char(created, "YYYY-MM")
    else:
        month_col = func.strftime("%Y-%m", created)
    stmt = (
        select(month_col.label("month"), func.coalesce(owner.c.name, "(open)"), Referral.need_domain, Referral.status,
               func.count())
        .select_from(Referral).outerjoin(owner, owner.c.id == Referral.owner_org_id)
        .where(referral_visibility(principal), Referral.parent_id.is_(None))
        .group_by(month_col, owner.c.name, Referral.need_domain, Referral.status)
        .order_by(month_col, owner.c.name, Referral.need_domain, Referral.status)
    )
    if month:
        stmt = stmt.where(month_col == month)
    rows = [list(r) for r in session.execute(stmt).all()]
    audit.record(session, principal, "exchange.export.monthly_report", object_type="report",
                 detail={"month": month, "rows": len(rows)})
    return ["month", "partner", "need_domain", "status", "referrals"], rows


def render(columns: list[str], rows: list[list], suffix: str) -> bytes:
    if suffix == ".xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("export")
        ws.append(columns)
        for r in rows:
            ws.append(safe_row(r))
        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    w.writerows(safe_row(r) for r in rows)
    return buf.getvalue().encode("utf-8")


def export_to_file(session: Session, principal: Principal, what: str, out: Path, *, partner: str | None = None,
                   month: str | None = None) -> int:
    if what == "members":
        if not partner:
            raise InvalidInput("Which partner?", [Problem("give --partner", field="partner")])
        cols, rows = member_list(session, principal, partner)
    elif what == "monthly_report":
        cols, rows = monthly_report(session, principal, month)
    else:
        raise InvalidInput("Unknown export", [Problem("members or monthly_report", field="what")])
    out.write_bytes(render(cols, rows, out.suffix.lower()))
    return len(rows)
