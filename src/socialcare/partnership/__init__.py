"""Both partners at the table: co-authored contract changes, each party's top three expectations, the
lifecycle practices of the "Operationalizing Contracts" guide as a shared workspace, case conferencing,
and escalation levels and referral clocks taken from the contract (seeds 000 and 002)."""
