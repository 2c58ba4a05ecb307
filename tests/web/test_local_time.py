"""Every time shown carries the organization's zone: a referral requested at 10:57 UTC shows as
05:57 EST to an organization in America/New_York, and as 10:57 UTC to one left on UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import update

from socialcare.directory.models import Organization
from socialcare.referrals import service as svc
from socialcare.web.localization import format_date, format_datetime


def test_filters_convert_and_name_the_zone():
    at = datetime(2026, 12, 4, 10, 57, tzinfo=UTC)
    assert format_datetime(at, tz="America/New_York") == "2026-12-04 05:57 EST"
    assert format_datetime(at.replace(tzinfo=None), tz="America/New_York") == "2026-12-04 05:57 EST"  # SQLite
    assert format_datetime(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), tz="America/New_York") == "2026-07-01 08:00 EDT"
    assert format_date(datetime(2026, 12, 4, 2, 0, tzinfo=UTC), tz="America/New_York") == "Dec 03, 2026"
    assert format_date(at, "%b %d %H:%M", tz="America/Chicago") == "Dec 04 04:57 CST"


def test_pages_show_times_in_the_organizations_zone(db, client_factory, world):
    w = world
    db.execute(update(Organization).where(Organization.id.in_([w.cbo.id, w.plan_a.id]))
               .values(time_zone="America/New_York"))
    at = datetime(2026, 12, 4, 10, 57, tzinfo=UTC)
    ref, _ = svc.create_referral(db, w.users["staff_a"], svc.NewReferral(
        member_id=w.members_a[0].id, need_domain="food", owner_org_id=w.cbo.id), now=at)
    db.flush()
    cbo = client_factory("cbo_staff")
    page = re.sub(r'datetime="[^"]*"', "", cbo.get(f"/referrals/{ref.id}").text)  # machine-readable stays UTC
    assert "2026-12-04 05:57 EST" in page and "10:57" not in page
    inbox = re.sub(r'datetime="[^"]*"', "", cbo.get("/notifications").text)
    assert "2026-12-04 05:57 EST" in inbox and "UTC" not in inbox
    hub_page = client_factory("hub_coord").get("/").text  # the hub stays on UTC: nothing to convert here
    assert hub_page
    plan = client_factory("staff_a").get(f"/referrals/{ref.id}").text
    assert "2026-12-04 05:57 EST" in plan
