"""The proposals API: a CBO administrator proposes, the plan accepts, over JSON."""

from __future__ import annotations

from tests.contracts.conftest import make_contract, parties  # noqa: F401
from tests.factories import make_user
from tests.web.fixtures import api_headers


def test_propose_and_accept_over_the_api(db, parties, client_factory):  # noqa: F811
    c = make_contract(db, parties, counterparty=parties.cbo)
    cbo_admin = make_user(db, parties.cbo, "cbo_admin")
    client = client_factory()
    cbo = api_headers(client, cbo_admin.username)
    plan = api_headers(client, parties.admin.username)
    r = client.post(f"/api/v1/contracts/{c.id}/proposals", headers=cbo,
                    json={"section": "vision", "proposed": {"vision": "Members eat well after discharge."}})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    staff = api_headers(client, parties.cbo_user.username)
    assert client.post(f"/api/v1/contracts/{c.id}/proposals", headers=staff,
                       json={"section": "vision", "proposed": {"vision": "x"}}).status_code == 403
    r = client.post(f"/api/v1/contracts/{c.id}/proposals/{pid}/answer", headers=plan, json={"response": "accept"})
    assert r.status_code == 200 and r.json()["result_version"] == 2
    listed = client.get(f"/api/v1/contracts/{c.id}/proposals", headers=cbo).json()
    assert [(p["status"], p["responded_by"]) for p in listed] == [("accepted", parties.admin.username)]
