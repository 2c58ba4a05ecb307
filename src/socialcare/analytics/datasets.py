"""Claims data sets the shared-savings pages and API may read, and nothing else.

A data set is a folder in the configured claims folder (``settings.claims_dir``:
``SOCIALCARE_ANALYTICS_DATA_DIR``, default ``<data_dir>/claims``) in the layout ``socialcare synth
claims`` writes: ``claims/``, ``eligibility/``, ``program.parquet`` (optional: enables the
difference-in-differences) and ``manifest.json`` (optional: periods and attribution defaults).

Claims are the plan's member data, so data sets are scoped by organization:

    <claims_dir>/<name>/               shared by the installation (a plan running its own socialcare)
    <claims_dir>/org-<org id>/<name>/  only that organization's users

A data set is named by its path relative to the folder (``demo``, ``org-3/2025-q4``). Names are
checked against a strict pattern AND resolved (symlinks followed) and required to stay inside the
folder, so ``../`` or a link pointing elsewhere is refused rather than read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from socialcare.core.errors import Forbidden, InvalidInput, NotFound, Problem
from socialcare.core.settings import get_settings
from socialcare.security.principal import Principal

_PART = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}"
NAME_RE = re.compile(rf"^(?:org-(?P<org>\d+)/)?(?P<name>{_PART})$")
ORG_DIR_RE = re.compile(r"^org-(\d+)$")


@dataclass(frozen=True)
class Dataset:
    name: str  # relative to the claims folder: "demo" or "org-3/2025-q4"
    path: Path
    manifest: dict = field(default_factory=dict, compare=False)

    @property
    def claims(self) -> Path:
        return self.path / "claims"

    @property
    def eligibility(self) -> Path:
        return self.path / "eligibility"

    @property
    def program(self) -> Path | None:
        p = self.path / "program.parquet"
        return p if p.is_file() else None

    @property
    def shared(self) -> bool:
        return "/" not in self.name

    def defaults(self) -> dict:
        """SavingsParams fields the manifest gives (periods and attribution)."""
        m = self.manifest
        out: dict = {}
        if isinstance(m.get("baseline"), list) and len(m["baseline"]) == 2:
            out["baseline_start"], out["baseline_end"] = m["baseline"]
        if isinstance(m.get("performance"), list) and len(m["performance"]) == 2:
            out["performance_start"], out["performance_end"] = m["performance"]
        attr = m.get("attribution") or {}
        if attr.get("zip_codes"):
            out["zip_codes"] = list(attr["zip_codes"])
        if attr.get("practice_ids"):
            out["practice_ids"] = list(attr["practice_ids"])
        return out

    def summary(self) -> dict:
        m = self.manifest
        return {
            "name": self.name,
            "shared": self.shared,
            "has_program": self.program is not None,
            "lines": m.get("lines"),
            "member_months": m.get("member_months"),
            "participants": m.get("participants"),
            "baseline": m.get("baseline"),
            "performance": m.get("performance"),
        }


def root() -> Path:
    return get_settings().claims_dir


def _is_dataset(path: Path) -> bool:
    return (path / "claims").is_dir() and (path / "eligibility").is_dir()


def _manifest(path: Path) -> dict:
    f = path / "manifest.json"
    if not f.is_file():
        return {}
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(
            "the data set's manifest is not valid JSON", [Problem(str(exc), file="manifest.json")]
        ) from exc
    return data if isinstance(data, dict) else {}


def _inside(base: Path, candidate: Path) -> bool:
    return candidate == base or candidate.is_relative_to(base)


def resolve(name: str, principal: Principal) -> Dataset:
    """The data set ``name`` if this principal may read it; refuses anything outside the folder."""
    m = NAME_RE.match(name or "")
    if not m or ".." in name:
        raise InvalidInput(
            "not a data set name",
            [Problem("a folder name inside the claims folder (letters, digits, _ . -), e.g. demo",
                     field="dataset")],
        )
    if m.group("org") is not None and int(m.group("org")) != principal.org_id:
        raise Forbidden("This data set belongs to another organization.")
    base = root().resolve()
    path = (base / name).resolve()
    if not _inside(base, path) or path == base:
        raise InvalidInput("not a data set name", [Problem("outside the claims folder", field="dataset")])
    if not path.is_dir() or not _is_dataset(path):
        raise NotFound(f"no data set {name!r} in the claims folder")
    # a shared folder named like another org's (a symlink to org-9/...) must not leak it either
    rel = path.relative_to(base).parts
    if rel and (g := ORG_DIR_RE.match(rel[0])) and int(g.group(1)) != principal.org_id:
        raise Forbidden("This data set belongs to another organization.")
    return Dataset(name=name, path=path, manifest=_manifest(path))


def available(principal: Principal) -> list[Dataset]:
    """Shared data sets and the principal's organization's own, by name."""
    base = root()
    if not base.is_dir():
        return []
    out: list[Dataset] = []
    candidates = [(p.name, p) for p in base.iterdir() if not ORG_DIR_RE.match(p.name)]
    own = base / f"org-{principal.org_id}"
    if own.is_dir():
        candidates += [(f"{own.name}/{p.name}", p) for p in own.iterdir()]
    for name, _p in sorted(candidates):
        if not NAME_RE.match(name):
            continue
        try:
            out.append(resolve(name, principal))
        except (InvalidInput, NotFound, Forbidden):
            continue  # not a data set (a stray file) or a link leaving the folder: not offered
    return out


def month_text(value) -> str:
    """'2024-01' for a date or an ISO string (month inputs)."""
    if isinstance(value, date):
        return value.strftime("%Y-%m")
    return str(value or "")[:7]
