"""Contracts and scopes of work: parties, phases, versions, the checklist, eligibility and prioritization."""
