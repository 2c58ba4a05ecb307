"""JOC meetings: the template's agenda, the frozen scorecard, the checked member story, carried-over
action items, escalations since the last meeting, and who sees what."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from socialcare.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from socialcare.joc import report, service
from socialcare.referrals.models import Escalation
from tests.joc.conftest import MONTH
from tests.measures.conftest import add_members


def test_meeting_freezes_the_months_scorecard(db, world, committee):
    m = service.create_meeting(db, world.plan_user, committee.id, "2026-03", held_on=date(2026, 4, 14))
    rates = {r["key"]: r for r in m.scorecard["funnel"]["rates"]}
    assert m.scorecard["funnel"]["counts"]["assigned"] == 2069
    assert (rates["outreach_rate"]["display"], rates["contact_rate"]["display"],
            rates["accepted_rate"]["display"]) == ("79%", "53%", "48%")
    # later data does not change what was presented
    ids = add_members(db, world.plan, 5)
    from tests.measures.conftest import add_referrals
    add_referrals(db, world, ids, month=MONTH, steps=["outreached"])
    db.refresh(m)
    assert m.scorecard["funnel"]["counts"]["assigned"] == 2069
    with pytest.raises(Conflict):
        service.create_meeting(db, world.plan_user, committee.id, "2026-03")


def test_member_story_needs_consent_and_no_identifier(db, world, committee):
    m = service.create_meeting(db, world.plan_user, committee.id, "2026-03")
    (mid,) = add_members(db, world.plan, 1, first_name="Rosa", last_name="Delgado", phone="716-555-0142",
                         birth_date=date(1958, 3, 14))
    from socialcare.members.models import Member
    member = db.get(Member, mid)
    story = f"Rosa was discharged last spring; call {member.phone} to hear more."
    with pytest.raises(InvalidInput) as err:
        service.save_story(db, world.plan_user, m.id, story=story, consent=True, consent_method="verbal",
                           member_id=mid)
    messages = " ".join(p.message for p in err.value.problems)
    assert "names the member" in messages and "phone number" in messages
    db.refresh(m)
    assert m.member_story == ""  # nothing saved
    clean = "Ms. R was discharged last spring. Our CHW reached her within a day; meals kept her home."
    with pytest.raises(InvalidInput) as err:
        service.save_story(db, world.plan_user, m.id, story=clean, consent=False)
    assert err.value.problems[0].field == "story_consent"
    service.save_story(db, world.plan_user, m.id, story=clean, consent=True, consent_method="written",
                       member_id=mid, presenter="Frontline CHW")
    db.refresh(m)
    assert m.member_story == clean and m.story_checked_at is not None


def test_action_items_carry_over_until_closed(db, world, committee):
    march = service.create_meeting(db, world.plan_user, committee.id, "2026-03", held_on=date(2026, 4, 14))
    item = service.add_action_item(db, world.plan_user, march.id, description="Fix the phone list for outreach",
                                   owner_name="Luis Ortega", owner_side="partner", due_on=date(2026, 5, 1))
    april = service.create_meeting(db, world.plan_user, committee.id, "2026-04", held_on=date(2026, 5, 12))
    may = service.create_meeting(db, world.plan_user, committee.id, "2026-05", held_on=date(2026, 6, 9))
    assert [i.id for i in service.agenda(db, world.plan_user, april.id).carried_over] == [item.id]
    assert [i.id for i in service.agenda(db, world.plan_user, march.id).opened_here] == [item.id]
    service.close_action_item(db, world.plan_user, april.id, item.id, note="new list loaded")
    assert [i.status for i in service.agenda(db, world.plan_user, april.id).carried_over] == ["done"]
    assert service.agenda(db, world.plan_user, may.id).carried_over == []
    with pytest.raises(InvalidInput):
        service.add_action_item(db, world.plan_user, may.id, description="x", owner_name="", due_on=None)


def test_escalations_since_the_last_meeting_and_who_sees_them(db, world, committee):
    march = service.create_meeting(db, world.plan_user, committee.id, "2026-03", held_on=date(2026, 4, 14))
    april = service.create_meeting(db, world.plan_user, committee.id, "2026-04", held_on=date(2026, 5, 12))
    for org, day in ((world.cbo, date(2026, 4, 10)), (world.cbo, date(2026, 4, 20)), (world.cbo, date(2026, 5, 13))):
        db.add(Escalation(plan_id=world.plan.id, raised_by_org_id=org.id, category="capacity", severity="high",
                          subject="Waitlist for home-delivered meals", status="open",
                          created_at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC)))
    db.flush()
    assert len(service.agenda(db, world.plan_user, march.id).escalations) == 1   # Apr 10 (since contract start)
    assert len(service.agenda(db, world.plan_user, april.id).escalations) == 1   # Apr 20 only
    assert len(service.agenda(db, world.cbo_user, april.id).escalations) == 1    # raised by the CBO itself


def test_plan_and_partner_see_what_their_organization_may(db, world, committee):
    m = service.create_meeting(db, world.plan_user, committee.id, "2026-03")
    service.save_notes(db, world.plan_user, m.id, plan_only_notes="Consider amending the rate in Q3.",
                       partner_updates="Hired two CHWs.")
    plan_view = service.agenda(db, world.plan_user, m.id)
    cbo_view = service.agenda(db, world.cbo_user, m.id)
    assert plan_view.plan_side and not cbo_view.plan_side
    ar_plan = [s for s in plan_view.scorecard["strata"] if s["value"] == "ar"][0]
    ar_cbo = [s for s in cbo_view.scorecard["strata"] if s["value"] == "ar"][0]
    assert ar_plan["counts"]["assigned"] == 3 and ar_cbo["suppressed"] and ar_cbo["counts"] is None
    with pytest.raises(Forbidden):  # CBO staff read the meeting; they do not edit it
        service.save_notes(db, world.cbo_user, m.id, partner_updates="x")
    with pytest.raises(NotFound):
        service.agenda(db, world.other_cbo_user, m.id)


def test_report_pdf_has_visible_charts_and_no_member_identifier(db, world, committee, tmp_path):
    m = service.create_meeting(db, world.plan_user, committee.id, "2026-03")
    service.save_story(db, world.plan_user, m.id, story="Ms. R found steady meals and a ride to her doctor.",
                       consent=True, consent_method="verbal")
    service.save_notes(db, world.plan_user, m.id, plan_only_notes="INTERNAL-ONLY note",
                       process_notes={"bottlenecks": "Lists arrive late in the month."})
    service.add_decision(db, world.plan_user, m.id, "Send the member list by the 5th of each month.")
    html = report.report_html(db, world.plan_user, m.id)
    assert "INTERNAL-ONLY" not in html
    assert "Outreach rate was 79%" in html and "Lists arrive late in the month." in html
    assert "suppressed (fewer than 11)" in html  # the 3 Arabic speakers
    from sqlalchemy import select

    from socialcare.members.models import Member
    members = db.execute(select(Member.plan_member_id, Member.last_name, Member.phone)
                         .where(Member.plan_id == world.plan.id)).all()
    for pmid, last, _phone in members:
        assert pmid not in html and last not in html
    pdf = report.report_pdf(db, world.plan_user, m.id)
    assert pdf.startswith(b"%PDF")
    pypdfium2 = pytest.importorskip("pypdfium2")
    doc = pypdfium2.PdfDocument(pdf)
    assert len(doc) >= 2
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    assert "Outreach rate was 79%" in text and "Member story" in text
    # the charts are drawn: the page with the funnel chart has plenty of coloured (non-grey) pixels
    coloured = 0
    for i in range(len(doc)):
        img = doc[i].render(scale=1).to_pil().convert("RGB")
        coloured += sum(1 for r, g, b in img.getdata() if max(r, g, b) - min(r, g, b) > 60)
    assert coloured > 5000
    doc[1].render(scale=1.5).to_pil().save(tmp_path / "page2.png")
