"""837P files a payer's system accepts, and each claim's status: control numbers unique and increasing
per submitter, the subscriber's address and a billing phone required, our own edits where pyx12 lets
errors through, denied claims corrected and resubmitted."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal as D

import pytest

from socialcare.core.errors import Conflict, Forbidden, InvalidInput
from socialcare.delivery import rules as drules
from socialcare.delivery import service as delivery
from socialcare.payments import billing, claims, ledger, load_facts, load_terms
from tests.delivery.conftest import TODAY
from tests.delivery.test_service import add_contract
from tests.payments.helpers import EXAMPLES

CLAIMS, SERVICES, MEMBERS = (EXAMPLES / "fee_for_service_claims.yaml", EXAMPLES / "fee_for_service.services.csv",
                             EXAMPLES / "fee_for_service.members.yaml")


def example_file(**kw) -> str:
    return billing.claims_837p(load_terms(CLAIMS), load_facts([SERVICES, MEMBERS]), "2025-03", **kw)


def test_our_edits_catch_what_pyx12_lets_through():
    text = example_file()
    assert billing.validate_837p(text) == [] and billing.x12_edits(text) == []
    bad_npi = text.replace("XX*1234567893", "XX*1234567890")
    assert billing.validate_837p(bad_npi) == []  # pyx12 alone passes a wrong check digit...
    assert billing.x12_edits(bad_npi) == ["NM1*85: NPI 1234567890 fails the check digit"]
    first_clm = next(s for s in text.split("~\n") if s.startswith("CLM*"))
    parts = first_clm.split("*")
    wrong_total = text.replace(first_clm, "*".join([parts[0], parts[1], "1.00", *parts[3:]]), 1)
    assert billing.validate_837p(wrong_total) == []  # ... and a claim total unequal to its lines
    assert billing.x12_edits(wrong_total) == [f"claim {parts[1]}: CLM02 1.00 is not the sum of its lines (SV102) "
                                              f"{D(parts[2]):.2f}"]


def test_no_future_creation_date_and_no_zero_phone():
    with pytest.raises(InvalidInput):
        example_file(created=datetime(2099, 1, 1), now=datetime(2025, 4, 2))
    text = example_file(now=datetime(2025, 3, 20, 9, 30))  # the period is not over yet: created now
    assert "*250320*0930*" in text
    no_phone = load_terms(CLAIMS).model_copy(deep=True)
    bp = no_phone.billing.billing_provider.model_copy(update={"contact_phone": None})
    no_phone = no_phone.model_copy(update={"billing": no_phone.billing.model_copy(update={"billing_provider": bp})})
    with pytest.raises(InvalidInput) as exc:
        billing.claims_837p(no_phone, load_facts([SERVICES, MEMBERS]), "2025-03")
    assert exc.value.problems[-1].field == "billing.billing_provider.contact_phone"


CLAIM_TERMS = """
billing:
  mode: claims
  submitter: {name: Buffalo Meals Collaborative, id: BMC01}
  receiver: {name: Great Lakes Health Plan, id: GLHP}
  payer: {name: Great Lakes Health Plan, id: GLHP01}
  billing_provider:
    name: Buffalo Meals Collaborative
    npi: "1234567893"
    taxonomy: 251B00000X
    ein: "431234567"
    address: 1 Main St
    city: Buffalo
    state: NY
    zip: "142010001"
    contact_phone: "7165551234"
terms:
  - id: meals
    model: fee_for_service
    fee_schedule:
      - {service_code: S5170, unit: meal, rate: "10.00", modifiers: [U6]}
"""


@pytest.fixture
def claims_contract(db, p):
    for m in p.members:
        m.address_1, m.city = "12 Elm St", "Buffalo"
    db.flush()
    return add_contract(db, p, CLAIM_TERMS, counterparty=p.cbo)


def _meal(db, p, m, day, units):
    delivery.record_service(db, p.users["cbo"], drules.ServiceRecordInput(
        member_id=m.id, service_id=p.services["meals"].id, service_date=day, units=units), today=TODAY)


def test_claims_submitted_tracked_denied_and_resubmitted(db, p, claims_contract):
    admin, cbo = p.users["admin"], p.users["cbo"]
    for i, m in enumerate(p.members):
        _meal(db, p, m, date(2026, 3, 2 + i), 10)
    st = ledger.settle_contract(db, admin, claims_contract.id, "2026-03").statement
    ledger.act(db, admin, st.id, "approve")
    with pytest.raises(Conflict):
        ledger.act(db, cbo, st.id, "invoice")  # this contract bills by claims
    with pytest.raises(Forbidden):
        claims.submit_claims(db, admin, st.id)  # the partner submits its claims
    text = claims.submit_claims(db, cbo, st.id)
    assert st.status == "claims_submitted" and "ST*837*0001*" in text
    rows = claims.claims_of(db, cbo, st.id)
    assert len(rows) == 3 and {r.status for r in rows} == {"submitted"} and rows[0].charge == D("100.00")
    claims.set_status(db, admin, rows[0].id, "accepted")
    claims.set_status(db, admin, rows[0].id, "paid")
    with pytest.raises(InvalidInput):
        claims.set_status(db, admin, rows[1].id, "denied")  # a denial says why
    claims.set_status(db, admin, rows[1].id, "denied", reason="CO-16: missing subscriber address")
    again, new = claims.resubmit(db, cbo, rows[1].id)
    assert "ISA*" in again and "*000000002*" in again and "ST*837*0002*" in again  # the next control number
    assert f"REF*F8*{rows[1].claim_id}" in again and ":B:7*" in again  # a replacement of the denied claim
    assert (new.resubmits_id, new.status, rows[1].status) == (rows[1].id, "submitted", "replaced")
    assert billing.x12_edits(again) == [] and billing.validate_837p(again) == []


def test_a_member_without_an_address_is_named(db, p):
    c = add_contract(db, p, CLAIM_TERMS, counterparty=p.cbo)  # the fixture's members have no street address
    _meal(db, p, p.members[0], date(2026, 3, 2), 10)
    st = ledger.settle_contract(db, p.users["admin"], c.id, "2026-03").statement
    ledger.act(db, p.users["admin"], st.id, "approve")
    with pytest.raises(InvalidInput) as exc:
        claims.submit_claims(db, p.users["cbo"], st.id)
    assert p.members[0].plan_member_id in str(exc.value.problems[0]) and st.status == "approved"
