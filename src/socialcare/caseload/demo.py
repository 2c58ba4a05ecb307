"""Demo step 92: one inbox across plans. A second, smaller health plan (a Medicare Advantage plan in
the same counties) refers its members to the same hub, which routes them to its network CBO, and
directly to one independent CBO: the hub and the shared CBO work both plans' referrals in one
worklist, each row labelled with its plan, while each plan sees only its own members and work."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import insert, select

from socialcare.demo.context import DemoContext
from socialcare.directory.demo import _ein, _npi
from socialcare.directory.models import Organization
from socialcare.kit.codes import OrgKind
from socialcare.members.models import EnrollmentSpan, Member
from socialcare.referrals import service as referrals
from socialcare.security.models import User
from socialcare.security.passwords import hash_password
from socialcare.security.principal import system_principal

ORDER = 92
PLAN_NAME = "Great Lakes Medicare Advantage"
LOGIN = ("ma_staff", "ma-staff", "Lena Okafor", "plan_staff")
FIRST = ["Maria", "James", "Rosa", "Ahmed", "Linda", "Jose", "Patricia", "Robert", "Fatuma", "Dorothy", "Luis", "Helen"]
LAST = ["Nowak", "Hernandez", "Kowalczyk", "Mohamed", "Jackson", "Cruz", "Sullivan", "Thapa", "Lopez", "Wisniewski"]


def build(ctx: DemoContext) -> None:
    session, st, rng = ctx.session, ctx.state, ctx.rng
    plan_id = session.execute(insert(Organization).values(
        kind=OrgKind.HEALTH_PLAN, name=PLAN_NAME, description="A Medicare Advantage plan in the same eight counties.",
        npi=_npi(rng), tax_id=_ein(rng), city="Buffalo", state="NY", county="Erie",
        time_zone="America/New_York").returning(Organization.id)).scalar_one()
    st["second_plan_id"] = plan_id
    st.setdefault("org_names", {})[plan_id] = PLAN_NAME
    # members at the addresses of a sample of the demo's members (real zips of the same counties)
    n = max(24, min(400, ctx.members_count // 50))
    places = session.execute(select(Member.address_1, Member.city, Member.state, Member.zip, Member.county)
                             .where(Member.county == "Erie").order_by(Member.id).limit(n)).all()
    rows = []
    for i, (address_1, city, state, zip_, county) in enumerate(places):
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 25))
        rows.append(dict(plan_id=plan_id, plan_member_id=f"GLMA{100001 + i}", first_name=rng.choice(FIRST),
                         last_name=rng.choice(LAST), birth_date=born, sex=rng.choice(["female", "male"]),
                         race=None, ethnicity=None, preferred_language=rng.choice(["en", "en", "es", "pl"]),
                         address_1=address_1, city=city, state=state, zip=zip_, county=county,
                         phone=f"(716) 555-02{i % 100:02d}", product_line="medicare_advantage"))
    if not rows:
        return
    member_ids = session.execute(insert(Member).returning(Member.id, sort_by_parameter_order=True), rows).scalars().all()
    session.execute(insert(EnrollmentSpan), [dict(member_id=m, product_line="medicare_advantage",
                                                  start_date=date(ctx.today.year, 1, 1)) for m in member_ids])
    key, username, full_name, role = LOGIN
    from socialcare.security.demo import DEMO_PASSWORD

    uid = session.execute(insert(User).values(
        username=username, full_name=full_name, email=f"{username}@demo.example.org", role=role,
        password_hash=hash_password(DEMO_PASSWORD), organization_id=plan_id, is_active=True).returning(User.id)).scalar_one()
    st.setdefault("logins", {})[key] = (username, DEMO_PASSWORD)
    st.setdefault("user_ids", {})[key] = uid
    st.setdefault("login_orgs", {})[key] = plan_id

    plan = system_principal(plan_id, OrgKind.HEALTH_PLAN, role="plan_staff", username=username)
    hub = system_principal(st["hub_id"], OrgKind.HUB, role="hub_coordinator", username="hub-coordinator")
    network_cbo = st["network_cbo_ids"][0]
    independent_cbo = st["independent_cbo_ids"][0]
    # fixed times from the demo's "today", so the same seed and --as-of build the same data
    start = datetime.combine(ctx.today - timedelta(days=1), time(14, 0), tzinfo=UTC)
    for i, member_id in enumerate(member_ids[:10]):
        to_hub = i < 6
        at = start + timedelta(minutes=17 * i)
        ref, _ = referrals.create_referral(session, plan, referrals.NewReferral(
            member_id=member_id, need_domain="food" if to_hub else "housing",
            owner_org_id=st["hub_id"] if to_hub else independent_cbo, urgency="urgent" if i % 3 == 0 else "routine",
            reason="Positive screening at the annual wellness visit", consent_scope="referral"), now=at)
        if to_hub and i < 4:  # the hub routes most of them to its meal partner
            referrals.route(session, hub, ref.id, cbo_id=network_cbo, service_id=None, version=None,
                            consent_scope="referral", today=ctx.today, now=at + timedelta(hours=2))
    session.flush()
    ctx.advance(1)
