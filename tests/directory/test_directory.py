"""Searching the directory by need domain, county, zip and text; organization, service and hub pages; the API."""

from __future__ import annotations

import pytest

from socialcare.core.errors import InvalidInput
from socialcare.directory import service
from tests.web.fixtures import api_headers


def _ids(items):
    return {i["id"] for i in items}


@pytest.fixture
def headers(client, world):
    return api_headers(client, "cbo_staff")


def test_services_by_need_domain_and_county(client, headers, world):
    r = client.get("/api/v1/directory/services", headers=headers, params={"need_domain": "food", "county": "Erie"})
    assert r.status_code == 200
    # meals declare Erie; the pantry is offered at the organization's kitchen in Erie
    assert _ids(r.json()["items"]) == {world.services["meals"].id, world.services["pantry"].id}
    # Niagara is the organization's area: it stands for the pantry (no area of its own), not for the
    # meals, which declare Erie only
    r = client.get("/api/v1/directory/services", headers=headers, params={"county": "Niagara County"})
    assert _ids(r.json()["items"]) == {world.services["pantry"].id}
    r = client.get("/api/v1/directory/services", headers=headers, params={"need_domain": "housing", "county": "Erie"})
    assert r.json()["total"] == 0


def test_a_zip_finds_services_covering_its_county(client, headers, world):
    # 14201 is Buffalo, in Erie County: no area names the zip, the county match finds the meals
    r = client.get("/api/v1/directory/services", headers=headers, params={"zip": "14201", "need_domain": "food"})
    assert world.services["meals"].id in _ids(r.json()["items"])
    r = client.get("/api/v1/directory/services", headers=headers, params={"zip": "14604"})  # Rochester, Monroe
    assert _ids(r.json()["items"]) == {world.services["housing"].id}


def test_free_text_and_language(client, headers, world):
    r = client.get("/api/v1/directory/services", headers=headers, params={"q": "tailored"})
    assert _ids(r.json()["items"]) == {world.services["meals"].id}
    r = client.get("/api/v1/directory/services", headers=headers, params={"q": "S5170"})
    assert _ids(r.json()["items"]) == {world.services["meals"].id}
    r = client.get("/api/v1/directory/services", headers=headers, params={"language": "es"})
    assert _ids(r.json()["items"]) == {world.services["meals"].id}


def test_organizations_search_shows_need_domains(client, headers, world):
    r = client.get("/api/v1/directory/organizations", headers=headers, params={"need_domain": "food"})
    items = r.json()["items"]
    assert _ids(items) == {world.cbo.id}
    assert items[0]["need_domains"] == ["food"]
    r = client.get("/api/v1/directory/organizations", headers=headers, params={"kind": "community_care_hub"})
    assert _ids(r.json()["items"]) == {world.hub.id}


def test_bad_filters_are_named_and_nothing_runs(client, headers):
    r = client.get("/api/v1/directory/services", headers=headers, params={"need_domain": "pizza", "zip": "12"})
    assert r.status_code == 422
    fields = {p["field"] for p in r.json()["problems"]}
    assert fields == {"need_domain", "zip"}
    with pytest.raises(InvalidInput):
        service.make_filters(state="New York")


def test_hub_page_lists_its_network_today(client, headers, world):
    r = client.get(f"/api/v1/directory/organizations/{world.hub.id}", headers=headers)
    body = r.json()
    assert [n["name"] for n in body["network"]] == ["Buffalo Food Collaborative"]  # the one that left is gone
    r = client.get(f"/api/v1/directory/organizations/{world.cbo.id}", headers=headers)
    assert [h["id"] for h in r.json()["hubs"]] == [world.hub.id]
    assert {s["name"] for s in r.json()["services"]} == {"Medically tailored meals", "Pantry delivery"}


def test_unknown_ids_get_404_problems(client, headers):
    r = client.get("/api/v1/directory/services/999999", headers=headers)
    assert r.status_code == 404 and r.json() == {
        "error": "Not found", "detail": "There is no service 999999 in the directory.", "problems": []
    }


def test_directory_pages(client_factory, world):
    c = client_factory("hub_coord")
    r = c.get("/directory", params={"need_domain": "food", "county": "NY|Erie"})
    assert r.status_code == 200 and "Medically tailored meals" in r.text and "Housing navigation" not in r.text
    assert "Community resource directory" in r.text
    r = c.get("/directory", params={"zip": "14201"}, headers={"HX-Request": "true"})
    assert r.text.lstrip().startswith('<div id="results"') and "Erie County, NY" in r.text
    r = c.get(f"/directory/organizations/{world.hub.id}")
    assert "Network: 1 CBO today" in r.text and "Buffalo Food Collaborative" in r.text
    r = c.get(f"/directory/services/{world.services['meals'].id}")
    assert "S5170-U6" in r.text and "Erie County, NY" in r.text
    r = c.get("/directory", params={"show": "organizations", "kind": "cbo"})
    assert "Buffalo Food Collaborative" in r.text and "Rochester Housing Partners" in r.text
    assert c.get("/directory/organizations/999999").status_code == 404
