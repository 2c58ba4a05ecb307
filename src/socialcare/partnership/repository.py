"""Which side of a contract the principal is on, and the workspace's queries that depend on it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from socialcare.security.principal import Principal


def side_of(principal: Principal, contract) -> str | None:
    """'plan' or 'partner' for a party to the contract, None otherwise."""
    if principal.org_id == contract.plan_id:
        return "plan"
    if principal.org_id == contract.counterparty_id:
        return "partner"
    return None


def proposed_by_own_side(principal: Principal, proposal) -> bool:
    return proposal.proposed_by_org_id == principal.org_id


def delete_own_expectations(session: Session, principal: Principal, contract_id: int) -> None:
    from socialcare.partnership.models import ContractExpectation

    session.execute(delete(ContractExpectation).where(ContractExpectation.contract_id == contract_id,
                                                      ContractExpectation.party_org_id == principal.org_id))


def contacts_by_others(session: Session, principal: Principal, member_id: int, since: datetime) -> list:
    """(at, channel, result, organization name) of contacts with the member other organizations recorded."""
    from socialcare.directory.models import Organization
    from socialcare.referrals.models import Referral, ReferralEvent

    return list(session.execute(
        select(ReferralEvent.at, ReferralEvent.channel, ReferralEvent.result, Organization.name)
        .join(Referral, Referral.id == ReferralEvent.referral_id)
        .join(Organization, Organization.id == ReferralEvent.org_id)
        .where(Referral.member_id == member_id, ReferralEvent.org_id != principal.org_id,
               ReferralEvent.channel.is_not(None), ReferralEvent.at >= since)
        .order_by(ReferralEvent.at.desc()).limit(10)).all())
