"""Who is acting: the user, their organization and role. Passed to every service and repository."""

from __future__ import annotations

from dataclasses import dataclass

from socialcare.core.errors import Forbidden
from socialcare.kit.codes import OrgKind
from socialcare.security.rules import role_allows


@dataclass(frozen=True)
class Principal:
    user_id: int | None
    username: str
    org_id: int
    org_kind: str
    role: str
    org_name: str = ""
    via: str = "web"  # web, api, cli, fhir, job
    time_zone: str = "UTC"  # the organization's IANA zone: times are shown in it
    language: str = "en"  # the user's interface language

    def can(self, permission: str) -> bool:
        return role_allows(self.role, permission)

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise Forbidden(f"Your role ({self.role}) may not do this ({permission}).")

    @property
    def is_plan(self) -> bool:
        return self.org_kind == OrgKind.HEALTH_PLAN

    @property
    def is_hub(self) -> bool:
        return self.org_kind == OrgKind.HUB

    @property
    def is_cbo(self) -> bool:
        return self.org_kind == OrgKind.CBO


def system_principal(org_id: int, org_kind: str, role: str = "plan_admin", username: str = "system") -> Principal:
    """For jobs and the demo builder acting on behalf of an organization."""
    return Principal(user_id=None, username=username, org_id=org_id, org_kind=org_kind, role=role, via="job")
