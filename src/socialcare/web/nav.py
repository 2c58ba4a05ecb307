"""Role-aware navigation. Each domain's pages.py may export

    NAV = [NavItem(label="Referrals", href="/referrals", permission="referrals:read", order=30)]

The app collects every NAV at start-up (kit.discovery); the layout shows an item only to
principals whose role holds its permission. ``permission=None`` shows it to everyone signed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from socialcare.security.principal import Principal


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    permission: str | None = None
    order: int = 100

    def visible_to(self, principal: Principal | None) -> bool:
        if principal is None:
            return False
        return self.permission is None or principal.can(self.permission)

    def is_active(self, path: str) -> bool:
        if self.href == "/":
            return path == "/"
        return path == self.href or path.startswith(self.href.rstrip("/") + "/")


def collect_nav(modules: Iterable) -> list[NavItem]:
    items: list[NavItem] = []
    for module in modules:
        items.extend(getattr(module, "NAV", []) or [])
    return sorted(items, key=lambda i: (i.order, i.label))


def visible_nav(items: Iterable[NavItem], principal: Principal | None) -> list[NavItem]:
    return [i for i in items if i.visible_to(principal)]
