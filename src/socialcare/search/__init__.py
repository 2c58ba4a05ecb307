"""Search-as-you-type pickers: members, referrals, services, organizations the user may see."""
