"""Caseload: who in a hub or CBO works each referral (self-assign, reassign with a reason), "my
caseload", and the note thread the referrer and the receiver of a referral both read."""
