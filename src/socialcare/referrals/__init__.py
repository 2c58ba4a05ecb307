"""Closed-loop referrals plan -> hub -> CBO: lifecycle, consent, routing, batches, timeliness, escalations."""
