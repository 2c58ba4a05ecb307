"""Demo step 95: every organization works in America/New_York (Western New York), and the CBO's
community health worker and the hub coordinator find their newest referrals waiting in the inbox."""

from __future__ import annotations

from sqlalchemy import select, update

from socialcare.demo.context import DemoContext
from socialcare.directory.models import Organization
from socialcare.notifications import service
from socialcare.referrals.models import Referral

ORDER = 95
DEMO_TIME_ZONE = "America/New_York"
NEWEST = 3


def build(ctx: DemoContext) -> None:
    session = ctx.session
    session.execute(update(Organization).values(time_zone=DEMO_TIME_ZONE))
    orgs = ctx.state.get("login_orgs", {})
    for key in ("cbo_staff", "cbo_staff_independent", "hub_coordinator"):
        org_id = orgs.get(key)
        if org_id is None:
            continue
        newest = session.scalars(select(Referral.id).where(Referral.owner_org_id == org_id,
                                                           Referral.status == "requested")
                                 .order_by(Referral.requested_at.desc(), Referral.id.desc()).limit(NEWEST)).all()
        for ref_id in newest:
            ref = session.get(Referral, ref_id)
            service.on_referral_event(session, None, ref_id, action="create", event_kind="status",
                                      to_status="requested", now=ref.requested_at if ref else None)
    session.flush()
    ctx.advance(1)
