"""Demo step 50: screenings, social needs, closed-loop referrals, consents and escalations.

* About 30% of members were screened in the last year with the AHC HRSN core questions (5% declined);
  each screening is scored by screening/rules.py, so positive domains and Z codes are the instrument's.
* Positive food, utilities and transportation needs are referred to the hub, which routes them to a
  network CBO serving the member's county (a sub-referral); housing goes straight to the housing
  coalition; some transportation to the independent ride service. Each referral is walked through
  the lifecycle with realistic delays, stopping at the demo's "now", so every state occurs (recent
  referrals are still open, some overdue) and every step was validated by referrals/rules.py.
* Seed 002's sample score card: one contract month in which the plan assigned 2,069 members to the
  hub for care management; 1,642 were outreached, 866 contacted and 420 accepted support. Those
  counts are reproduced exactly (when the demo has at least 10,000 members; scaled down otherwise)
  and described in ``ctx.state["seed_funnel"]`` for the measures step.
* Consents are recorded when members are contacted (a few revoked later); escalations from CBO staff
  to the plan's designated contact, some resolved.

Rows are built in Python per referral (a few thousand) and bulk-loaded (kit.bulk: COPY on
PostgreSQL); nothing goes through the ORM one row at a time.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from socialcare.demo.context import DemoContext
from socialcare.directory.models import Service
from socialcare.kit.bulk import bulk_insert, next_id
from socialcare.members.models import Member
from socialcare.referrals import rules
from socialcare.referrals.models import (
    Consent,
    Escalation,
    EscalationContact,
    Referral,
    ReferralBatch,
    ReferralEvent,
)
from socialcare.referrals.rules import Side, Snapshot, Status
from socialcare.screening import rules as screening_rules
from socialcare.screening.models import Screening, ScreeningAnswer, SocialNeed

ORDER = 50

SCREENED_SHARE = 0.30
DECLINED_SHARE = 0.05
REFERRED_SHARE = 0.6  # of positive food/housing/transportation/utilities needs found in the last 6 months
SEED_FUNNEL = {"assigned": 2069, "outreached": 1642, "contacted": 866, "accepted": 420}  # seed 002 score card
SEED_FUNNEL_MIN_MEMBERS = 10_000

HITS = ["95618-5", "95617-7", "95616-9", "95615-1"]
HITS_CODES = ["LA6270-8", "LA10066-1", "LA10082-8", "LA16644-9", "LA6482-9"]
Q2_POSITIVE = ["LA31996-4", "LA28580-1", "LA31997-2", "LA31998-0", "LA31999-8", "LA32000-4", "LA32001-2"]

REFERRAL_COLS = [
    "id", "plan_id", "requester_org_id", "owner_org_id", "parent_id", "member_id", "need_domain", "service_id",
    "social_need_id", "batch_id", "contract_id", "reason", "urgency", "discharge_at", "status", "business_status",
    "status_reason", "outreach_attempts", "version", "idempotency_key", "request_hash", "source",
    "contract_version", "contract_reason",
    "created_by_user_id", "created_by", "created_at", "requested_at", "outreach_due_at", "contact_due_at",
    "service_due_at", "accepted_at", "routed_at", "first_outreach_at", "contacted_at", "enrolled_at",
    "service_started_at", "closed_at", "updated_at",
]
SCREENING_COLS = ["id", "member_id", "plan_id", "organization_id", "referral_id", "instrument", "panel_loinc", "status",
                  "data_absent_reason", "screened_at", "screened_by_user_id", "screened_by", "safety_score",
                  "hvs_result", "positive_domains", "note", "created_at"]
ANSWER_COLS = ["screening_id", "item_loinc", "answer_code", "value_int", "positive", "domain", "data_absent_reason"]
EVENT_COLS = ["referral_id", "at", "kind", "action", "from_status", "to_status", "business_step", "channel",
              "result", "note", "detail", "user_id", "username", "org_id", "version"]


class _Fmt:
    """Database-ready spellings for bulk_insert (naive UTC on SQLite, with offset on PostgreSQL)."""

    def __init__(self, pg: bool):
        self.pg = pg

    def ts(self, dt: datetime | None) -> str | None:
        if dt is None:
            return None
        s = dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return s + "+00:00" if self.pg else s


@dataclass
class Actor:
    user_id: int | None
    username: str
    org_id: int


@dataclass
class Ref:
    """One referral being simulated: its row values and its timeline."""

    id: int
    values: dict
    events: list[tuple] = field(default_factory=list)

    @property
    def snap(self) -> Snapshot:
        v = self.values
        return Snapshot(v["status"], v["business_status"], v["outreach_attempts"],
                        frozenset(m for m in rules.MILESTONE_LABELS if v.get(m) is not None))


def _step(ref: Ref, action: str, at: datetime, actor: Actor, side: str, *, channel=None, result=None,
          reason=None, kind=None, detail=None) -> rules.Outcome:
    """Apply one action exactly as the service would (validated by rules.apply)."""
    out = rules.apply(action, ref.snap, {side}, reason=reason, channel=channel)
    v = ref.values
    at = max(at, v["updated_at"])  # a timeline never runs backwards
    from_status = v["status"]
    v["status"], v["business_status"] = out.to_status, out.business_status
    for m in out.sets:
        v[m] = at
    if action in ("outreach", "contacted"):
        v["outreach_attempts"] += 1
    if reason and out.changes_status:
        v["status_reason"] = reason
    v["version"] += 1
    v["updated_at"] = at
    ref.events.append((ref.id, at, kind or ("status" if out.changes_status else "step"), action,
                       from_status if out.changes_status else None, out.to_status if out.changes_status else None,
                       rules.ACTIONS[action].business_status, channel, result, reason, detail, actor.user_id,
                       actor.username, actor.org_id, v["version"]))
    return out


def _mirror(parent: Ref, child: Ref, action: str, out: rules.Outcome, at: datetime, actor: Actor) -> None:
    """The plan's referral follows its sub-referral (as referrals.service._mirror_to_parent)."""
    p, c = parent.values, child.values
    if p["status"] in rules.TERMINAL:
        return
    for m in ("first_outreach_at", "contacted_at", "enrolled_at", "service_started_at"):
        if p[m] is None and c[m] is not None:
            p[m] = c[m]
    if action in ("outreach", "contacted"):
        p["outreach_attempts"] += 1
    from_status = p["status"]
    if out.to_status in (Status.COMPLETED, Status.FAILED):
        p["status"], p["business_status"], p["closed_at"] = out.to_status, out.business_status, at
        p["status_reason"] = c.get("status_reason")
    elif out.to_status in (Status.REJECTED, Status.CANCELLED):
        p["business_status"] = "awaiting-routing"
    elif action == "accept":
        p["business_status"] = "routed"
    elif out.business_status:
        p["business_status"] = out.business_status
    p["version"] += 1
    p["updated_at"] = at
    changed = p["status"] != from_status
    parent.events.append((parent.id, at, "status" if changed else "step", f"sub:{action}",
                          from_status if changed else None, p["status"] if changed else None, p["business_status"],
                          None, None, f"From sub-referral #{child.id}", {"sub_referral_id": child.id},
                          actor.user_id, actor.username, actor.org_id, p["version"]))


def _business_hour(d: datetime, rng: random.Random) -> datetime:
    """The next moment in business hours (9:00-17:00, Monday to Friday) at or after ``d``."""
    c = d.replace(hour=9 + rng.randint(0, 7), minute=rng.randint(0, 59), second=rng.randint(0, 59))
    if c < d:
        c += timedelta(days=1)
    while c.weekday() >= 5:
        c += timedelta(days=1)
    return c


class Builder:
    def __init__(self, ctx: DemoContext):
        self.ctx = ctx
        self.s = ctx.session
        self.st = ctx.state
        self.rng = ctx.rng
        self.fmt = _Fmt(self.s.get_bind().dialect.name == "postgresql")
        self.now = datetime.combine(ctx.today, time(16, 30), tzinfo=UTC)
        self.plan_id = self.st["plan_id"]
        self.hub_id = self.st["hub_id"]
        uid, org = self.st.get("user_ids", {}), self.st.get("login_orgs", {})
        logins = self.st.get("logins", {})
        self.plan_actor = Actor(uid.get("plan_staff"), logins.get("plan_staff", ("plan-staff",))[0], self.plan_id)
        self.hub_actor = Actor(uid.get("hub_coordinator"), logins.get("hub_coordinator", ("hub-coordinator",))[0],
                               self.hub_id)
        self.org_actor: dict[int, Actor] = {}
        for key in ("cbo_staff", "cbo_staff_independent"):
            if key in org:
                self.org_actor[org[key]] = Actor(uid.get(key), logins[key][0], org[key])
        self.next_ref = next_id(self.s, Referral)
        self.refs: list[Ref] = []
        self.consents: list[tuple] = []
        self.services = self._services()
        self.next_sid = 0  # set by _screen
        self.cbo_screenings: list[tuple] = []
        self.cbo_answers: list[tuple] = []

    # ---- reference data --------------------------------------------------------------------

    def _services(self) -> list[dict]:
        svcs = self.st.get("services")
        if svcs:
            return svcs
        rows = self.s.execute(select(Service.id, Service.organization_id, Service.need_domain)).all()
        return [dict(id=i, organization_id=o, need_domain=d, counties=[], zips=[], in_network=False)
                for i, o, d in rows]

    def actor_for(self, org_id: int) -> Actor:
        if org_id not in self.org_actor:
            name = self.st.get("org_names", {}).get(org_id, f"org{org_id}")
            slug = "".join(ch for ch in name.lower() if ch.isalnum())[:20]
            self.org_actor[org_id] = Actor(None, f"chw.{slug}", org_id)
        return self.org_actor[org_id]

    def pick_service(self, domain: str, county: str | None, zip5: str | None, network: bool) -> dict | None:
        cands = [s for s in self.services if s["need_domain"] == domain and s["in_network"] == network]
        if not cands:
            return None
        local = [s for s in cands if (zip5 and zip5 in s.get("zips", [])) or (county and county in s.get("counties", []))]
        return self.rng.choice(local or cands)

    # ---- referral rows ---------------------------------------------------------------------

    def new_ref(self, *, member: dict, requester: int, owner: int | None, domain: str, at: datetime, urgency: str,
                reason: str, source: str, actor: Actor, parent: Ref | None = None, service_id: int | None = None,
                social_need_id: int | None = None, batch_id: int | None = None, contract_id: int | None = None,
                draft: bool = False, business_status: str | None = None) -> Ref:
        rid = self.next_ref
        self.next_ref += 1
        dues = rules.due_times(at, urgency) if not draft else {}
        if parent is not None:
            dues = {k: parent.values[k] for k in ("outreach_due_at", "contact_due_at", "service_due_at")}
        values = {c: None for c in REFERRAL_COLS}
        values.update(
            id=rid, plan_id=self.plan_id, requester_org_id=requester, owner_org_id=owner,
            parent_id=parent.id if parent else None, member_id=member["id"], need_domain=domain, service_id=service_id,
            social_need_id=social_need_id, batch_id=batch_id, contract_id=contract_id, reason=reason, urgency=urgency,
            status=Status.DRAFT if draft else Status.REQUESTED, business_status=business_status,
            outreach_attempts=0, version=1, source=source, created_by_user_id=actor.user_id,
            created_by=actor.username, created_at=at, requested_at=None if draft else at, updated_at=at, **dues,
        )
        ref = Ref(rid, values)
        ref.events.append((rid, at, "status", "create", None, values["status"], None, None, None, reason or None,
                           {"batch_id": batch_id} if batch_id else None, actor.user_id, actor.username, actor.org_id, 1))
        self.refs.append(ref)
        return ref

    def consent(self, member: dict, org_id: int, at: datetime, actor: Actor, referral_id: int | None,
                revoke_p: float = 0.01) -> None:
        revoked = self.rng.random() < revoke_p and at + timedelta(days=3) < self.now
        revoked_at = at + timedelta(days=self.rng.randint(3, 60)) if revoked else None
        if revoked_at and revoked_at > self.now:
            revoked_at = None
        self.consents.append((member["id"], self.plan_id, org_id, "referral", self.rng.choice(rules.CONSENT_METHODS),
                              at, at + timedelta(days=365), actor.user_id, actor.username, actor.org_id, referral_id,
                              revoked_at, None, "plan-staff" if revoked_at else None,
                              "Member asked to stop sharing" if revoked_at else None))

    # ---- the CBO's work on one referral ----------------------------------------------------

    def work(self, ref: Ref, parent: Ref | None, member: dict, t: datetime, profile: dict) -> None:
        """Walk a referral owned by a CBO until the demo's now, as its staff would."""
        rng, now = self.rng, self.now
        actor = self.actor_for(ref.values["owner_org_id"])

        def do(action, at, **kw):
            at = max(at, ref.values["updated_at"] + timedelta(minutes=rng.randint(5, 50)))
            if at > now:
                return None
            out = _step(ref, action, at, actor, Side.OWNER, **kw)
            if parent is not None:
                _mirror(parent, ref, action, out, at, actor)
            return out

        t = _business_hour(t + timedelta(hours=rng.uniform(2, 40)), rng)
        if rng.random() < profile.get("reject", 0.05):
            do("reject", t, reason=rng.choice(["No capacity this month", "Member outside our service area",
                                               "Member not eligible for this program"]))
            return
        if not do("accept", t):
            return
        if rng.random() < profile.get("never_outreached", 0.0):
            return
        attempts = 0
        t = t + timedelta(hours=rng.uniform(1, profile.get("first_outreach_h", 60)))
        contacted = False
        while attempts < 5:
            t = _business_hour(t, rng)
            channel = rng.choice(["phone", "phone", "phone", "text", "home_visit"])
            if rng.random() < profile.get("contact_p", 0.5):
                if not do("contacted", t, channel=channel, result="reached"):
                    return
                contacted = True
                break
            if not do("outreach", t, channel=channel, result=rng.choice(["no_answer", "left_message", "no_answer",
                                                                           "wrong_number", "not_home"])):
                return
            attempts += 1
            if attempts >= 3 and rng.random() < 0.6:
                break
            t += timedelta(days=rng.uniform(1, 4))
        if not contacted:
            if attempts >= 3:
                do("unable_to_contact", _business_hour(t + timedelta(days=rng.uniform(1, 5)), rng))
            return
        if ref.values["need_domain"] == "food" and rng.random() < 0.4:
            self.cbo_screen(member, ref, t, actor)
        if self.rng.random() < profile.get("consent_p", 0.9):
            self.consent(member, ref.values["owner_org_id"], t, actor, ref.id)
            if parent is not None:
                self.consent(member, self.hub_id, t, self.hub_actor, parent.id, revoke_p=0)
        t += timedelta(hours=rng.uniform(0, 30))
        if rng.random() < profile.get("decline", 0.15):
            do("decline", _business_hour(t, rng))
            return
        if not do("enroll", _business_hour(t, rng)):
            return
        if profile.get("stop_after_enroll"):
            return
        t = _business_hour(t + timedelta(days=rng.uniform(1, 7)), rng)
        if not do("start_service", t):
            return
        if rng.random() < 0.06:
            do("hold", t + timedelta(days=rng.uniform(3, 20)),
               reason=rng.choice(["Member hospitalized", "Member traveling", "Waiting for documents"]))
            return
        end = _business_hour(t + timedelta(days=rng.uniform(14, 75)), rng)
        if rng.random() < 0.72:
            do("resolve", end)
        else:
            do("close_unresolved", end, reason=rng.choice(["Need persists; referred to a second program",
                                                           "Member moved out of the area"]))

    def cbo_screen(self, member: dict, ref: Ref, at: datetime, actor: Actor) -> None:
        """The CBO's community health worker re-screens a referred member with the Hunger Vital Sign."""
        rng = self.rng
        responses = {"88122-7": rng.choice(["LA28397-0", "LA6729-3", "LA6729-3", "LA28398-8"]),
                     "88123-5": rng.choice(["LA6729-3", "LA28398-8", "LA15775-2"])}
        result = screening_rules.score("hunger_vital_sign", responses)
        sid = self.next_sid
        self.next_sid += 1
        self.cbo_screenings.append((sid, member["id"], self.plan_id, actor.org_id, ref.id, "hunger_vital_sign",
                                    "88121-9", result.status, None, self.fmt.ts(at), actor.user_id, actor.username,
                                    None, result.hvs_result, json.dumps(result.positive_domains), None,
                                    self.fmt.ts(at)))
        for a in result.answers:
            self.cbo_answers.append((sid, a.item_loinc, a.answer_code, a.value_int, a.positive, a.domain,
                                     a.data_absent_reason))

    # ---- whole flows -----------------------------------------------------------------------

    def refer_need(self, member: dict, domain: str, need_id: int, found_at: datetime, special: str | None) -> None:
        rng = self.rng
        t = _business_hour(found_at + timedelta(hours=rng.uniform(1, 72)), rng)
        if t > self.now:
            return
        urgency = rng.choices(["routine", "urgent", "asap", "stat"], [0.70, 0.22, 0.06, 0.02])[0]
        reason = {
            "food": "Positive AHC HRSN food insecurity screen (Z59.41)",
            "housing": "Positive AHC HRSN housing screen",
            "transportation": "Missed appointments for lack of transportation (Z59.82)",
            "utilities": "Utility shut-off notice (Z59.12)",
        }[domain]
        direct_svc = None
        if domain == "housing" or (domain == "transportation" and rng.random() < 0.5):
            direct_svc = self.pick_service(domain, member["county"], member["zip"], network=False)
        if special == "draft":
            self.new_ref(member=member, requester=self.plan_id, owner=self.hub_id, domain=domain, at=t,
                         urgency=urgency, reason=reason, source="screening", actor=self.plan_actor,
                         social_need_id=need_id, draft=True)
            return
        if direct_svc is not None:
            ref = self.new_ref(member=member, requester=self.plan_id, owner=direct_svc["organization_id"],
                               domain=domain, at=t, urgency=urgency, reason=reason, source="screening",
                               actor=self.plan_actor, service_id=direct_svc["id"], social_need_id=need_id)
            if rng.random() < 0.5:
                self.consent(member, direct_svc["organization_id"], t, self.plan_actor, ref.id)
            self._special_or_work(ref, None, member, t, special)
            return
        parent = self.new_ref(member=member, requester=self.plan_id, owner=self.hub_id, domain=domain, at=t,
                              urgency=urgency, reason=reason, source="screening", actor=self.plan_actor,
                              social_need_id=need_id, business_status="awaiting-routing")
        if rng.random() < 0.8:
            self.consent(member, self.hub_id, t, self.plan_actor, parent.id, revoke_p=0)
        if special in ("cancelled", "entered-in-error"):
            self._special_or_work(parent, None, member, t, special)
            return
        rt = _business_hour(t + timedelta(hours=rng.uniform(1, 30)), rng)
        if rt > self.now or special == "awaiting":
            return
        _step(parent, "accept", rt, self.hub_actor, Side.OWNER)
        tried: set[int] = set()
        for _attempt in range(2):
            svc = self.pick_service(domain, member["county"], member["zip"], network=True)
            if svc is None or svc["organization_id"] in tried:
                return  # accepted, waiting for routing: the hub's console shows it
            tried.add(svc["organization_id"])
            _step(parent, "route", rt, self.hub_actor, Side.OWNER, kind="routed",
                  detail={"cbo_id": svc["organization_id"], "sub_referral_id": self.next_ref})
            child = self.new_ref(member=member, requester=self.hub_id, owner=svc["organization_id"], domain=domain,
                                 at=rt, urgency=urgency, reason=reason, source="routing", actor=self.hub_actor,
                                 parent=parent, service_id=svc["id"], social_need_id=need_id)
            if special == "on-hold":
                self.work(child, parent, member, rt, {"reject": 0, "contact_p": 1, "decline": 0,
                                                      "stop_after_enroll": True})
                if child.values["status"] == Status.ACCEPTED and child.values["enrolled_at"]:
                    at = min(self.now, child.values["enrolled_at"] + timedelta(days=1))
                    out = _step(child, "hold", at, self.actor_for(svc["organization_id"]), Side.OWNER,
                                reason="Member in the hospital")
                    _mirror(parent, child, "hold", out, at, self.actor_for(svc["organization_id"]))
                return
            self.work(child, parent, member, rt, {"reject": 0.07})
            if child.values["status"] != Status.REJECTED:
                return
            rt = _business_hour(child.values["updated_at"] + timedelta(hours=rng.uniform(2, 24)), rng)
            if rt > self.now:
                return

    def _special_or_work(self, ref: Ref, parent: Ref | None, member: dict, t: datetime, special: str | None) -> None:
        at = min(self.now, t + timedelta(hours=self.rng.uniform(1, 48)))
        if special == "cancelled":
            _step(ref, "cancel", at, self.plan_actor, Side.REQUESTER, reason="Member disenrolled from the plan")
        elif special == "entered-in-error":
            _step(ref, "entered_in_error", at, self.plan_actor, Side.REQUESTER, reason="Referred the wrong member")
        elif ref.values["owner_org_id"] != self.hub_id:
            self.work(ref, parent, member, t, {})


def _members(ctx: DemoContext, ids: list[int]) -> dict[int, dict]:
    out: dict[int, dict] = {}
    s = ctx.session
    for i in range(0, len(ids), 5000):
        chunk = ids[i:i + 5000]
        for mid, county, zip_, lang, birth in s.execute(select(
                Member.id, Member.county, Member.zip, Member.preferred_language, Member.birth_date)
                .where(Member.id.in_(chunk))):
            out[mid] = {"id": mid, "county": county, "zip": (zip_ or "")[:5], "lang": lang, "birth": birth}
    return {mid: out[mid] for mid in ids if mid in out}  # the caller's order: same seed, same data


def _screen(ctx: DemoContext, b: Builder, members: dict[int, dict]) -> list[tuple[dict, str, int, datetime]]:
    """Screenings and social needs; returns (member, domain, need id, found at) for recent positive needs."""
    rng, fmt, now = ctx.rng, b.fmt, b.now
    sid = next_id(ctx.session, Screening)
    nid = next_id(ctx.session, SocialNeed)
    screenings, answers, needs, recent = [], [], [], []
    actor = b.plan_actor
    for m in members.values():
        at = _business_hour(now - timedelta(days=rng.uniform(0, 365)), rng)
        if at > now:
            at = now - timedelta(hours=1)
        if rng.random() < DECLINED_SHARE:
            screenings.append((sid, m["id"], b.plan_id, b.plan_id, None, "ahc_hrsn_core", "96777-8", "declined",
                               "asked-declined", fmt.ts(at), actor.user_id, actor.username, None, None, "[]",
                               None, fmt.ts(at)))
            sid += 1
            continue
        food_risk = rng.random() < 0.27
        responses: dict = {
            "71802-3": rng.choices(["LA31993-1", "LA31994-9", "LA31995-6"], [0.84, 0.11, 0.05])[0],
            "96778-6": ([rng.choice(Q2_POSITIVE)] if rng.random() < 0.14 else ["LA9-3"]),
            "88122-7": rng.choice(["LA28397-0", "LA6729-3"]) if food_risk else "LA28398-8",
            "88123-5": rng.choice(["LA6729-3", "LA28398-8"]) if food_risk else "LA28398-8",
            "93030-5": "LA33-6" if rng.random() < 0.16 else "LA32-8",
            "96779-4": rng.choices(["LA32-8", "LA33-6", "LA32002-0"], [0.89, 0.09, 0.02])[0],
        }
        unsafe = rng.random() < 0.03
        for h in HITS:
            responses[h] = HITS_CODES[rng.randint(2, 4) if unsafe else rng.choices([0, 1, 2], [0.8, 0.15, 0.05])[0]]
        declined_items: set[str] = set()
        if rng.random() < 0.04:  # skipped the safety questions
            for h in HITS:
                responses.pop(h)
            declined_items = set(HITS)
        result = screening_rules.score("ahc_hrsn_core", responses, frozenset(declined_items))
        screenings.append((sid, m["id"], b.plan_id, b.plan_id, None, "ahc_hrsn_core", "96777-8", result.status, None,
                           fmt.ts(at), actor.user_id, actor.username, result.safety_score, None,
                           json.dumps(result.positive_domains), None, fmt.ts(at)))
        for a in result.answers:
            answers.append((sid, a.item_loinc, a.answer_code, a.value_int, a.positive, a.domain, a.data_absent_reason))
        for n in result.needs:
            needs.append([nid, m["id"], b.plan_id, n.domain, n.sdoh_category, n.z_code, "active", "screening", sid,
                          fmt.ts(at), b.plan_id, None])
            if n.domain in ("food", "housing", "transportation", "utilities") and at > now - timedelta(days=180):
                recent.append((m, n.domain, nid, at))
            nid += 1
        sid += 1
    bulk_insert(ctx.session, Screening, SCREENING_COLS, screenings)
    bulk_insert(ctx.session, ScreeningAnswer, ANSWER_COLS, answers)
    b.need_rows = needs  # resolved later from referral outcomes
    b.next_sid = sid
    return recent


def build(ctx: DemoContext) -> None:
    st, rng = ctx.state, ctx.rng
    b = Builder(ctx)
    first, last = st["member_id_range"]
    n_members = last - first + 1
    ctx.set_total(5)

    # 1. screenings
    screened_ids = rng.sample(range(first, last + 1), int(n_members * SCREENED_SHARE))
    members = _members(ctx, screened_ids)
    recent = _screen(ctx, b, members)
    ctx.advance(1)

    # 2. referrals from recent positive needs, with a few of each special state
    chosen = [r for r in recent if rng.random() < REFERRED_SHARE]
    chosen.sort(key=lambda r: r[3])
    specials: dict[int, str] = {}
    # specials among the newest referrals old enough to have been made (a few days before now)
    cutoff = b.now - timedelta(days=4)
    newest = [i for i in range(len(chosen) - 1, -1, -1) if chosen[i][3] < cutoff]
    for i, kind in zip(newest[:12], ["awaiting", "awaiting", "awaiting", "draft", "draft", "on-hold", "on-hold",
                                     "cancelled", "entered-in-error", "awaiting", "on-hold", "cancelled"],
                       strict=False):
        specials[i] = kind
    for i, (m, domain, need_id, at) in enumerate(chosen):
        special = specials.get(i)
        if special is None:
            roll = rng.random()
            special = "cancelled" if roll < 0.02 else "entered-in-error" if roll < 0.027 else None
        b.refer_need(m, domain, need_id, at, special)
    ctx.advance(1)

    # 3. the seed's score card: one contract month of assigned members
    funnel = _seed_funnel(ctx, b, set(screened_ids))
    ctx.advance(1)

    # 4. escalations, designated contact
    _escalations(ctx, b)
    # each launched contract's own monthly work (its eligible members, its scope's service), so every
    # scorecard, JOC meeting and renewal review has its months (own random stream: the rest stays as it was)
    _contract_work(ctx, b)
    ctx.advance(1)

    # 5. load
    _load(ctx, b)
    st["seed_funnel"] = funnel
    st["referrals"] = {
        "count": len(b.refs),
        "by_status": _count_by(b.refs, "status"),
        "screenings": len(screened_ids),
    }
    ctx.advance(1)


def _count_by(refs: list[Ref], key: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in refs:
        out[str(r.values[key])] = out.get(str(r.values[key]), 0) + 1
    return out


def _month_start(d: date, months_back: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 - months_back, 12)
    return date(y, m + 1, 1)


def _seed_funnel(ctx: DemoContext, b: Builder, used: set[int]) -> dict:
    rng, st = ctx.rng, ctx.state
    first, last = st["member_id_range"]
    n_members = last - first + 1
    scale = 1.0 if n_members >= SEED_FUNNEL_MIN_MEMBERS else n_members * 0.1 / SEED_FUNNEL["assigned"]
    target = {k: round(v * scale) for k, v in SEED_FUNNEL.items()}
    month = _month_start(ctx.today, 2)
    month_end = _month_start(ctx.today, 1)
    pool = [i for i in range(first, last + 1) if i not in used]
    if len(pool) < target["assigned"]:
        pool = list(range(first, last + 1))
    ids = sorted(rng.sample(pool, target["assigned"]))
    members = _members(ctx, ids)
    svc = b.pick_service("care_management", None, None, network=True)
    contract_id = (st.get("contract_ids") or {}).get("outcome_based")
    batch_id = next_id(ctx.session, ReferralBatch)
    t0 = datetime.combine(month, time(9, 0), tzinfo=UTC)
    while t0.weekday() >= 5:
        t0 += timedelta(days=1)
    b.batches = [(batch_id, b.plan_id, b.hub_id, contract_id, "care_management", svc["id"] if svc else None,
                  month.isoformat(), "assigned-members.csv",
                  target["assigned"], "Seed 002 sample score card month", b.plan_actor.user_id,
                  b.plan_actor.username, b.fmt.ts(t0))]
    # who reaches which step (exact counts)
    order = list(members.values())
    rng.shuffle(order)
    outreached = set(m["id"] for m in order[:target["outreached"]])
    contacted = set(m["id"] for m in order[:target["contacted"]])
    accepted = set(m["id"] for m in order[:target["accepted"]])
    days_in_month = (month_end - month).days
    last_moment = datetime.combine(month_end, time(0, 0), tzinfo=UTC) - timedelta(hours=7)
    cbo_actor = b.actor_for(svc["organization_id"]) if svc else b.hub_actor
    for m in order:
        parent = b.new_ref(member=m, requester=b.plan_id, owner=b.hub_id, domain="care_management", at=t0,
                           urgency="routine", reason="Assigned for community care management (contract month "
                           f"{month:%B %Y})", source="batch", actor=b.plan_actor, batch_id=batch_id,
                           contract_id=contract_id, business_status="awaiting-routing")
        if svc is None:
            continue
        rt = t0 + timedelta(hours=rng.uniform(1, 6))
        _step(parent, "accept", rt, b.hub_actor, Side.OWNER)
        _step(parent, "route", rt, b.hub_actor, Side.OWNER, kind="routed",
              detail={"cbo_id": svc["organization_id"], "sub_referral_id": b.next_ref})
        child = b.new_ref(member=m, requester=b.hub_id, owner=svc["organization_id"], domain="care_management",
                          at=rt, urgency="routine", reason=parent.values["reason"], source="routing",
                          actor=b.hub_actor, parent=parent, service_id=svc["id"], contract_id=contract_id)

        def do(action, at, _c=child, _p=parent, **kw):
            out = _step(_c, action, at, cbo_actor, Side.OWNER, **kw)
            _mirror(_p, _c, action, out, at, cbo_actor)

        accepted_at = rt + timedelta(hours=rng.uniform(2, 20))
        do("accept", accepted_at)
        if m["id"] not in outreached:
            # never reached in the month: the plan withdraws it after the month for next month's list
            end = datetime.combine(month_end, time(10, 0), tzinfo=UTC) + timedelta(days=rng.randint(0, 5))
            if end <= b.now:
                _step(parent, "cancel", end, b.plan_actor, Side.REQUESTER,
                      reason="Not outreached in the contract month; carried to the next member list")
                _step(child, "cancel", end, b.hub_actor, Side.REQUESTER, reason="Parent referral cancelled by the plan")
            continue
        day = rng.uniform(1, min(18, days_in_month - 8))
        t = _business_hour(max(datetime.combine(month, time(9), tzinfo=UTC) + timedelta(days=day),
                               accepted_at + timedelta(hours=1)), rng)
        tries = 1 if m["id"] in contacted and rng.random() < 0.5 else rng.randint(1, 3)
        for _k in range(tries - (1 if m["id"] in contacted else 0)):
            do("outreach", min(t, last_moment), channel=rng.choice(["phone", "phone", "text"]),
               result=rng.choice(["no_answer", "left_message"]))
            t = _business_hour(t + timedelta(days=rng.uniform(1, 2.5)), rng)
        if m["id"] not in contacted:
            if child.values["outreach_attempts"] >= 3:
                do("unable_to_contact", min(t, last_moment))
            continue
        tc = min(t, last_moment - timedelta(days=1))
        do("contacted", tc, channel=rng.choice(["phone", "home_visit"]), result="reached")
        b.consent(m, svc["organization_id"], tc, cbo_actor, child.id)
        b.consent(m, b.hub_id, tc, b.hub_actor, parent.id, revoke_p=0)
        te = min(tc + timedelta(hours=rng.uniform(0.2, 30)), last_moment)
        if m["id"] in accepted:
            do("enroll", te)
            ts_ = te + timedelta(days=rng.uniform(2, 10))
            if ts_ <= b.now:
                do("start_service", _business_hour(ts_, rng))
        else:
            do("decline", te)
    return {
        "batch_id": batch_id, "partner_org_id": b.hub_id, "contract_id": contract_id,
        "contract_month": month.isoformat(), "need_domain": "care_management", **target,
        "exact_seed": scale == 1.0,
        "how": "referral rows with batch_id = batch_id (the plan's referrals to the hub): assigned = count; "
               "outreached = first_outreach_at not null; contacted = contacted_at not null; accepted = "
               "enrolled_at not null; every such timestamp falls in contract_month (events with "
               "business_step outreach-attempted/contacted/enrolled on their sub-referrals carry the same times)",
    }


CONTRACT_WORK_MONTHS = 5  # the last months of each launched contract's term (to the demo's today)
CONTRACT_WORK_PER_MONTH = 14


def _contract_work(ctx: DemoContext, b: Builder) -> None:
    """Each launched contract's eligible members referred month by month to its counterparty (routed by the
    hub to a network CBO offering the scope of work's service), then worked as in real life."""
    from socialcare.contracts.attributing import base_code
    from socialcare.contracts.eligibility import eligible_where
    from socialcare.contracts.models import Contract, ContractVersion
    from socialcare.contracts.schemas import ScopeOfWork

    rng = random.Random(f"contract-work-{ctx.seed}")
    saved, b.rng = b.rng, rng
    s = ctx.session
    used = {r.values["member_id"] for r in b.refs}
    network = {svc["organization_id"] for svc in b.services if svc["in_network"]}
    try:
        for c in s.scalars(select(Contract).where(Contract.plan_id == b.plan_id,
                                                  Contract.phase.in_(["implementation", "renewal", "ended"]))
                           .order_by(Contract.id)):
            v = s.scalar(select(ContractVersion).where(ContractVersion.contract_id == c.id,
                                                       ContractVersion.version == c.current_version))
            if v is None or not v.services_covered:
                continue
            sow = ScopeOfWork.model_validate(v.scope_of_work or {})
            scope = v.services_covered[0]
            code, domain = base_code(scope.get("service_code")), scope.get("need_domain") or "care_management"
            hub = c.counterparty_id == b.hub_id
            offers = [x for x in b.services if x["need_domain"] == domain
                      and (x["organization_id"] in network if hub else x["organization_id"] == c.counterparty_id)
                      and (code is None or base_code(x.get("service_code")) == code)]
            if not offers:
                continue
            end = min(c.end_date, ctx.today)
            vol = sow.who.population.volume
            per_month = min(CONTRACT_WORK_PER_MONTH, max(2, (vol.maximum or 60) // (CONTRACT_WORK_MONTHS * 2)))
            for k in range(CONTRACT_WORK_MONTHS - 1, -1, -1):
                month = _month_start(end, k)
                if month < c.start_date.replace(day=1):
                    continue
                as_of = min(end, _month_start(end, k - 1) - timedelta(days=1)) if k else end
                pool = list(s.scalars(select(Member.id).where(
                    eligible_where(b.plan_id, sow.who.population.rule, as_of)).order_by(Member.id).limit(4000)))
                pool = [m for m in pool if m not in used]
                # a small demo keeps most of its eligible members for the tour (a third is the contract's)
                take = min(per_month, max(1, len(pool) // (CONTRACT_WORK_MONTHS * 3)), len(pool))
                members = _members(ctx, sorted(rng.sample(pool, take)))
                for m in members.values():
                    used.add(m["id"])
                    day = rng.randint(0, max(0, min(27, (as_of - month).days - 1)))
                    t = _business_hour(datetime.combine(month + timedelta(days=day), time(9), tzinfo=UTC), rng)
                    if t > b.now:
                        continue
                    local = [x for x in offers if m["county"] in x.get("counties", [])] or offers
                    svc = rng.choice(local)
                    reason = f"Eligible for {c.name}"
                    if not hub:
                        ref = b.new_ref(member=m, requester=b.plan_id, owner=c.counterparty_id, domain=domain, at=t,
                                        urgency="routine", reason=reason, source="staff", actor=b.plan_actor,
                                        service_id=svc["id"])
                        b.consent(m, c.counterparty_id, t, b.plan_actor, ref.id)
                        b.work(ref, None, m, t, {"reject": 0.02, "contact_p": 0.85, "decline": 0.05})
                        continue
                    parent = b.new_ref(member=m, requester=b.plan_id, owner=b.hub_id, domain=domain, at=t,
                                       urgency="routine", reason=reason, source="staff", actor=b.plan_actor,
                                       business_status="awaiting-routing")
                    b.consent(m, b.hub_id, t, b.plan_actor, parent.id, revoke_p=0)
                    rt = _business_hour(t + timedelta(hours=rng.uniform(1, 20)), rng)
                    if rt > b.now:
                        continue
                    _step(parent, "accept", rt, b.hub_actor, Side.OWNER)
                    _step(parent, "route", rt, b.hub_actor, Side.OWNER, kind="routed",
                          detail={"cbo_id": svc["organization_id"], "sub_referral_id": b.next_ref})
                    child = b.new_ref(member=m, requester=b.hub_id, owner=svc["organization_id"], domain=domain,
                                      at=rt, urgency="routine", reason=reason, source="routing", actor=b.hub_actor,
                                      parent=parent, service_id=svc["id"])
                    b.work(child, parent, m, rt, {"reject": 0.0, "contact_p": 0.85, "decline": 0.05})
    finally:
        b.rng = saved


def _escalations(ctx: DemoContext, b: Builder) -> None:
    rng = ctx.rng
    b.escalations = []
    candidates = [r for r in b.refs if r.values["owner_org_id"] not in (None, b.hub_id)
                  and r.values["accepted_at"] is not None and r.values["batch_id"] is None]
    subjects = {
        "member_safety": ["Member reports no heat in the apartment", "Member afraid to go home after discharge"],
        "service_gap": ["No Arabic-speaking driver this week", "Member needs diabetic meals we do not offer"],
        "capacity": ["Waitlist above two weeks", "Meal capacity reached for the month"],
        "eligibility": ["Member shows as disenrolled but says otherwise", "Authorization missing for meals"],
        "data_sharing": ["Member asks who sees their information", "Referral missing phone number"],
        "payment": ["Invoice for last month not paid", "Claim denied for missing modifier"],
    }
    for r in rng.sample(candidates, min(30, len(candidates))):
        cat = rng.choice(list(subjects))
        at = r.values["accepted_at"] + timedelta(days=rng.uniform(0.5, 10))
        if at > b.now:
            at = b.now - timedelta(hours=2)
        status = rng.choices(["open", "in-progress", "resolved"], [0.35, 0.25, 0.4])[0]
        resolved_at = min(b.now, at + timedelta(days=rng.uniform(1, 8))) if status == "resolved" else None
        actor = b.actor_for(r.values["owner_org_id"])
        b.escalations.append((b.plan_id, r.id, actor.org_id, actor.user_id, actor.username,
                              b.plan_actor.user_id, cat, rng.choice(["low", "medium", "medium", "high"]),
                              rng.choice(subjects[cat]), "Raised by the CBO's community health worker.", status,
                              "Plan arranged an alternative and confirmed with the CBO" if resolved_at else None,
                              b.fmt.ts(resolved_at), b.plan_actor.username if resolved_at else None, 1,
                              b.fmt.ts(at), b.fmt.ts(resolved_at or at)))
        r.events.append((r.id, at, "escalation", "escalation.raise", None, None, None, None, None,
                         f"Escalated to the plan: {b.escalations[-1][8]}", None, actor.user_id, actor.username,
                         actor.org_id, None))


def _load(ctx: DemoContext, b: Builder) -> None:
    from socialcare.contracts.attributing import annotate

    s, fmt = ctx.session, b.fmt
    ts_cols = {c for c in REFERRAL_COLS if c.endswith("_at")}
    refs = sorted(b.refs, key=lambda r: r.id)
    # every referral knows its contract from the start, as the web app's would (contracts/attributing.py)
    annotate(s, "referral", [r.values for r in refs], today=ctx.today, source="the contract's member list")
    rows = [tuple(fmt.ts(r.values[c]) if c in ts_cols else r.values[c] for c in REFERRAL_COLS) for r in refs]
    # needs first (referrals point at them), resolved when a referral for them closed with the need resolved
    resolved = {r.values["social_need_id"]: r.values["closed_at"] for r in refs
                if r.values["social_need_id"] and r.values["business_status"] == "need-resolved"
                and r.values["parent_id"] is None}
    need_rows = []
    for row in getattr(b, "need_rows", []):
        if row[0] in resolved:
            row[6], row[11] = "resolved", fmt.ts(resolved[row[0]])
        need_rows.append(tuple(row))
    bulk_insert(s, SocialNeed, ["id", "member_id", "plan_id", "domain", "sdoh_category", "z_code", "status", "source",
                                "screening_id", "identified_at", "recorded_by_org_id", "resolved_at"], need_rows)
    if getattr(b, "batches", None):
        bulk_insert(s, ReferralBatch, ["id", "requester_org_id", "partner_org_id", "contract_id", "need_domain",
                                       "service_id", "contract_month", "filename", "row_count", "note",
                                       "created_by_user_id", "created_by", "created_at"], b.batches)
    # parents before children (parent_id references referral.id): parents have smaller ids
    bulk_insert(s, Referral, REFERRAL_COLS, rows)
    events = []
    for r in refs:
        for e in sorted(r.events, key=lambda e: e[1]):  # stable: same-time events keep their order
            e = list(e)
            e[1] = fmt.ts(e[1])
            e[10] = json.dumps(e[10]) if e[10] is not None else None
            events.append(tuple(e))
    bulk_insert(s, ReferralEvent, EVENT_COLS, events)
    consents = [tuple(fmt.ts(v) if isinstance(v, datetime) else v for v in c) for c in b.consents]
    bulk_insert(s, Screening, SCREENING_COLS, b.cbo_screenings)
    bulk_insert(s, ScreeningAnswer, ANSWER_COLS, b.cbo_answers)
    bulk_insert(s, Consent, ["member_id", "plan_id", "organization_id", "scope", "method", "granted_at", "expires_at",
                             "recorded_by_user_id", "recorded_by", "recorded_by_org_id", "referral_id", "revoked_at",
                             "revoked_by_user_id", "revoked_by", "revoke_reason"], consents)
    bulk_insert(s, EscalationContact, ["plan_id", "partner_org_id", "user_id"],
                [(b.plan_id, None, b.plan_actor.user_id)] if b.plan_actor.user_id else [])
    bulk_insert(s, Escalation, ["plan_id", "referral_id", "raised_by_org_id", "raised_by_user_id", "raised_by",
                                "owner_user_id", "category", "severity", "subject", "description", "status",
                                "resolution", "resolved_at", "resolved_by", "version", "created_at", "updated_at"],
                b.escalations)
