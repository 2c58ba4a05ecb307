"""SQL expressions other domains use to select members by their screening results (contracts'
eligibility rules and member-list prioritization call these)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, select

from socialcare.screening.models import Screening, SocialNeed


def _end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


def member_has_need(member_id_col, domains: list[str], since: date | None, as_of: date) -> ColumnElement[bool]:
    """True when the member has a social need in one of ``domains`` identified between ``since`` and
    ``as_of`` and not resolved by ``as_of``."""
    conds = [
        SocialNeed.member_id == member_id_col,
        SocialNeed.domain.in_(domains),
        SocialNeed.identified_at < _end_of(as_of),
        (SocialNeed.resolved_at.is_(None)) | (SocialNeed.resolved_at >= _end_of(as_of)),
    ]
    if since is not None:
        conds.append(SocialNeed.identified_at >= datetime.combine(since, time.min, tzinfo=UTC))
    return exists().where(and_(*conds))


def rank_expr(key: str, member_id_col):
    """unmet_needs: number of active social needs; recent_screening: the latest screening time."""
    if key == "unmet_needs":
        return (
            select(func.count()).select_from(SocialNeed)
            .where(SocialNeed.member_id == member_id_col, SocialNeed.status == "active")
            .scalar_subquery()
        )
    if key == "recent_screening":
        return (
            select(func.max(Screening.screened_at))
            .where(Screening.member_id == member_id_col, Screening.status != "declined")
            .scalar_subquery()
        )
    raise ValueError(key)
