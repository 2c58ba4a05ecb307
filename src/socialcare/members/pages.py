"""Member roster and member profile (plan roles; a hub or CBO sees a profile only when the member is
shared with it). Every member shown is audited.

Other domains add panels to the profile by exporting from their pages.py
``member_sections(session, principal, member) -> list[dict(title=..., html=Markup(...), order=...)]``.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from socialcare.core.db import savepoint
from socialcare.kit.codes import PRODUCT_LINE_LABELS
from socialcare.members import repository as repo
from socialcare.members import service
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, PagePrincipal, require_page
from socialcare.web.nav import NavItem
from socialcare.web.templating import render

log = logging.getLogger("socialcare.members")

router = APIRouter(tags=["members"])

NAV = [NavItem(label="Members", href="/members", permission="members:read", order=20)]


@router.get("/members")
def roster(
    request: Request,
    db: DbSession,
    principal: Principal = Depends(require_page("members:read")),
    q: str | None = None,
    county: str | None = None,
    zip: str | None = None,
    product_line: str | None = None,
    page: int = 1,
):
    f = service.make_filters(q=q, county=county, zip=zip, product_line=product_line)
    result = service.search_members(db, principal, f, page, 50)
    return render(
        request,
        "members/roster.html",
        {
            "result": result,
            "age": service.age,
            "filters": {"q": q or "", "county": county or "", "zip": zip or "", "product_line": product_line or ""},
            "county_options": [(c, c) for c in repo.visible_counties(db, principal)],
            "product_line_options": [(k.value, v) for k, v in PRODUCT_LINE_LABELS.items()],
        },
        block="results",
    )


@router.get("/members/{member_id}")
def profile(request: Request, member_id: int, db: DbSession, principal: PagePrincipal):
    member, record = service.member_record(db, principal, member_id)
    sections: list[dict] = []
    for provider in request.app.state.member_section_providers:
        try:
            with savepoint(db):
                sections.extend(provider(db, principal, member) or [])
        except Exception:  # one domain's broken panel must not hide the member
            log.exception("member section provider %s failed", getattr(provider, "__module__", provider))
    sections.sort(key=lambda s: s.get("order", 100))
    return render(
        request,
        "members/profile.html",
        {
            "m": record,
            "age": service.age(member.birth_date),
            "conditions": [(c.icd10_code, service.condition_label(c.icd10_code)) for c in record.conditions],
            "sections": sections,
        },
    )


def home_cards(session: Session, principal: Principal) -> list[dict]:
    if not principal.can("members:read"):
        return []
    total = repo.count_visible(session, principal)
    by_line = repo.counts_by_product_line(session, principal)
    note = ", ".join(f"{PRODUCT_LINE_LABELS.get(k, k)} {v:,}" for k, v in sorted(by_line.items())) or "none yet"
    return [{"title": "Members in the plan", "value": f"{total:,}", "href": "/members", "note": note, "order": 1}]
