"""Request bodies are bounded per route: forms and JSON at 1 MB, uploads at 10 MB (settings)."""

from __future__ import annotations

from tests.web.fixtures import api_headers, csrf_from


def test_a_json_body_over_the_limit_is_refused_before_it_is_read(client, world):
    h = api_headers(client, world.users["staff_a"].username)
    big = {"member_id": 1, "need_domain": "food", "reason": "x" * 1_100_000}
    r = client.post("/api/v1/referrals", json=big, headers=h)
    assert r.status_code == 413


def test_an_upload_route_takes_more_than_a_form(client_factory, world):
    c = client_factory(world.users["admin_a"].username)
    token = csrf_from(c.get("/exchange").text)
    two_mb = b"plan_member_id\n" + b"M1\n" * 700_000
    r = c.post("/exchange/import", data={"layout": "member_eligibility", "csrf_token": token},
               files={"file": ("m.csv", two_mb, "text/csv")})
    assert r.status_code != 413
    r = c.post("/exchange/import", data={"layout": "member_eligibility", "csrf_token": token},
               files={"file": ("m.csv", b"x" * 10_500_000, "text/csv")})
    assert r.status_code == 413
    # a form that is not an upload keeps the small limit
    r = c.post("/screening", data={"csrf_token": token, "member_id": "1", "note": "x" * 1_100_000})
    assert r.status_code == 413


def test_a_fhir_body_over_the_limit_is_refused(client, world):
    h = api_headers(client, world.users["staff_a"].username)
    r = client.post("/fhir/Condition", content=b"{" + b" " * 1_100_000 + b"}", headers={**h, "Content-Type": "application/fhir+json"})
    assert r.status_code == 413


def test_deeply_nested_json_is_a_400_not_a_500(client, world):
    h = api_headers(client, world.users["staff_a"].username)
    body = "[" * 100_000 + "]" * 100_000
    for path in ("/api/v1/referrals", "/fhir/Condition"):
        r = client.post(path, content=body.encode(), headers={**h, "Content-Type": "application/json"})
        assert 400 <= r.status_code < 500, (path, r.status_code)
