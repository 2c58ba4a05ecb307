"""Domains plug themselves in: no central list to edit when a domain is added.

For every subpackage of ``socialcare`` the app, CLI and demo look for a module by name
(``api``, ``pages``, ``cli``, ``demo``) and use what it exports (see CONTRIBUTING.md).
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import socialcare


def domain_modules(name: str) -> list[ModuleType]:
    found: list[ModuleType] = []
    for mod in sorted(pkgutil.iter_modules(socialcare.__path__), key=lambda m: m.name):
        if not mod.ispkg:
            continue
        qualified = f"socialcare.{mod.name}.{name}"
        try:
            found.append(importlib.import_module(qualified))
        except ModuleNotFoundError as exc:
            if exc.name != qualified:
                raise
    return found
