"""Demo: goals, reporting submissions, and a joint operating committee with a few meetings for each
contract that has started (implementation, renewal, or ended: its last months), run the way the seed's
template describes.

The Pathways contract's meeting for the seed funnel month presents the seed's sample scorecard
(2,069 assigned, 1,642 outreached, 866 contacted, 420 accepted support) against the seed's goals.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import insert, select

from socialcare.contracts.models import Contract
from socialcare.demo.context import DemoContext
from socialcare.joc import service
from socialcare.joc.models import ActionItem, Decision, Participant
from socialcare.kit.codes import OrgKind
from socialcare.measures import rules as mrules
from socialcare.measures import service as measures
from socialcare.measures.models import MeasureExclusion, MeasureGoal, ReportingSubmission
from socialcare.security.principal import system_principal

ORDER = 70

SEED_GOALS = {"outreach_rate": "80", "contact_rate": "55", "accepted_rate": "50"}  # seed 002 sample score card
OTHER_GOALS = {"loop_closure_rate": "70", "documentation_completeness": "90", "data_submission_on_time": "100",
               "reassessment_days": "90"}

PEOPLE = {
    # (name, title, role, side)
    "plan": [("Dana Whitfield", "Director, Social Care Programs", "administrative_lead"),
             ("Marcus Greene", "Program Manager, Community Partnerships", "programmatic_lead"),
             ("Dr. Helen Park", "Associate Medical Director", "medical_leadership"),
             ("Sam Okafor", "Data Analyst", "data_analytics")],
    "partner": [("Rosa Delgado", "Network Director", "administrative_lead"),
                ("Aisha Rahman", "Program Coordinator", "programmatic_lead"),
                ("Jamal Carter", "Community Health Worker", "frontline_staff"),
                ("Linda Brooks", "Executive Director", "executive_sponsor")],
}

STORIES = [
    ("Back home, and eating well",
     "Ms. R, a grandmother who loves her church's choir, came home after a hospital stay with no food in the "
     "house. Our community health worker reached her the day after the referral, set up home-delivered meals "
     "within a week and drove her to her follow-up visit. She says the meals let her rest instead of worry, "
     "and she is singing with the choir again.",
     "Jamal Carter, community health worker"),
    ("A ride to dialysis",
     "Mr. T, a retired bus driver who mentors young drivers in his neighborhood, was missing dialysis because "
     "his ride fell through. The team found a volunteer driver program and a backup taxi voucher; he has not "
     "missed a session in two months and now tells his neighbors about the program.",
     "Aisha Rahman, program coordinator"),
]

PROCESS_NOTES = [
    {"who_assigns": "The plan's care management team builds the monthly list; the hub routes by county and language.",
     "bottlenecks": "Lists arrive mid-month, leaving two weeks for outreach; phone numbers are stale for about 1 in 5.",
     "higher_engagement": "Try a text before the first call, and home visits after two missed calls.",
     "progress": "The data-sharing agreement for daily referral status files is signed."},
    {"how_engaged": "Most members are reached by phone; home visits convert best after a missed call.",
     "escalation_pathway": "Escalations about meal capacity waited a week; name a backup contact at the plan.",
     "unexpected_outcomes": "Several members asked for help with utility bills: a possible next service."},
]


def _at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def build(ctx: DemoContext) -> None:
    s, st = ctx.session, ctx.state
    ids = st.get("contract_ids") or {}
    if not ids:
        return
    plan = system_principal(st["plan_id"], OrgKind.HEALTH_PLAN, username="demo")
    funnel = st.get("seed_funnel") or {}
    contracts = [c for c in s.scalars(select(Contract).where(Contract.id.in_(list(ids.values()))))
                 if c.phase in ("implementation", "renewal", "ended") and c.start_date <= ctx.today]
    ctx.set_total(len(contracts) + 1)

    # goals: the seed's on every running contract, and a few quality goals
    goal_rows = [dict(contract_id=c.id, measure=k, target=v, direction="at_most" if k == "reassessment_days"
                      else "at_least", note="demo", set_by="demo")
                 for c in contracts for k, v in {**SEED_GOALS, **OTHER_GOALS}.items()]
    if goal_rows:
        s.execute(insert(MeasureGoal), goal_rows)

    # a few SNS-E exclusions (hospice, I-SNP) on the roster
    first, last = st.get("member_id_range", (None, None))
    if first is not None:
        picks = ctx.rng.sample(range(first, last + 1), min(6, last - first + 1))
        kinds = ["hospice", "death", "isnp", "lti", "hospice", "isnp"]
        s.execute(insert(MeasureExclusion), [
            dict(member_id=mid, plan_id=st["plan_id"], kind=kinds[i % len(kinds)],
                 start_date=ctx.today - timedelta(days=40 + 7 * i), source="demo enrollment file")
            for i, mid in enumerate(picks)])
    ctx.advance(1)

    seed_month = date.fromisoformat(funnel["contract_month"]) if funnel.get("contract_month") else None
    last_full = mrules.parse_month(ctx.today.replace(day=1) - timedelta(days=1))
    for c in contracts:
        _submissions(ctx, c, min(last_full, mrules.parse_month(c.end_date)))
        if seed_month and c.id == funnel.get("contract_id"):
            months = [seed_month - timedelta(days=1), seed_month, mrules.next_month(seed_month)]
            months = [mrules.parse_month(m) for m in months]
        else:
            end = min(last_full, mrules.parse_month(c.end_date))  # an ended contract: its last months
            months = [mrules.parse_month(end - timedelta(days=40)), end]
        months = [m for m in months if m >= c.start_date.replace(day=1) and m <= last_full]
        _committee(ctx, plan, c, months)
        ctx.advance(1)
    st["joc"] = {"contract_ids": [c.id for c in contracts], "seed_goals": SEED_GOALS}


def _submissions(ctx: DemoContext, c: Contract, last_full: date) -> None:
    rows = []
    for m in mrules.months_between(c.start_date.replace(day=1), last_full):
        due = mrules.month_end(m) + timedelta(days=measures.SUBMISSION_DUE_DAYS)
        late = ctx.rng.random() < 0.15
        when = due + timedelta(days=ctx.rng.randint(1, 6)) if late else due - timedelta(days=ctx.rng.randint(0, 8))
        rows.append(dict(contract_id=c.id, period=m, due_on=due, submitted_at=_at(when), submitted_by="demo",
                         via="file", note=""))
    if rows:
        ctx.session.execute(insert(ReportingSubmission), rows)


def _committee(ctx: DemoContext, plan, c: Contract, months: list[date]) -> None:
    s = ctx.session
    committee = service.create_committee(s, plan, c.id, cadence="monthly", standing_time="Second Tuesday, 10:00–11:00",
                                         location="Video call (link in the calendar invitation)")
    people = []
    for side, org in (("plan", c.plan_id), ("partner", c.counterparty_id)):
        for name, title, role in PEOPLE[side]:
            people.append(dict(committee_id=committee.id, organization_id=org, name=name, title=title,
                               email=f"{name.split()[-1].lower()}@demo.example.org", role=role,
                               core=role in ("administrative_lead", "programmatic_lead"), active=True))
    s.execute(insert(Participant), people)
    s.flush()
    s.refresh(committee)
    participant_ids = [p.id for p in committee.participants]
    prev_items: list[ActionItem] = []
    for i, month in enumerate(months):
        held = mrules.month_end(month) + timedelta(days=14)
        m = service.create_meeting(s, plan, committee.id, month, held_on=held,
                                   as_of=min(_at(held, 8), _at(ctx.today, 8)))  # the demo's clock, not the wall's
        if held > ctx.today:
            continue  # planned: prepared, not yet held
        story_title, story, presenter = STORIES[i % len(STORIES)]
        service.save_story(s, plan, m.id, story=story, title=story_title, presenter=presenter, consent=True,
                           consent_method="verbal", consent_on=held - timedelta(days=10))
        notes = PROCESS_NOTES[i % len(PROCESS_NOTES)]
        attended = [pid for pid in participant_ids if ctx.rng.random() < 0.8]
        service.save_notes(s, plan, m.id, process_notes=notes, attendee_ids=attended, status="held",
                           data_notes="The team walked through the funnel: outreach is close to goal; contact "
                                      "and support provided trail. Spanish- and Arabic-speaking members are "
                                      "reached less often.",
                           plan_updates="The plan is adding social care measures to its quality program and "
                                        "preparing for HEDIS SNS-E reporting.",
                           partner_updates="Two community health workers joined; one speaks Arabic.",
                           plan_only_notes="Consider a rate amendment at renewal if contact stays below goal.")
        s.add(Decision(meeting_id=m.id, text="The plan sends the member list by the 5th of each month.",
                       recorded_by="demo"))
        for item in prev_items:  # last meeting's items: most get done here, one carries over
            if ctx.rng.random() < 0.6:
                service.close_action_item(s, plan, m.id, item.id, note="Done before the meeting.")
        prev_items = [
            service.add_action_item(s, plan, m.id, description="Refresh members' phone numbers from claims",
                                    owner_name="Sam Okafor", owner_side="plan", due_on=held + timedelta(days=14)),
            service.add_action_item(s, plan, m.id, description="Pilot a text message before the first call",
                                    owner_name="Aisha Rahman", owner_side="partner", due_on=held + timedelta(days=21)),
        ]
        if held + timedelta(days=3) <= ctx.today:
            service.mark_sent(s, plan, m.id)
            m.report_sent_at = _at(held + timedelta(days=2))
        m.story_checked_at = _at(held - timedelta(days=3))
        for item in s.scalars(select(ActionItem).where(ActionItem.closed_meeting_id == m.id)):
            item.closed_at = _at(held, 11)  # a handful of rows: the demo's dates, not the wall clock
    s.flush()
