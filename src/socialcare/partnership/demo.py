"""Demo step 75: both partners at the table. Each practice of the "Operationalizing Contracts" guide
on at least one contract, co-authored changes (an accepted one showing both acceptances, an open one),
top-three expectations, a case conference, and the demo's escalations on the contracts' pathways.

Where to look (README tour): the hub's hybrid meals contract (implementation) has the co-design role
map, the data systems strategy matrix, the data security review, the member communication plan,
lessons learned, a celebration, a case conference and an accepted proposal; the housing coalition's
shared-savings contract (shared vision) has the site visit with a member story, a teaming event and
an open proposal; the East Side kitchen's fixed-price pilot (renewal) has the sunset plan.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from socialcare.contracts.models import Contract
from socialcare.demo.context import DemoContext
from socialcare.kit.codes import OrgKind
from socialcare.partnership import conferences, escalations, expectations, proposals, workspace
from socialcare.referrals.models import Escalation, Referral
from socialcare.security.principal import system_principal

ORDER = 75

ROLE_MAP = """identification | Monthly prioritized member list from discharge data | plan
identification | Hospital discharge planner referral | both
engagement | First call within 3 business days, in the member's language | partner
engagement | Warm handoff from the plan's care manager | plan
enrollment | Eligibility check in the plan's portal; consent recorded | partner
service_provision | Meal deliveries twice a week; weekly check-in call | partner
service_provision | Authorization and care plan updates | plan
completion | Closing summary to the member's PCP | both
completion | Satisfaction survey and outcome confirmation | partner"""

MATRIX = """Eligible member list | to_partner | monthly | file | none | yes
Hospital discharge notice | to_partner | daily | fhir | none | yes
Referral status (closed loop) | to_plan | each encounter | fhir | Z code | no
Meals delivered (service records) | to_plan | weekly | file | HCPCS | no
HbA1c results for the evaluation | to_partner | quarterly | file | LOINC | yes"""

BARRIER_OF = {"capacity": "capacity", "service_gap": "capacity", "eligibility": "prior_authorization",
              "data_sharing": "communication", "payment": "policy", "member_safety": "other"}


def build(ctx: DemoContext) -> None:
    s, st = ctx.session, ctx.state
    ids = st.get("contract_ids") or {}
    ctx.set_total(5)
    plan = system_principal(st["plan_id"], OrgKind.HEALTH_PLAN, role="plan_admin", username="plan-admin")

    def partner(c: Contract, username: str):
        kind = OrgKind.HUB if c.counterparty_id == st["hub_id"] else OrgKind.CBO
        role = "hub_admin" if kind == OrgKind.HUB else "cbo_admin"
        return system_principal(c.counterparty_id, kind, role=role, username=username)

    today = ctx.today
    hybrid = s.get(Contract, ids["hybrid"]) if "hybrid" in ids else None
    if hybrid is not None:
        _hybrid(ctx, plan, partner(hybrid, "hub-admin"), hybrid)
    ctx.advance(1)
    vision = s.get(Contract, ids["shared_savings"]) if "shared_savings" in ids else None
    if vision is not None:
        cbo = partner(vision, "cbo-admin")
        visit = workspace.schedule(s, plan, vision.id, kind="site_visit", title="Site visit to the coalition's office",
                                   scheduled_on=today - timedelta(days=20), assigned_to="Dana Whitfield")
        workspace.record(s, plan, vision.id, visit.id, status="done", held_on=today - timedelta(days=20),
                         notes="Toured the intake office and the furniture bank; met two housing navigators.")
        workspace.add_story(s, cbo, vision.id, visit.id,
                            "A father of three moved from a shelter into an apartment after the navigator found a "
                            "landlord who accepted his voucher; his son's asthma visits stopped.")
        workspace.schedule(s, cbo, vision.id, kind="teaming", title="Teaming lunch: navigators and care managers",
                           scheduled_on=today + timedelta(days=10), assigned_to="Tom Kowalski")
        expectations.save(s, plan, vision.id, {
            ("partner", 1): "Tell us early when members cannot be reached",
            ("partnership", 1): "Decide together, with data both sides trust",
            ("program", 1): "Fewer emergency visits for members who find stable housing"})
        expectations.save(s, cbo, vision.id, {
            ("partner", 1): "Pay within 30 days of an invoice",
            ("partner", 2): "One contact who answers within two days",
            ("partnership", 1): "Our staff's knowledge of the community shapes the program",
            ("program", 1): "Members keep their housing a year later"})
        proposals.propose(s, cbo, vision.id, "vision", {
            "vision": (vision.vision or "") + " Members housed through the program keep their homes a year later."},
            "Add what success looks like for the members",
            now=datetime.combine(today - timedelta(days=2), datetime.min.time(), UTC))
    ctx.advance(1)
    pilot = s.get(Contract, ids["fixed_price"]) if "fixed_price" in ids else None
    if pilot is not None:
        sunset = workspace.schedule(s, plan, pilot.id, kind="sunset", title="Sunset plan if the pilot is not renewed",
                                    scheduled_on=today + timedelta(days=30), owner_party="both")
        workspace.record(s, plan, pilot.id, sunset.id, notes="Members keep their CHW until the end of the term; "
                         "those with open work move to the hub's care management contract.", data={"messages": {
                             "en": "Your community health worker program is changing. We will call you to keep "
                                   "your support going without a gap.",
                             "es": "Su programa de trabajadores de salud comunitarios va a cambiar. Le llamaremos "
                                   "para que su apoyo continúe sin interrupción."}})
        lesson = workspace.schedule(s, plan, pilot.id, kind="lessons", title="What the pilot taught us")
        workspace.record(s, plan, pilot.id, lesson.id, status="done", held_on=today - timedelta(days=15),
                         notes="Phone outreach alone reached a third of members; home visits doubled engagement.")
    ctx.advance(1)
    for key, kind, title in (("bundled", "security_review", "Data security review before launch"),
                             ("capitation", "co_design", "Co-design session: delegated care management")):
        if key in ids:
            workspace.schedule(s, plan, ids[key], kind=kind, title=title, scheduled_on=today + timedelta(days=14))
    ctx.advance(1)
    _escalations(ctx, ids)
    ctx.advance(1)


def _hybrid(ctx: DemoContext, plan, hub, c: Contract) -> None:
    s, today = ctx.session, ctx.today
    # an accepted proposal: the plan asks for a yearly security review, the hub accepts (both acceptances)
    values = proposals.current_values(s, c, "scope")
    ds = dict(values["how"].get("data_sharing") or {})
    ds.update(security_review_every_months=12, block_when_review_overdue=True)
    values["how"] = {**values["how"], "data_sharing": ds}
    p = proposals.propose(s, plan, c.id, "scope", values, "A yearly data security review, as the guide recommends",
                          now=datetime.combine(today - timedelta(days=40), datetime.min.time(), UTC))
    proposals.respond(s, hub, c.id, p.id, "accept", "Agreed; our IT lead will own it",
                      now=datetime.combine(today - timedelta(days=38), datetime.min.time(), UTC))
    proposals.propose(s, hub, c.id, "goals", {"goals": {"outreach_rate": 85, "contact_rate": 60}},
                      "Raise the outreach goal now that two more drivers joined",
                      now=datetime.combine(today - timedelta(days=3), datetime.min.time(), UTC))
    review = workspace.schedule(s, hub, c.id, kind="security_review", title="Annual data security review",
                                owner_party="partner", assigned_to="Hub IT lead")
    workspace.record(s, plan, c.id, review.id, status="done", held_on=today - timedelta(days=35),
                     notes="Encryption at rest confirmed; two staff accounts without MFA fixed.")
    co = workspace.schedule(s, hub, c.id, kind="co_design", title="Co-design: who does what for each member",
                            scheduled_on=today - timedelta(days=200))
    workspace.record(s, hub, c.id, co.id, status="done", held_on=today - timedelta(days=200),
                     data={"role_map": workspace.parse_role_map(ROLE_MAP)},
                     notes="Discharge planners, the hub's coordinators and two CBO directors designed the flow.")
    strat = workspace.schedule(s, plan, c.id, kind="data_strategy", title="Data systems strategy session",
                               scheduled_on=today - timedelta(days=190))
    workspace.record(s, plan, c.id, strat.id, status="done", held_on=today - timedelta(days=190),
                     data={"matrix": workspace.parse_matrix(MATRIX)})
    comm = workspace.schedule(s, hub, c.id, kind="comm_plan", title="Member communication plan")
    workspace.record(s, hub, c.id, comm.id, status="done", held_on=today - timedelta(days=180), data={"window_days": 7},
                     notes="The hub's coordinator makes the first call; the plan's care manager calls only after "
                           "checking the referral's contact history.")
    lesson = workspace.schedule(s, plan, c.id, kind="lessons", title="Quarterly lessons learned")
    workspace.record(s, plan, c.id, lesson.id, status="done", held_on=today - timedelta(days=30),
                     notes="Calling within a day of discharge doubles the contact rate; texts work better than "
                           "voicemail for members under 40.")
    party = workspace.schedule(s, hub, c.id, kind="celebration", title="1,000th meal delivered")
    workspace.record(s, hub, c.id, party.id, status="done", held_on=today - timedelta(days=60),
                     notes="Drivers, coordinators and the plan's team shared lunch at the Erie kitchen.")
    expectations.save(s, plan, c.id, {("partner", 1): "Reach each member within 3 business days",
                                      ("partnership", 1): "Share problems early through the escalation pathway",
                                      ("program", 1): "Fewer readmissions within 30 days of discharge"})
    expectations.save(s, hub, c.id, {("partner", 1): "Referrals with a working phone number",
                                     ("partnership", 1): "Decide rate changes together at the JOC",
                                     ("program", 1): "Sustainable pay for the network's CBOs"})
    refs = s.scalars(select(Referral.id).where(Referral.owner_org_id == c.counterparty_id,
                                               Referral.plan_id == c.plan_id, Referral.parent_id.is_(None))
                     .order_by(Referral.id).limit(2)).all()
    conf = conferences.create(s, hub, c.id, held_on=today - timedelta(days=7), title="Biweekly case conference",
                              attendees=["Rosa Delgado (hub)", "Marcus Greene (plan)", "Erie Home Meals coordinator"])
    for rid in refs:
        conferences.add_case(s, hub, c.id, conf.id, rid)
    conferences.save_notes(s, hub, c.id, conf.id, held=True,
                           notes="Case 1: two missed deliveries; the member was readmitted. Case 2: needs diabetic "
                                 "meals; the kitchen can start next week.")


def _escalations(ctx: DemoContext, ids: dict) -> None:
    """The demo's escalations on their contracts' pathways, with a barrier; overdue ones climb."""
    s, st = ctx.session, ctx.state
    contracts = {cid: s.get(Contract, cid) for cid in ids.values()}
    live = [c for c in contracts.values() if c.phase in ("implementation", "renewal")]
    by_org = {c.counterparty_id: c for c in live}
    hub_contract = by_org.get(st["hub_id"])
    network = set(st.get("network_cbo_ids", []))
    now = datetime.combine(ctx.today, datetime.min.time(), UTC) + timedelta(hours=12)
    for esc in s.scalars(select(Escalation).order_by(Escalation.id)):
        c = by_org.get(esc.raised_by_org_id) or (hub_contract if esc.raised_by_org_id in network else None)
        esc.barrier = BARRIER_OF.get(esc.category, "other")
        if c is None:
            continue
        esc.contract_id = c.id
        levels = escalations.pathway(s, c)
        if levels and esc.status != "resolved":
            escalations.assign_level(s, esc, levels[0], esc.created_at.replace(tzinfo=UTC)
                                     if esc.created_at.tzinfo is None else esc.created_at)
    s.flush()
    escalations.climb_overdue(s, now)
    s.execute(update(Escalation).where(Escalation.barrier.is_(None)).values(barrier="other"))
