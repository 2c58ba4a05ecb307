"""Which contract a piece of daily work belongs to: a pure rule (no database).

A referral, a hub's sub-referral, a service record, a care episode, a pathway, a confirmed engagement
or a flexible-fund disbursement counts under a contract when every one of these holds:

1. the plan: the contract is the member's plan's;
2. the party: the organization doing the work is the contract's counterparty, or a member of the
   network of the hub that is the counterparty on that day (a hub's sub-referral, a network CBO's
   service). A referral the plan sends straight to a CBO counts only under that CBO's own contracts;
3. the term: the day of the work is inside the term of the contract version in effect that day (the
   latest version whose effective date is on or before it), and the contract has launched
   (implementation, renewal, or ended after running);
4. the scope of work: the service code is one the version covers, or, when either side names no code,
   the need domain is; pathways and engagements count under contracts that pay for pathways,
   disbursements under contracts with a flexible fund;
5. eligibility: the member meets the contract's eligible population rule (the caller evaluates the
   rule in SQL and passes the contracts the member is eligible for).

When several contracts pass, the contract of the referral the work answers (a sub-referral's parent,
a service's referral) settles it; otherwise zero or several candidates are returned for a person to
choose, never guessed. Every decision carries a sentence a reader can check:
"contract 5 v2: hub network member, S5170, within term, eligible".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date

LAUNCHED_PHASES = frozenset({"implementation", "renewal", "ended"})
KINDS = ("referral", "service_record", "episode", "pathway", "engagement", "disbursement")


@dataclass(frozen=True)
class ScopeService:
    need_domain: str | None
    service_code: str | None  # HCPCS without modifiers, e.g. S5170


@dataclass(frozen=True)
class VersionTerms:
    version: int
    effective_date: date
    start_date: date
    end_date: date
    services: tuple[ScopeService, ...] = ()
    pays_pathways: bool = False  # an outcome-based term or a service counted per pathway
    flex_funds: bool = False


@dataclass(frozen=True)
class ContractFacts:
    """What the rule needs to know of one contract."""

    contract_id: int
    name: str
    plan_id: int
    counterparty_id: int
    phase: str
    versions: tuple[VersionTerms, ...]
    # the hub's network on each day: (cbo_id, start, end or None); empty for a CBO counterparty
    network: tuple[tuple[int, date, date | None], ...] = ()

    def version_on(self, day: date) -> VersionTerms | None:
        """The version in effect on the day: the latest effective on or before it (else the first)."""
        if not self.versions:
            return None
        ordered = sorted(self.versions, key=lambda v: v.version)
        effective = [v for v in ordered if v.effective_date <= day]
        return effective[-1] if effective else ordered[0]

    def network_member_on(self, org_id: int, day: date) -> bool:
        return any(c == org_id and s <= day and (e is None or e >= day) for c, s, e in self.network)


@dataclass(frozen=True)
class Work:
    """One record to attribute."""

    kind: str  # KINDS
    plan_id: int
    org_id: int  # who does the work: the referral's owner, the delivering organization
    on: date  # the day of the work: requested, service date, episode start, pathway opened...
    need_domain: str | None = None
    service_code: str | None = None
    direct_only: bool = False  # a plan's referral straight to this organization: no hub path
    via_hub_id: int | None = None  # a hub's sub-referral: only that hub's contracts, through its network
    via_contract_id: int | None = None  # the contract of the referral this work answers
    eligible_for: frozenset[int] | None = None  # contracts whose population the member is in (None: not checked)


@dataclass(frozen=True)
class Candidate:
    contract_id: int
    version: int
    name: str
    reason: str


@dataclass(frozen=True)
class Attribution:
    contract_id: int | None
    version: int | None
    reason: str
    candidates: tuple[Candidate, ...] = ()
    rejected: tuple[tuple[int, str], ...] = field(default=(), compare=False)

    @property
    def status(self) -> str:
        if self.contract_id is not None:
            return "attributed"
        return "ambiguous" if len(self.candidates) > 1 else "none"


def _party(c: ContractFacts, w: Work) -> str | None:
    if w.via_hub_id is not None:
        if c.counterparty_id != w.via_hub_id:
            return None
        return "hub network member" if c.network_member_on(w.org_id, w.on) or w.org_id == w.via_hub_id else None
    if w.org_id == c.counterparty_id:
        return "counterparty"
    if not w.direct_only and c.network_member_on(w.org_id, w.on):
        return "hub network member"
    return None


def _scope(v: VersionTerms, w: Work) -> str | None:
    if w.kind in ("pathway", "engagement"):
        return "pathways paid" if v.pays_pathways else None
    if w.kind == "disbursement":
        return "flexible fund" if v.flex_funds else None
    for s in v.services:
        if w.service_code and s.service_code:
            if w.service_code.upper() == s.service_code.upper():
                return w.service_code.upper()
        elif w.need_domain and s.need_domain and w.need_domain == s.need_domain:
            return f"{w.need_domain.replace('_', ' ')} need"
    return None


def check(c: ContractFacts, w: Work) -> tuple[Candidate | None, str]:
    """Does the work count under this contract? (candidate, why) or (None, why not)."""
    if c.plan_id != w.plan_id:
        return None, "another plan's contract"
    if c.phase not in LAUNCHED_PHASES:
        return None, f"not launched ({c.phase.replace('_', ' ')})"
    party = _party(c, w)
    if party is None:
        return None, "not done by the counterparty" + ("" if w.direct_only else " or its network")
    v = c.version_on(w.on)
    if v is None or not (v.start_date <= w.on <= v.end_date):
        return None, f"{w.on.isoformat()} is outside the term"
    scope = _scope(v, w)
    if scope is None:
        return None, "not in the scope of work"
    if w.eligible_for is not None and c.contract_id not in w.eligible_for:
        return None, "member not in the eligible population"
    elig = "eligible" if w.eligible_for is not None else "eligibility not checked"
    return Candidate(c.contract_id, v.version, c.name,
                     f"contract {c.contract_id} v{v.version}: {party}, {scope}, within term, {elig}"), ""


def attribute(w: Work, contracts: Iterable[ContractFacts]) -> Attribution:
    """The contract the work belongs to, with its reason; or none, with the candidates to choose from."""
    cands: list[Candidate] = []
    rejected: list[tuple[int, str]] = []
    contracts = list(contracts)
    for c in contracts:
        cand, why = check(c, w)
        if cand is None:
            rejected.append((c.contract_id, why))
        else:
            cands.append(cand)
    cands.sort(key=lambda x: x.contract_id)
    if w.via_contract_id is not None:
        # the referral this work answers already counts under a contract: its eligibility was judged there
        via = next((c for c in contracts if c.contract_id == w.via_contract_id), None)
        follow, _why = check(via, replace(w, eligible_for=None)) if via is not None else (None, "")
        if follow is not None:
            return Attribution(follow.contract_id, follow.version,
                               follow.reason.replace("eligibility not checked", "as its referral"),
                               tuple(cands), tuple(rejected))
    if len(cands) == 1:
        return Attribution(cands[0].contract_id, cands[0].version, cands[0].reason, tuple(cands), tuple(rejected))
    if not cands:
        near = [f"contract {cid}: {why}" for cid, why in rejected
                if not why.startswith(("another plan", "not done by", "not launched"))]
        return Attribution(None, None, "no contract covers this work" + (f" ({'; '.join(near)})" if near else ""),
                           (), tuple(rejected))
    names = ", ".join(f"contract {x.contract_id}" for x in cands)
    return Attribution(None, None, f"several contracts could cover this work ({names}); choose one",
                       tuple(cands), tuple(rejected))


def chosen(w: Work, contracts: Iterable[ContractFacts], contract_id: int) -> Attribution:
    """A person's choice among the candidates (or a contract a member list named): checked, never forced."""
    contracts = list(contracts)
    c = next((x for x in contracts if x.contract_id == contract_id), None)
    if c is None:
        return Attribution(None, None, f"contract {contract_id} is not one of the plan's contracts")
    cand, why = check(c, w)
    if cand is None:
        return Attribution(None, None, f"contract {contract_id} does not cover this work: {why}")
    return Attribution(cand.contract_id, cand.version, cand.reason, (cand,))
