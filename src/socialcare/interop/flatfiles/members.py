"""The member list / eligibility file into the plan's roster: set-based (one SELECT of the roster's
ids, bulk INSERT of new members, bulk UPDATE of known ones, bulk INSERT/UPDATE of coverage spans)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcare.core.errors import Forbidden, Problem
from socialcare.interop.flatfiles.reader import row_problem
from socialcare.kit.bulk import bulk_insert, bulk_update, db_ready
from socialcare.members.models import EnrollmentSpan, Member
from socialcare.security.principal import Principal
from socialcare.security.rules import is_plan_role

MEMBER_FIELDS = ("first_name", "last_name", "birth_date", "sex", "product_line", "race", "ethnicity",
                 "preferred_language", "address_1", "city", "state", "zip", "county", "phone", "pcp_name",
                 "pcp_npi", "risk_score")


def authorize(principal: Principal) -> None:
    if not (principal.is_plan and is_plan_role(principal.role)):
        raise Forbidden("Only a health plan's staff import its member list (eligibility file).")


def prepare(session: Session, principal: Principal, parsed: dict, file: str) -> tuple[list[Problem], dict]:
    """Every problem the columns' own checks leave to the roster (dates in order, no future birth),
    and what ``apply`` writes when there is none: the parsed columns."""
    start, end = parsed["coverage_start"], parsed["coverage_end"]
    bad = start.notna() & end.notna() & (end < start)
    problems = row_problem(bad, "coverage_end", "coverage ends before it starts", file)
    birth = parsed["birth_date"]
    problems += row_problem(birth.notna() & (birth > pd.Timestamp(date.today())), "birth_date",
                            "birth date is in the future", file)
    # a member's coverage spans are several rows: they must agree on who the member is
    pmid = parsed["plan_member_id"]
    repeated = pd.DataFrame({"m": pmid, "s": start.astype(str)}).duplicated(keep="first")  # refused already
    for col in ("first_name", "last_name", "birth_date", "sex"):
        readable = parsed[col].notna()  # an unreadable cell is reported by its own check
        values = parsed[col].astype(str).where(readable)
        first = values.groupby(pmid).transform("first")
        problems += row_problem((pmid != "") & readable & ~repeated & (values != first), col,
                                f"differs from this member's first row ({col} must be the same on each "
                                "coverage span)", file)
    risk = parsed["risk_score"]
    big = risk.str.match(r"^-?\d+(\.\d+)?$") & (pd.to_numeric(risk, errors="coerce").abs() >= 1000)
    problems += row_problem(big, "risk_score", "risk score must be below 1000", file)
    return problems, parsed


def _dates(s: pd.Series) -> list[date | None]:
    s = pd.to_datetime(s)  # an optional column the file left out is all None, not dates
    return s.dt.date.astype(object).where(s.notna(), None).tolist()


def apply(session: Session, principal: Principal, parsed: dict) -> tuple[int, int]:
    """Add new members, update known ones, record coverage spans. Returns (inserted, updated)."""
    plan_id = principal.org_id
    def opt(name: str) -> list:
        return [v or None for v in parsed[name].tolist()]  # empty cell -> NULL

    cols = {
        "plan_member_id": parsed["plan_member_id"].tolist(),
        "first_name": parsed["first_name"].tolist(), "last_name": parsed["last_name"].tolist(),
        "birth_date": _dates(parsed["birth_date"]), "sex": parsed["sex"].tolist(),
        "product_line": parsed["product_line"].tolist(),
        "race": opt("race"), "ethnicity": opt("ethnicity"),
        "preferred_language": [v or "en" for v in parsed["preferred_language"].tolist()],
        "address_1": opt("address_1"), "city": opt("city"), "state": opt("state"), "zip": opt("zip"),
        "county": opt("county"), "phone": opt("phone"), "pcp_name": opt("pcp_name"), "pcp_npi": opt("pcp_npi"),
        "risk_score": [Decimal(v) if v else None for v in parsed["risk_score"].tolist()],
    }
    rows = [dict(zip(cols, vals, strict=True)) for vals in zip(*cols.values(), strict=True)]
    # one member per plan member id (a member with several coverage spans has several rows): the last wins
    rows = list({r["plan_member_id"]: r for r in rows}.values())
    existing = dict(session.execute(
        select(Member.plan_member_id, Member.id).where(Member.plan_id == plan_id)
    ).all())
    new_rows = [dict(r, plan_id=plan_id) for r in rows if r["plan_member_id"] not in existing]
    upd_rows = [
        {"id": existing[r["plan_member_id"]], **{k: r[k] for k in MEMBER_FIELDS}}
        for r in rows if r["plan_member_id"] in existing
    ]
    bulk_insert(session, Member, *db_ready(session, Member, new_rows))
    bulk_update(session, Member, upd_rows)
    if new_rows:
        existing = dict(session.execute(
            select(Member.plan_member_id, Member.id).where(Member.plan_id == plan_id)
        ).all())

    # coverage spans: same member + start date = the same span (its end date may change)
    starts, ends = _dates(parsed["coverage_start"]), _dates(parsed["coverage_end"])
    member_ids = [existing[pmid] for pmid in cols["plan_member_id"]]
    known_spans = {}
    if upd_rows:  # spans of members already on the roster (a new member's spans are all new)
        known_spans = {
            (mid, start): sid for sid, mid, start in session.execute(
                select(EnrollmentSpan.id, EnrollmentSpan.member_id, EnrollmentSpan.start_date)
                .join(Member, Member.id == EnrollmentSpan.member_id).where(Member.plan_id == plan_id)
            )
        }
    span_new, span_upd = [], []
    for mid, pl, s, e in zip(member_ids, cols["product_line"], starts, ends, strict=True):
        sid = known_spans.get((mid, s))
        if sid is None:
            span_new.append({"member_id": mid, "product_line": pl, "start_date": s, "end_date": e})
        else:
            span_upd.append({"id": sid, "product_line": pl, "end_date": e})
    bulk_insert(session, EnrollmentSpan, *db_ready(session, EnrollmentSpan, span_new))
    bulk_update(session, EnrollmentSpan, span_upd)
    return len(new_rows), len(upd_rows)
