"""Bad input is a 4xx, never a 500; the same service line is recorded once."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from socialcare.referrals.models import Consent, Referral
from tests.web.fixtures import api_headers

BIG = 2**31 + 5


@pytest.mark.parametrize("path", [
    f"/api/v1/referrals/{BIG}", f"/api/v1/members/{BIG}", f"/api/v1/delivery/services/{BIG}",
    f"/api/v1/consents?member_id={BIG}", f"/api/v1/screenings/needs?member_id={BIG}",
    f"/api/v1/contracts/{BIG}", f"/fhir/Patient/{BIG}", f"/fhir/Task/{BIG}",
])
def test_ids_beyond_32_bits_are_a_4xx(client, world, path):
    r = client.get(path, headers=api_headers(client, "staff_a"))
    assert r.status_code < 500 and (r.status_code >= 400 or "?" in path), (path, r.status_code, r.text[:200])


@pytest.mark.parametrize("path", ["/api/v1/members?q=An%00a", "/api/v1/directory/organizations?q=a%00b",
                                  "/api/v1/referrals?q=x%00y"])
def test_nul_bytes_in_search_parameters_are_a_4xx(client, world, path):
    r = client.get(path, headers=api_headers(client, "staff_a"))
    assert r.status_code < 500, (path, r.status_code)


def test_a_referral_to_an_organization_that_does_not_exist_is_a_4xx(client, world):
    r = client.post("/api/v1/referrals", headers=api_headers(client, "staff_a"),
                    json={"member_id": world.members_a[0].id, "need_domain": "food", "owner_org_id": BIG - 10})
    assert 400 <= r.status_code < 500, r.text


def test_the_same_service_line_is_recorded_once(client, db, world):
    m = world.members_a[0]
    now = datetime(2026, 1, 1, tzinfo=UTC)
    ref = Referral(plan_id=world.plan_a.id, requester_org_id=world.plan_a.id, owner_org_id=world.cbo.id,
                   member_id=m.id, need_domain="food", status="in-progress", requested_at=now, created_at=now,
                   updated_at=now)
    db.add(ref)
    db.add(Consent(member_id=m.id, plan_id=world.plan_a.id, organization_id=world.cbo.id, scope="referral",
                   granted_at=now))
    db.flush()
    body = {"member_id": m.id, "service_id": world.services["meals"].id, "referral_id": ref.id,
            "service_date": date.today().isoformat(), "units": 2}
    h = api_headers(client, "cbo_staff")
    assert client.post("/api/v1/delivery/services", json=body, headers=h).status_code == 201
    assert client.post("/api/v1/delivery/services", json=body, headers=h).status_code == 409
