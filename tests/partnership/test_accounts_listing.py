"""A hub or CBO administrator manages its own people and its directory listing; a hub administrator
edits its network CBOs' listings; deactivation stops sessions and tokens at once."""

from __future__ import annotations

import re
from datetime import date

import pytest

from socialcare.core.errors import Forbidden
from socialcare.directory import listing
from socialcare.directory.models import HubNetworkMembership, Service
from socialcare.security.models import AuditEvent
from tests.factories import make_org, make_user
from tests.web.fixtures import api_headers, csrf_from


@pytest.fixture
def orgs(db):
    hub = make_org(db, "community_care_hub", state="NY")
    cbo = make_org(db, "cbo", state="NY")
    other = make_org(db, "cbo", state="NY")
    db.add(HubNetworkMembership(hub_id=hub.id, cbo_id=cbo.id, start_date=date(2020, 1, 1)))
    db.add(Service(organization_id=cbo.id, name="Meals", need_domain="food", unit="meal", capacity_per_month=10,
                   languages=["en"]))
    db.flush()
    return {"hub": hub, "cbo": cbo, "other": other,
            "hub_admin": make_user(db, hub, "hub_admin"), "cbo_admin": make_user(db, cbo, "cbo_admin"),
            "cbo_staff": make_user(db, cbo, "cbo_staff"), "other_admin": make_user(db, other, "cbo_admin")}


def _post(client, url, data, page="/users"):
    token = csrf_from(client.get(page).text)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)


def test_cbo_admin_invites_a_colleague_who_sets_a_password(db, orgs, client_factory):
    admin = client_factory(orgs["cbo_admin"].username)
    r = _post(admin, "/users/invite", {"username": "new-chw", "full_name": "New Worker", "role": "cbo_staff"})
    assert r.status_code == 200 and "One-time invitation link for new-chw" in r.text
    link = re.search(r"/account/password/[\w-]+", r.text).group(0)
    # a CBO administrator cannot make plan roles
    r = _post(admin, "/users/invite", {"username": "sneaky", "full_name": "X", "role": "plan_admin"})
    assert r.status_code == 422
    guest = client_factory()
    page = guest.get(link)
    assert page.status_code == 200 and "New Worker" in page.text
    r = guest.post(link, data={"password": "a-long-enough-pass", "confirm": "a-long-enough-pass",
                               "csrf_token": csrf_from(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert guest.get(link).status_code == 404  # one time only
    from tests.web.fixtures import login

    assert login(client_factory(), "new-chw", "a-long-enough-pass").status_code == 303


def test_deactivation_stops_session_and_token_at_once(db, orgs, client_factory):
    worker = client_factory(orgs["cbo_staff"].username)
    headers = api_headers(worker, orgs["cbo_staff"].username)
    assert worker.get("/directory", follow_redirects=False).status_code == 200
    assert worker.get("/api/v1/me", headers=headers).status_code == 200
    admin = client_factory(orgs["cbo_admin"].username)
    r = _post(admin, f"/users/{orgs['cbo_staff'].user_id}/deactivate", {})
    assert r.status_code == 303
    assert worker.get("/directory", follow_redirects=False).status_code == 303  # back to sign-in
    assert worker.get("/api/v1/me", headers=headers).status_code == 401
    # another organization's administrator cannot touch this account
    other = client_factory(orgs["other_admin"].username)
    assert _post(other, f"/users/{orgs['cbo_staff'].user_id}/reactivate", {}).status_code == 404
    actions = {a for (a,) in db.query(AuditEvent.action).filter(AuditEvent.object_id == str(orgs["cbo_staff"].user_id))}
    assert "user.deactivated" in actions


def test_reset_password_ends_the_old_password(db, orgs, client_factory):
    admin = client_factory(orgs["cbo_admin"].username)
    r = _post(admin, f"/users/{orgs['cbo_staff'].user_id}/reset", {})
    assert "One-time password reset link" in r.text
    from tests.web.fixtures import login

    assert login(client_factory(), orgs["cbo_staff"].username).status_code == 401


def test_listing_edits_own_and_hub_network_only(db, orgs):
    cbo, svc = orgs["cbo"], orgs["cbo"].services[0]
    edit = listing.ListingEdit(description="Meals for Erie", phone="716-555-0100", hours="Mon-Fri 9-5",
                               areas="Erie, NY\n14201",
                               services=[listing.ServiceEdit(svc.id, "25", "en, es", "active")])
    changed = listing.update_listing(db, orgs["cbo_admin"], cbo.id, edit)
    assert "hours" in changed and "service areas" in changed and f"{svc.name}: capacity" in changed
    db.refresh(svc)
    assert (svc.capacity_per_month, svc.languages) == (25, ["en", "es"])
    assert {(a.county, a.postal_code) for a in cbo.service_areas} == {("Erie", None), (None, "14201")}
    # the hub administrator edits its network CBO; not a CBO outside its network
    listing.update_listing(db, orgs["hub_admin"], cbo.id, listing.ListingEdit(
        description="Edited by the hub", areas="Erie, NY", services=[]))
    with pytest.raises(Forbidden):
        listing.update_listing(db, orgs["hub_admin"], orgs["other"].id, listing.ListingEdit())
    with pytest.raises(Forbidden):  # staff are not administrators
        listing.update_listing(db, orgs["cbo_staff"], cbo.id, listing.ListingEdit())
    with pytest.raises(Forbidden):
        listing.update_listing(db, orgs["other_admin"], cbo.id, listing.ListingEdit())
    audit = db.query(AuditEvent).filter_by(action="directory.listing.update").all()
    assert len(audit) == 2 and audit[1].detail["on_behalf"] is True
