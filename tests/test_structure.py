"""The layering CONTRIBUTING.md describes, checked: routes and commands hold no queries, and organization
scoping is written in repositories only.

Rules (AST, not text, so strings and comments never count):
- ``route-query``: in ``api.py``, ``pages.py`` and ``cli.py`` no call of ``select(...)``, ``.execute(...)``,
  ``.query(...)`` or ``.commit(...)``; a route or command calls one service function, and the request or
  command owns the transaction through the unit of work.
- ``org-scope``: outside ``repository.py`` and the access module (``security/access.py``) no comparison with ``principal.org_id``; who may see what is
  decided where the queries are.

Places that broke a rule before the rule existed are counted in ``tests/structure_baseline.json``. The
count of a file may only go down: a new violation fails, and so does a baseline larger than what is
left (lower it in the same change that moves the query), so the list only shrinks.
"""

from __future__ import annotations

import ast
import json
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "socialcare"
BASELINE = Path(__file__).with_name("structure_baseline.json")
ROUTE_FILES = {"api.py", "pages.py", "cli.py"}
QUERY_CALLS = {"select", "execute", "query", "commit"}
# the one access module (which members an organization reaches, by purpose) is where scoping is defined
ACCESS_MODULE = SRC / "security" / "access.py"


def _called_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _is_principal_org_id(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "org_id" and isinstance(node.value, ast.Name)
            and node.value.id in {"principal", "p", "who", "actor"})


def violations(path: Path, source: str | None = None) -> Counter:
    """Counter of (rule) -> occurrences in one module."""
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"))
    found: Counter = Counter()
    for node in ast.walk(tree):
        if path.name in ROUTE_FILES and isinstance(node, ast.Call):
            name = _called_name(node)
            if name in QUERY_CALLS and not (name == "select" and isinstance(node.func, ast.Attribute)):
                found["route-query"] += 1
        if path.name != "repository.py" and path != ACCESS_MODULE and isinstance(node, ast.Compare):
            if any(_is_principal_org_id(x) for x in [node.left, *node.comparators]):
                found["org-scope"] += 1
    return found


def current() -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        counts = violations(path)
        if counts:
            out[str(path.relative_to(ROOT))] = dict(sorted(counts.items()))
    return out


def test_no_new_query_in_routes_and_no_scoping_outside_repositories():
    baseline = json.loads(BASELINE.read_text())
    now = current()
    grew = []
    for file, counts in now.items():
        for rule, n in counts.items():
            allowed = baseline.get(file, {}).get(rule, 0)
            if n > allowed:
                grew.append(f"{file}: {rule} {n} (allowed {allowed})")
    assert grew == [], ("Queries belong in repository.py and scoping in repositories "
                        "(CONTRIBUTING.md):\n" + "\n".join(grew))


def test_the_baseline_only_shrinks():
    baseline = json.loads(BASELINE.read_text())
    now = current()
    stale = [f"{file}: {rule} allowed {n}, now {now.get(file, {}).get(rule, 0)}"
             for file, counts in baseline.items() for rule, n in counts.items()
             if now.get(file, {}).get(rule, 0) < n]
    assert stale == [], "Lower tests/structure_baseline.json to what is left:\n" + "\n".join(stale)


def test_the_lint_catches_a_misplaced_query():
    """A query written in a pages.py, and a scoping filter written in a service, are both caught."""
    page = SRC / "referrals" / "pages.py"
    misplaced = (
        "from sqlalchemy import select\n"
        "def board(session, principal):\n"
        "    return session.execute(select(Referral).where(Referral.plan_id == principal.org_id)).all()\n"
    )
    found = violations(page, misplaced)
    assert found["route-query"] == 2  # select(...) and session.execute(...)
    assert found["org-scope"] == 1
    service = SRC / "referrals" / "service.py"
    assert violations(service, "def f(principal, r):\n    return r.plan_id == principal.org_id\n")["org-scope"] == 1
    repository = SRC / "referrals" / "repository.py"
    assert violations(repository, "def f(principal, r):\n    return r.plan_id == principal.org_id\n") == Counter()
    assert violations(page, "def f(service, session):\n    return service.board(session)\n") == Counter()


if __name__ == "__main__":  # python -m tests.test_structure: rewrite the baseline to what is left
    BASELINE.write_text(json.dumps(current(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {BASELINE}")
