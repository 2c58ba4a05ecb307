"""Pages and API of measures and JOC, as a plan user and as the partner CBO's user."""

from __future__ import annotations

from datetime import date

from socialcare.joc import service
from tests.web.fixtures import api_headers, app, client_factory, csrf_from  # noqa: F401 (fixtures)


def _meeting(db, world, committee):
    m = service.create_meeting(db, world.plan_user, committee.id, "2026-03", held_on=date(2026, 4, 14))
    service.save_notes(db, world.plan_user, m.id, plan_only_notes="Internal: consider amending the rate.",
                       partner_updates="Hired two CHWs.")
    return m


def test_plan_and_cbo_open_the_same_meeting_page(db, world, committee, client_factory):  # noqa: F811
    m = _meeting(db, world, committee)
    plan = client_factory(world.plan_user.username)
    page = plan.get(f"/joc/meetings/{m.id}")
    assert page.status_code == 200
    assert "Outreach rate was 79%" in page.text and "Internal: consider amending the rate." in page.text
    assert "Plan view" in page.text
    cbo = client_factory(world.cbo_user.username)
    page = cbo.get(f"/joc/meetings/{m.id}")
    assert page.status_code == 200
    assert "Outreach rate was 79%" in page.text and "Hired two CHWs." in page.text
    assert "Internal: consider amending" not in page.text
    assert "suppressed (fewer than 11)" in page.text
    assert f'action="/joc/meetings/{m.id}/story"' not in page.text  # CBO staff read, do not edit
    other = client_factory(world.other_cbo_user.username)
    assert other.get(f"/joc/meetings/{m.id}").status_code == 404


def test_story_form_refuses_an_identifier_and_keeps_nothing(db, world, committee, client_factory):  # noqa: F811
    m = _meeting(db, world, committee)
    plan = client_factory(world.plan_user.username)
    token = csrf_from(plan.get(f"/joc/meetings/{m.id}").text)
    r = plan.post(f"/joc/meetings/{m.id}/story", data={
        "csrf_token": token, "story": "Call her at 716-555-0142.", "consent": "yes", "consent_method": "verbal"})
    assert r.status_code == 422 and "contains a phone number" in r.text
    db.refresh(m)
    assert m.member_story == ""
    r = plan.post(f"/joc/meetings/{m.id}/story", data={
        "csrf_token": token, "story": "Ms. R got meals within a week.", "consent": "yes", "consent_method": "verbal"})
    assert r.status_code == 200 and "Member story saved" in r.text


def test_report_pdf_and_scorecard_page(db, world, committee, client_factory):  # noqa: F811
    m = _meeting(db, world, committee)
    cbo = client_factory(world.cbo_user.username)
    pdf = cbo.get(f"/joc/meetings/{m.id}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    plan = client_factory(world.plan_user.username)
    page = plan.get(f"/measures/contracts/{world.contract.id}?month=2026-03")
    assert page.status_code == 200 and "<svg" in page.text and "Outreach rate was 79%" in page.text
    frag = plan.get(f"/measures/contracts/{world.contract.id}?month=2026-03", headers={"HX-Request": "true"})
    assert "<html" not in frag.text and "Outreach rate was 79%" in frag.text


def test_api_meeting_and_metrics(db, world, committee, client_factory):  # noqa: F811
    m = _meeting(db, world, committee)
    c = client_factory()
    plan_h = api_headers(c, world.plan_user.username)
    cbo_h = api_headers(c, world.cbo_user.username)
    body = c.get(f"/api/v1/joc/meetings/{m.id}", headers=plan_h).json()
    assert body["scorecard"]["funnel"]["counts"]["assigned"] == 2069 and "plan_only_notes" in body
    body = c.get(f"/api/v1/joc/meetings/{m.id}", headers=cbo_h).json()
    assert "plan_only_notes" not in body
    ar = [s for s in body["scorecard"]["strata"] if s["value"] == "ar"][0]
    assert ar["suppressed"] and ar["counts"] is None
    metrics = c.get(f"/api/v1/measures/contracts/{world.contract.id}/metrics?month=2026-03", headers=plan_h).json()
    assert metrics["outreach_rate"] == "79.3620"
    r = c.put(f"/api/v1/joc/meetings/{m.id}/story", headers=plan_h,
              json={"story": "Born 3/14/1958, she...", "consent": True, "consent_method": "verbal"})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "member_story"
