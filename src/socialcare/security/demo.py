"""Demo step 30: one login per role, so every view of the partnership can be tried.

All demo accounts share one memorable password (documented in the README and printed at the end
of ``socialcare demo``); it is hashed once because argon2 is slow on purpose. These accounts are
for a local demo only: never run the demo against a production database.
"""

from __future__ import annotations

from sqlalchemy import insert

from socialcare.demo.context import DemoContext
from socialcare.security.models import User
from socialcare.security.passwords import hash_password

ORDER = 30

DEMO_PASSWORD = "socialcare-demo"

# (key in ctx.state["logins"], username, full name, role, which organization)
DEMO_USERS = [
    ("plan_admin", "plan-admin", "Dana Whitfield", "plan_admin", "plan"),
    ("plan_staff", "plan-staff", "Marcus Greene", "plan_staff", "plan"),
    ("hub_coordinator", "hub-coordinator", "Rosa Delgado", "hub_coordinator", "hub"),
    ("cbo_staff", "cbo-staff", "Aisha Rahman", "cbo_staff", "network_cbo"),
    ("cbo_staff_independent", "cbo-independent", "Tom Kowalski", "cbo_staff", "independent_cbo"),
    ("auditor", "auditor", "Priya Natarajan", "auditor", "plan"),
    ("hub_admin", "hub-admin", "Grace Okafor", "hub_admin", "hub"),
    ("cbo_admin", "cbo-admin", "Luis Ortega", "cbo_admin", "independent_cbo"),
]


def build(ctx: DemoContext) -> None:
    st = ctx.state
    org_for = {
        "plan": st["plan_id"],
        "hub": st["hub_id"],
        # the hub's meal partner in Erie County, and the housing coalition the plan pays directly
        "network_cbo": st["network_cbo_ids"][0],
        "independent_cbo": st["independent_cbo_ids"][0],
    }
    ctx.set_total(len(DEMO_USERS))
    password_hash = hash_password(DEMO_PASSWORD)
    rows = [
        dict(
            username=username, full_name=full_name, email=f"{username}@demo.example.org", password_hash=password_hash,
            role=role, organization_id=org_for[org], is_active=True,
        )
        for _key, username, full_name, role, org in DEMO_USERS
    ]
    user_ids = ctx.session.execute(insert(User).returning(User.id, sort_by_parameter_order=True), rows).scalars().all()
    ctx.advance(len(rows))
    st["logins"] = {key: (username, DEMO_PASSWORD) for key, username, *_ in DEMO_USERS}
    st["user_ids"] = {key: uid for (key, *_), uid in zip(DEMO_USERS, user_ids, strict=True)}
    st["login_orgs"] = {key: org_for[org] for key, _u, _n, _r, org in DEMO_USERS}
