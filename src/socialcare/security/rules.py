"""Roles and what each may do. Pure: no database.

Each user belongs to one organization and has one role. A permission is `<area>:<action>`.
Data scoping (which rows) is decided in repositories from the Principal's organization;
this table decides which actions a role may attempt at all.
"""

from __future__ import annotations

from enum import StrEnum

from socialcare.kit.codes import OrgKind


class Role(StrEnum):
    PLAN_ADMIN = "plan_admin"
    PLAN_STAFF = "plan_staff"
    HUB_COORDINATOR = "hub_coordinator"
    CBO_STAFF = "cbo_staff"
    AUDITOR = "auditor"
    HUB_ADMIN = "hub_admin"
    CBO_ADMIN = "cbo_admin"


ROLE_LABELS = {
    Role.PLAN_ADMIN: "Plan administrator",
    Role.PLAN_STAFF: "Plan staff",
    Role.HUB_COORDINATOR: "Hub coordinator",
    Role.CBO_STAFF: "CBO staff",
    Role.AUDITOR: "Auditor",
    Role.HUB_ADMIN: "Hub administrator",
    Role.CBO_ADMIN: "CBO administrator",
}

# Which organization kinds a role can belong to.
ROLE_ORG_KINDS: dict[Role, set[OrgKind]] = {
    Role.PLAN_ADMIN: {OrgKind.HEALTH_PLAN},
    Role.PLAN_STAFF: {OrgKind.HEALTH_PLAN},
    Role.HUB_COORDINATOR: {OrgKind.HUB},
    Role.CBO_STAFF: {OrgKind.CBO, OrgKind.HUB},
    Role.AUDITOR: {OrgKind.HEALTH_PLAN, OrgKind.HUB, OrgKind.CBO},
    Role.HUB_ADMIN: {OrgKind.HUB},
    Role.CBO_ADMIN: {OrgKind.CBO},
}

_COMMON = {"directory:read", "home:read"}

PERMISSIONS: dict[Role, set[str]] = {
    Role.PLAN_ADMIN: _COMMON
    | {
        "members:read", "members:write", "users:manage", "directory:write",
        "referrals:read", "referrals:create", "referrals:assign_batch", "screening:write",
        "contracts:read", "contracts:write", "contracts:members", "payments:settle", "payments:read",
        "payments:ledger", "modeling:use", "measures:read", "joc:read", "joc:write", "analytics:use", "analytics:savings",
        "exchange:import", "exchange:export", "delivery:read", "delivery:approve", "escalations:resolve",
        "exchange:configure", "jobs:manage", "contracts:propose", "partnership:write",
    },
    Role.PLAN_STAFF: _COMMON
    | {
        "members:read", "referrals:read", "referrals:create", "referrals:assign_batch",
        "screening:write", "contracts:read", "contracts:members", "payments:read", "payments:ledger", "modeling:use", "measures:read",
        "joc:read", "joc:write", "analytics:use", "analytics:savings", "exchange:import", "exchange:export",
        "delivery:read", "delivery:approve", "escalations:resolve", "partnership:write",
    },
    Role.HUB_COORDINATOR: _COMMON
    | {
        "referrals:read", "referrals:route", "referrals:work", "screening:write",
        "contracts:read", "payments:settle", "payments:read", "payments:ledger", "modeling:use", "measures:read",
        "joc:read", "joc:write", "delivery:read", "delivery:write", "exchange:import",
        "exchange:export", "escalations:raise", "directory:write", "analytics:use", "partnership:write",
    },
    Role.CBO_STAFF: _COMMON
    | {
        "referrals:read", "referrals:work", "screening:write", "delivery:read", "delivery:write",
        "modeling:use", "joc:read", "measures:read", "escalations:raise", "exchange:import", "contracts:read",
        "payments:ledger",  # the CBO's own statements (the ledger shows each party only its own)
    },
    Role.AUDITOR: _COMMON | {"audit:read", "measures:read", "contracts:read", "payments:read", "payments:ledger"},
}

# A partner's administrator does everything its staff do, and manages the organization's own accounts
# and directory listing, and proposes contract changes for its side; a hub's also edits the listings
# of the CBOs in its network (seed 000: sharing power; seed 002: co-authored scopes of work).
_PARTNER_ADMIN = {"users:manage", "listing:edit", "contracts:propose", "partnership:write"}
PERMISSIONS[Role.HUB_ADMIN] = PERMISSIONS[Role.HUB_COORDINATOR] | _PARTNER_ADMIN | {"listing:network"}
PERMISSIONS[Role.CBO_ADMIN] = PERMISSIONS[Role.CBO_STAFF] | _PARTNER_ADMIN


def role_allows(role: str, permission: str) -> bool:
    try:
        return permission in PERMISSIONS[Role(role)]
    except ValueError:
        return False


def role_fits_org(role: str, org_kind: str) -> bool:
    return OrgKind(org_kind) in ROLE_ORG_KINDS[Role(role)]


def is_plan_role(role: str) -> bool:
    return role in (Role.PLAN_ADMIN, Role.PLAN_STAFF)
