"""Demo step 60: what the partnership delivered on the referrals step 50 left in progress or completed.

For every referral a CBO (or the hub) enrolled the member in and started serving (the leaf of a routed
referral, so nothing is counted twice), this step adds:

* service records from the service start until the referral closed (or the demo's today), at the
  rhythm of the service's unit: meals twice a week, medically tailored meal days weekly, CHW care
  management and personal care visits weekly in 15-minute units, rides, housing support days...
  mostly at home (POS 12), some by telehealth (10, with the GQ modifier on T1016), rides at 99;
* a care management episode (the MARC case rate: 90 days) for each care management referral; the
  CBO asks the plan for a renewal in the last weeks of the period and the plan approves most,
  denies a few, and some are still waiting;
* for the hub's network agencies (the Pathways Community HUB contract), a pathway for the need
  (food security, medical home, social service referral...) walked step by step; the hub confirms
  the outcome of completed referrals (and of some still open whose steps are all done); pathways of
  closed, unresolved ones finish incomplete; and confirmed engagements: a home visit at enrollment,
  then about every two months;
* flexible fund disbursements (utilities, transport vouchers, food) for some members in crisis.

Every date follows the referral's own timeline and never passes the demo's today. Rows are built in
Python per referral and bulk-loaded (COPY on PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import aliased

from socialcare.delivery import rules
from socialcare.delivery.models import (
    CareEpisode,
    Engagement,
    EpisodeRenewal,
    FlexFundDisbursement,
    PathwayInstance,
    PathwayStep,
    ServiceRecord,
)
from socialcare.demo.context import DemoContext
from socialcare.directory.models import Service
from socialcare.kit.bulk import bulk_insert, next_id
from socialcare.kit.codes import NEED_DOMAINS
from socialcare.referrals.models import Referral

ORDER = 60

# need -> the pathway a HUB agency opens for it (pathways.yaml codes; the contract pays these)
PATHWAY_FOR_NEED = {
    "food": "food_security",
    "utilities": "social_service_referral",
    "transportation": "social_service_referral",
    "care_management": "medical_home",
    "housing": "housing",
    "transition_support": "medication_management",
}
CHW_NAMES = ["A. Okafor", "M. Delgado", "S. Nguyen", "T. Brooks", "R. Haddad", "K. Sharma", "J. Kowalski",
             "L. Thompson", "D. Rivera", "P. Begum"]

SR_COLS = ["plan_id", "member_id", "organization_id", "referral_id", "service_id", "need_domain", "service_code",
           "hcpcs", "modifiers", "service_date", "units", "place_of_service", "diagnosis_code", "staff_user_id",
           "staff_name", "note", "status", "created_by_user_id", "created_by"]


@dataclass
class Ref:
    id: int
    plan_id: int
    member_id: int
    org_id: int
    service_id: int
    need: str
    status: str
    enrolled: date
    started: date
    closed: date | None
    code: str | None
    unit: str


def _d(x) -> date | None:
    if x is None:
        return None
    return x.date() if isinstance(x, datetime) else x


def _ts(d: date, rng) -> str:
    return datetime.combine(d, time(rng.randint(9, 16), rng.randint(0, 59))).strftime("%Y-%m-%d %H:%M:%S.%f")


def _referrals(ctx: DemoContext) -> list[Ref]:
    child = aliased(Referral)
    rows = ctx.session.execute(
        select(Referral.id, Referral.plan_id, Referral.member_id, Referral.owner_org_id, Referral.service_id,
               Referral.need_domain, Referral.status, Referral.enrolled_at, Referral.service_started_at,
               Referral.closed_at, Service.service_code, Service.unit)
        .join(Service, Service.id == Referral.service_id)
        .where(Referral.owner_org_id.is_not(None), Referral.enrolled_at.is_not(None),
               Referral.service_started_at.is_not(None),
               ~select(child.id).where(child.parent_id == Referral.id).exists())
        .order_by(Referral.id)).all()
    out = []
    for r in rows:
        started = _d(r[8])
        out.append(Ref(r[0], r[1], r[2], r[3], r[4], r[5], r[6], _d(r[7]) or started, started, _d(r[9]),
                       r[10], r[11]))
    return out


def _rhythm(unit: str, code: str | None, rng) -> tuple[int, tuple[int, int], str]:
    """(days between records, units range, place of service) for a service's unit."""
    if unit == "meal":
        return 3, (6, 8), "12"  # two deliveries a week, a few days of meals each
    if unit == "day" and code == "S9977":
        return 7, (7, 7), "12"  # a week of medically tailored meals
    if unit == "day":
        return 7, (5, 7), "12" if code != "T2033" else "16"
    if unit == "15 minutes":
        return 7, (2, 6), "12"
    if unit == "mile":
        return 14, (8, 40), "99"
    if unit == "trip":
        return 10, (2, 2), "99"  # a round trip
    if unit == "episode":
        return 10_000, (1, 1), "12"
    return 30, (1, 1), "11"  # sessions, visits


def build(ctx: DemoContext) -> None:
    s, rng, st, today = ctx.session, ctx.rng, ctx.state, ctx.today
    refs = _referrals(ctx)
    ctx.set_total(5)
    network = set(st.get("network_cbo_ids", [])) | ({st["hub_id"]} if "hub_id" in st else set())
    user_ids, logins, login_orgs = st.get("user_ids", {}), st.get("logins", {}), st.get("login_orgs", {})
    cbo_login = (login_orgs.get("cbo_staff"), user_ids.get("cbo_staff"), (logins.get("cbo_staff") or (None,))[0])
    ind_login = (login_orgs.get("cbo_staff_independent"), user_ids.get("cbo_staff_independent"),
                 (logins.get("cbo_staff_independent") or (None,))[0])
    hub_user = (user_ids.get("hub_coordinator"), (logins.get("hub_coordinator") or ("hub-coordinator",))[0])
    plan_user = (user_ids.get("plan_staff"), (logins.get("plan_staff") or ("plan-staff",))[0])

    def staff(org_id: int) -> tuple[int | None, str]:
        for org, uid, name in (cbo_login, ind_login):
            if org == org_id and uid and rng.random() < 0.5:
                return uid, name
        return None, CHW_NAMES[(org_id * 7 + rng.randint(0, 2)) % len(CHW_NAMES)]

    # 1. service records
    records = []
    for r in refs:
        end = min(r.closed or today, today)
        if r.status in ("on-hold",):
            end = min(end, r.started + timedelta(days=21))
        every, (lo, hi), pos = _rhythm(r.unit, r.code, rng)
        code = rules.parse_service_code(r.code) if r.code else None
        dx = NEED_DOMAINS.get(r.need).z_code if r.need in NEED_DOMAINS else None
        day, n = r.started, 0
        while day <= end and n < 16:
            uid, name = staff(r.org_id)
            c, p = code, pos
            if code and code.hcpcs == "T1016" and rng.random() < 0.2:
                c, p = rules.ServiceCode(code.hcpcs, (*code.modifiers, "GQ")), "10"  # telehealth contact
            records.append((r.plan_id, r.member_id, r.org_id, r.id, r.service_id, r.need,
                            c.text if c else None, c.hcpcs if c else None, c.modifier_text if c else None,
                            day.isoformat(), rng.randint(lo, hi), p, dx if rng.random() < 0.6 else None, uid, name,
                            None, "recorded", uid, name))
            n += 1
            day += timedelta(days=every + rng.choice((-1, 0, 0, 1)) if every < 10_000 else every)
    # a few records corrected later: entered in error (kept, not paid)
    voids = set(rng.sample(range(len(records)), min(len(records) // 150, len(records))))
    records = [rec[:16] + ("entered-in-error",) + rec[17:] if i in voids else rec for i, rec in enumerate(records)]
    bulk_insert(s, ServiceRecord, SR_COLS, records)
    if voids:
        from sqlalchemy import update

        s.execute(update(ServiceRecord).where(ServiceRecord.status == "entered-in-error",
                                              ServiceRecord.void_reason.is_(None))
                  .values(void_reason="recorded for the wrong member; re-entered", voided_by="demo"))
    ctx.advance(1)

    # 2. care management episodes (MARC case rate, 90 days) and renewals decided by the plan
    ep_id = next_id(s, CareEpisode)
    episodes, renewals = [], []
    for r in refs:
        if r.need != "care_management":
            continue
        start = r.enrolled
        period = rules.DEFAULT_PERIOD_DAYS
        first_end = rules.period_end(start, period)
        uid, name = staff(r.org_id)
        status, actual_end, close_reason = "active", None, None
        planned = first_end
        if r.closed and r.status in ("completed", "failed", "cancelled"):
            actual_end = min(r.closed, first_end)
            status = rules.close_status(start, first_end, actual_end).value
            close_reason = "goals met" if r.status == "completed" else "member disengaged"
        elif today >= first_end - timedelta(days=28):  # the last weeks of the period: ask the plan to renew
            asked = first_end - timedelta(days=rng.randint(7, 28))
            if asked <= today:
                roll = rng.random()
                decided = asked + timedelta(days=rng.randint(1, 5))
                state = "requested" if roll < 0.3 or decided > today else ("denied" if roll < 0.4 else "approved")
                b, e = rules.next_renewal_period(start, period, [])
                renewals.append((ep_id, 1, b.isoformat(), e.isoformat(), state,
                                 rng.choice(["housing search still under way", "new diagnosis; care plan not yet "
                                             "stable", "member re-engaged after a hospital stay"]),
                                 _ts(asked, rng), name, uid,
                                 None if state == "requested" else _ts(decided, rng),
                                 None if state == "requested" else plan_user[1],
                                 None if state == "requested" else plan_user[0],
                                 "goals met; step down to routine follow-up" if state == "denied" else None))
                if state == "approved":
                    planned = e
        episodes.append((ep_id, r.plan_id, r.member_id, r.org_id, r.id, r.service_id,
                         "Community care management", "T1016", start.isoformat(), period, 1,
                         planned.isoformat(), actual_end.isoformat() if actual_end else None, status, close_reason,
                         name if actual_end else None, uid, name))
        ep_id += 1
    bulk_insert(s, CareEpisode, ["id", "plan_id", "member_id", "organization_id", "referral_id", "service_id",
                                 "program", "billing_code", "start_date", "period_days", "max_renewals",
                                 "planned_end", "actual_end", "status", "close_reason", "closed_by",
                                 "created_by_user_id", "created_by"], episodes)
    bulk_insert(s, EpisodeRenewal, ["episode_id", "sequence", "period_start", "period_end", "status", "reason",
                                    "requested_at", "requested_by", "requested_by_user_id", "decided_at",
                                    "decided_by", "decided_by_user_id", "decision_note"], renewals)
    ctx.advance(1)

    # 3. pathways and confirmed engagements (the hub's network agencies)
    catalog = rules.pathway_catalog()
    pw_id = next_id(s, PathwayInstance)
    instances, steps, visits = [], [], []
    for r in refs:
        if r.org_id not in network or r.need not in PATHWAY_FOR_NEED:
            continue
        codes = [PATHWAY_FOR_NEED[r.need]]
        if r.need == "care_management" and rng.random() < 0.35:
            codes.append("medication_management")
        uid, name = staff(r.org_id)
        last = min(r.closed or today, today)
        for code in codes:
            pdef = catalog.get(code)
            day = r.enrolled
            done = []
            for i, sd in enumerate(pdef.steps[:-1]):
                if i:
                    day = day + timedelta(days=rng.randint(*((0, 3) if i == 1 else (3, 14))))
                if day > last:
                    break
                done.append((sd.code, day))
            if not done:
                continue
            status, confirmed, closed, note = "open", None, None, None
            resolved = r.status == "completed" or (  # outcome reached while other help goes on
                r.status == "in-progress" and len(done) == len(pdef.steps) - 1
                and done[-1][1] <= today - timedelta(days=10) and rng.random() < 0.6)
            if len(done) == len(pdef.steps) - 1 and resolved:
                confirmed = min(done[-1][1] + timedelta(days=rng.randint(3, 20)), today)
                if r.closed and confirmed > r.closed + timedelta(days=30):
                    confirmed = r.closed
                confirmed = max(confirmed, done[-1][1])
                status, closed, note = "completed", confirmed, pdef.outcome
                done.append((pdef.steps[-1].code, confirmed))
            elif r.status in ("failed", "cancelled") and r.closed:
                status, closed, note = "finished-incomplete", max(r.closed, done[-1][1]), "member could not be reached"
            instances.append((pw_id, r.plan_id, r.member_id, r.org_id, r.id, code, r.enrolled.isoformat(), status,
                              confirmed.isoformat() if confirmed else None,
                              _ts(confirmed, rng) if confirmed else None,
                              hub_user[1] if confirmed else None, hub_user[0] if confirmed else None,
                              closed.isoformat() if closed else None, note, uid, name))
            for sc, sday in done:
                steps.append((pw_id, sc, sday.isoformat(), hub_user[1] if sc == "outcome_confirmed" else name,
                              hub_user[0] if sc == "outcome_confirmed" else uid))
            pw_id += 1
        # confirmed engagements: the home visit at enrollment, then about every two months while served
        day = r.enrolled
        while day <= last:
            visits.append((r.plan_id, r.member_id, r.org_id, day.isoformat(),
                           "home_visit" if rng.random() < 0.85 else "community_visit", name, uid,
                           None, uid, name))
            day += timedelta(days=rng.randint(50, 70))
    bulk_insert(s, PathwayInstance, ["id", "plan_id", "member_id", "organization_id", "referral_id", "pathway_code",
                                     "opened_on", "status", "confirmed_on", "confirmed_at", "confirmed_by",
                                     "confirmed_by_user_id", "closed_on", "outcome_note", "created_by_user_id",
                                     "created_by"], instances)
    bulk_insert(s, PathwayStep, ["instance_id", "step_code", "completed_on", "recorded_by", "recorded_by_user_id"],
                steps)
    bulk_insert(s, Engagement, ["plan_id", "member_id", "organization_id", "engaged_on", "kind", "staff_name",
                                "staff_user_id", "note", "created_by_user_id", "created_by"], visits)
    ctx.advance(1)

    # 4. flexible member fund: crisis help for some members
    category_for = {"utilities": ("utilities", 60, 150), "transportation": ("transport_voucher", 15, 40),
                    "food": ("food", 25, 75), "care_management": ("gift_card", 25, 50),
                    "housing": ("goods", 40, 120)}
    payees = {"utilities": "National Fuel / NYSEG", "transport_voucher": "NFTA bus pass", "food": "Tops Markets",
              "gift_card": "Grocery gift card", "goods": "Move-in supplies"}
    funds = []
    for r in refs:
        if r.need not in category_for or rng.random() > 0.18:
            continue
        cat, lo, hi = category_for[r.need]
        on = min(r.started + timedelta(days=rng.randint(0, 20)), today)
        uid, name = staff(r.org_id)
        amount = Decimal(rng.randint(lo, hi)) + (Decimal("0.50") if rng.random() < 0.2 else Decimal(0))
        funds.append((r.plan_id, r.member_id, r.org_id, cat, str(amount), on.isoformat(), payees[cat],
                      rng.choice(["shut-off notice", "ride to dialysis", "groceries until SNAP starts",
                                  "crisis after discharge"]), name, uid, uid, name))
    bulk_insert(s, FlexFundDisbursement, ["plan_id", "member_id", "organization_id", "category", "amount",
                                          "disbursed_on", "payee", "purpose", "approved_by", "approved_by_user_id",
                                          "created_by_user_id", "created_by"], funds)
    ctx.advance(1)

    # every record knows its contract, as the web app's and the file imports' do (contracts/attributing.py)
    from socialcare.contracts.attributing import attribute_existing

    st["attribution"] = attribute_existing(s, kinds=("service_record", "episode", "pathway", "engagement",
                                                     "disbursement"), today=today)
    st["delivery"] = {"service_records": len(records), "episodes": len(episodes), "renewals": len(renewals),
                      "pathways": len(instances), "pathways_completed": sum(1 for i in instances if i[7] == "completed"),
                      "engagements": len(visits), "disbursements": len(funds)}
    ctx.advance(1)
