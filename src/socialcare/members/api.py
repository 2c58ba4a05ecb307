"""Members JSON API: the roster for plan roles, and a member's record (audited) for whoever may see it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from socialcare.members import schemas, service
from socialcare.security.principal import Principal
from socialcare.web.deps import ApiPrincipal, DbSession, require_api

router = APIRouter(prefix="/members", tags=["members"])


@router.get("", response_model=schemas.MemberPage, summary="Search the plan's members")
def list_members(
    db: DbSession,
    principal: Annotated[Principal, Depends(require_api("members:read"))],
    q: str | None = Query(None, description="name words or the plan member id"),
    county: str | None = None,
    zip: str | None = Query(None, description="five digits"),
    product_line: str | None = Query(None, description="medicaid, medicare_advantage, dual_special_needs, commercial"),
    page: int = Query(1, ge=1),
    page_size: int = Query(50, ge=1, le=200),
):
    """Plan roles only. Every member returned is audited (member.list)."""
    f = service.make_filters(q=q, county=county, zip=zip, product_line=product_line)
    result = service.search_members(db, principal, f, page, page_size)
    return schemas.MemberPage(
        items=[schemas.member_summary(m) for m in result.items],
        total=result.total, page=result.page, page_size=result.page_size,
    )


@router.get(
    "/{member_id}", response_model=schemas.MemberDetail, summary="One member's record",
    responses={403: {"description": "not visible to your organization (audited)"}},
)
def get_member(member_id: int, db: DbSession, principal: ApiPrincipal):
    """A plan's own member, or a member shared with a hub/CBO through a referral with consent. Audited."""
    return schemas.member_detail(service.member_record(db, principal, member_id)[1])
