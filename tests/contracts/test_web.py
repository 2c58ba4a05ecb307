"""Contract pages and API: each phase's page, the scope-of-work editor, checklist exports, eligibility
counts, the prioritized list (plan roles only, audited), and who is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from socialcare.contracts import service
from socialcare.security.models import AuditEvent
from tests.contracts.conftest import AS_OF, add_members, make_contract
from tests.factories import make_user
from tests.web.fixtures import api_headers, app, client_factory, csrf_from  # noqa: F401


@pytest.fixture
def setup(db, parties):
    users = {
        "admin": make_user(db, parties.plan, "plan_admin", "w_admin"),
        "staff": make_user(db, parties.plan, "plan_staff", "w_staff"),
        "hub": make_user(db, parties.hub, "hub_coordinator", "w_hub"),
        "cbo": make_user(db, parties.cbo, "cbo_staff", "w_cbo"),
        "other": make_user(db, parties.other_cbo, "cbo_staff", "w_other"),
    }
    add_members(db, parties.plan, [dict(county="Erie", risk_score=Decimal(r)) for r in ("4", "3", "2", "1")]
                + [dict(county="Niagara")])
    c = make_contract(db, parties)
    return users, c


def _launch(db, parties, c):
    from socialcare.contracts import schemas

    service.change_phase(db, parties.admin, c.id, "scoping")
    service.change_phase(db, parties.admin, c.id, "pre_launch")
    db.refresh(c)
    for t in c.tasks:
        service.update_task(db, parties.admin, c.id, t.id, schemas.TaskUpdate(status="done"))
    service.change_phase(db, parties.admin, c.id, "implementation")


def test_contract_pages_for_the_plan_and_the_counterparty(db, parties, setup, client_factory):  # noqa: F811
    users, c = setup
    admin = client_factory("w_admin")
    page = admin.get("/contracts")
    assert page.status_code == 200 and c.name in page.text
    detail = admin.get(f"/contracts/{c.id}")
    assert "Shared vision" in detail.text and "Move the partnership forward" in detail.text
    r = admin.post(f"/contracts/{c.id}/vision", data={"vision": "Meals for every discharged member",
                                                       "csrf_token": csrf_from(detail.text)})
    assert r.status_code == 200 and "Meals for every discharged member" in r.text
    r = admin.post(f"/contracts/{c.id}/phase", data={"to_phase": "scoping", "csrf_token": csrf_from(detail.text)})
    assert r.status_code == 200 and "now in Scoping" in r.text
    checklist = admin.get(f"/contracts/{c.id}/checklist")
    assert checklist.text.count("tag-allowed\">Yes<") == 22 and "All Yes" in checklist.text
    assert "tag-denied\">No<" not in checklist.text
    export = admin.get(f"/contracts/{c.id}/export.html")
    assert "Scope of Work Checklist" in export.text and "Joint operating committee" in export.text
    pdf = admin.get(f"/contracts/{c.id}/export.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    hub = client_factory("w_hub")
    assert hub.get(f"/contracts/{c.id}").status_code == 200
    assert "Move the partnership forward" not in hub.get(f"/contracts/{c.id}").text
    assert client_factory("w_other").get(f"/contracts/{c.id}").status_code == 404
    assert client_factory("w_cbo").get("/contracts").status_code == 200
    hub_token = csrf_from(hub.get(f"/contracts/{c.id}").text)
    refused = hub.post(f"/contracts/{c.id}/vision", data={"vision": "x", "csrf_token": hub_token})
    assert refused.status_code == 403 and "contracts:write" in refused.text


def test_scope_editor_saves_a_version_and_reports_bad_fields(db, parties, setup, client_factory):  # noqa: F811
    users, c = setup
    admin = client_factory("w_admin")
    page = admin.get(f"/contracts/{c.id}/scope")
    token = csrf_from(page.text)
    import html
    import re

    texts = {k: html.unescape(re.search(rf'name="{k}"[^>]*>(.*?)</textarea>', page.text, re.S).group(1))
             for k in ("who", "what", "how", "payment_terms_yaml")}
    bad = dict(texts, who=texts["who"].replace("min_age: 18", "min_age: -4"), reason="typo", csrf_token=token)
    r = admin.post(f"/contracts/{c.id}/scope", data=bad)
    assert r.status_code == 422 and "min_age" in r.text and "Nothing was saved" in r.text
    good = dict(texts, who=texts["who"].replace("maximum: 3", "maximum: 5"), reason="Room for two more members",
                csrf_token=token, end_date="2026-12-31")
    r = admin.post(f"/contracts/{c.id}/scope", data=good)
    assert r.status_code == 200 and "Saved as version 2" in r.text
    assert "who.population.volume.maximum" in r.text and "Room for two more members" in r.text


def test_eligibility_counts_and_the_prioritized_list(db, parties, setup, client_factory):  # noqa: F811
    users, c = setup
    _launch(db, parties, c)
    staff = client_factory("w_staff")
    r = staff.get(f"/contracts/{c.id}/eligibility", params={"as_of": AS_OF.isoformat()})
    assert r.status_code == 200 and "Lives in county in Erie" in r.text
    detail = staff.get(f"/contracts/{c.id}")
    r = staff.post(f"/contracts/{c.id}/selections", data={"csrf_token": csrf_from(detail.text)})
    assert r.status_code == 200 and "3 of 4 eligible members selected" in r.text
    sel_id = int(str(r.url).rsplit("/", 1)[1])
    before = db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "contract.selection.read"))
    assert before == 3  # the page showed three members, each audited
    csv_r = staff.get(f"/contracts/{c.id}/selections/{sel_id}/members.csv")
    assert csv_r.text.count("\n") == 4
    hub = client_factory("w_hub")
    assert hub.get(f"/contracts/{c.id}/selections/{sel_id}").status_code == 403
    assert hub.get(f"/contracts/{c.id}/eligibility", params={"as_of": AS_OF.isoformat()}).status_code == 200


def test_api(db, parties, setup, client_factory):  # noqa: F811
    users, c = setup
    client = client_factory()
    admin = api_headers(client, "w_admin")
    other = api_headers(client, "w_other")
    hub = api_headers(client, "w_hub")
    assert [x["id"] for x in client.get("/api/v1/contracts", headers=admin).json()] == [c.id]
    assert client.get("/api/v1/contracts", headers=other).json() == []
    assert client.get(f"/api/v1/contracts/{c.id}", headers=other).status_code == 404
    body = client.get(f"/api/v1/contracts/{c.id}/checklist", headers=hub).json()
    assert body["complete"] is True and len(body["rows"]) == 22
    r = client.post(f"/api/v1/contracts/{c.id}/amendments", headers=admin,
                    json={"reason": "Extend the term", "end_date": "2027-03-31"})
    assert r.status_code == 201 and r.json()["changes"][0]["path"] == "term.end_date"
    assert client.post(f"/api/v1/contracts/{c.id}/amendments", headers=hub,
                       json={"reason": "Extend the term", "end_date": "2027-06-30"}).status_code == 403
    r = client.post(f"/api/v1/contracts/{c.id}/phase", headers=admin, json={"to_phase": "implementation"})
    assert r.status_code == 409
    r = client.get(f"/api/v1/contracts/{c.id}/eligibility", headers=admin, params={"as_of": "2026-06-01"})
    assert r.json()["eligible"] == 4 and r.json()["capped"] is True
    new = client.post("/api/v1/contracts", headers=admin, json={
        "name": "Rides", "counterparty_id": parties.cbo.id, "start_date": "2026-01-01", "end_date": "2025-01-01"})
    assert new.status_code == 422 and any(p["field"] == "end_date" for p in new.json()["problems"])


def test_cli_checklist_eligibility_and_launch_block(db, parties, setup, tmp_path):
    from typer.testing import CliRunner

    from socialcare.cli.main import app as cli

    users, c = setup
    runner = CliRunner()
    r = runner.invoke(cli, ["contracts", "checklist", str(c.id), "--as", "w_admin", "--pdf", str(tmp_path / "c.pdf")])
    assert r.exit_code == 0, r.output
    assert "All Yes." in r.output and (tmp_path / "c.pdf").read_bytes().startswith(b"%PDF")
    r = runner.invoke(cli, ["contracts", "eligibility", str(c.id), "--as", "w_hub", "--as-of", AS_OF.isoformat()])
    assert r.exit_code == 0 and "eligible 4" in r.output
    runner.invoke(cli, ["contracts", "phase", str(c.id), "scoping", "--as", "w_admin"])
    runner.invoke(cli, ["contracts", "phase", str(c.id), "pre_launch", "--as", "w_admin"])
    r = runner.invoke(cli, ["contracts", "phase", str(c.id), "implementation", "--as", "w_admin"])
    assert r.exit_code == 1 and "Launch is blocked" in r.output
    r = runner.invoke(cli, ["contracts", "prioritize", str(c.id), "--as", "w_hub"])
    assert r.exit_code == 1  # member lists are for the plan
