"""Invoice, member claims (CSV and X12 837P validated by pyx12) and the `socialcare payments` CLI."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest
from typer.testing import CliRunner

from socialcare.core.errors import InvalidInput
from socialcare.payments import billing, load_facts, load_terms, settle
from socialcare.payments.cli import app
from tests.payments.helpers import EXAMPLES, facts, terms

runner = CliRunner()
CLAIMS = EXAMPLES / "fee_for_service_claims.yaml"
SERVICES = EXAMPLES / "fee_for_service.services.csv"
MEMBERS = EXAMPLES / "fee_for_service.members.yaml"


def test_837p_passes_pyx12_validation():
    t = load_terms(CLAIMS)
    text = billing.claims_837p(t, load_facts([SERVICES, MEMBERS]), "2025-03")
    assert billing.validate_837p(text) == []
    segs = text.split("~\n")
    assert segs[2] == "ST*837*0001*005010X222A1" and segs[3].startswith("BHT*0019*00*")
    assert "PRV*BI*PXC*251B00000X" in segs and "REF*EI*431234567" in segs
    assert "NM1*85*2*MID-AMERICA REGIONAL COUNCIL*****XX*1234567893" in segs
    assert sum(1 for x in segs if x.startswith("CLM*")) == 52 and "HI*ABK:Z5941*ABF:Z713" in segs
    assert "SV1*HC:S5170*585*UN*60***1" in segs and "DTP*472*D8*20250301" in segs
    total = sum(D(x.split("*")[2]) for x in segs if x.startswith("CLM*"))
    assert total == D("31050.00")
    assert text == billing.claims_837p(t, load_facts([SERVICES, MEMBERS]), "2025-03")  # deterministic


def test_pyx12_catches_a_broken_claim_file():
    t = load_terms(CLAIMS)
    text = billing.claims_837p(t, load_facts([SERVICES, MEMBERS]), "2025-03")
    assert billing.validate_837p(text.replace("*UN*60*", "*ZZ*60*", 1))


def test_837p_with_case_rate_episodes_and_long_claims_splits_at_50_lines():
    t = terms(CLAIMS.read_text().split("terms:\n  - id")[0] + """terms:
  - {id: cm, model: bundled, billing_code: T1016, episode_rate: "675.00", services_carved_out: [S5170]}
  - {id: meals, model: fee_for_service, fee_schedule: [{service_code: S5170, rate: "9.75", modifiers: [U6]}]}
""")
    rows = [("BK1000", "S5170", f"2025-03-{d:02d}", 2) for d in range(1, 31)] * 2
    f = facts(rows, {"members": {"BK1000": {"last_name": "Doe", "birth_date": "1950-01-01", "sex": "F",
                                            "address": "1 Elm St", "city": "Kansas City", "state": "MO",
                                            "zip": "64106"}},
                     "episodes": [{"episode_id": "E1", "member_id": "BK1000", "term": "cm", "start": "2025-03-02"}]})
    lines = billing.claim_lines(t, f, "2025-03")
    assert len(lines) == 61 and {ln.claim_id for ln in lines} == {"BK1000-202503", "BK1000-202503-2"}
    text = billing.claims_837p(t, f, "2025-03")
    assert billing.validate_837p(text) == []
    assert "SV1*HC:T1016*675*UN*1***1" in text and "SV1*HC:S5170:U6*19.5*UN*2***1" in text


def test_claims_need_member_names():
    t = load_terms(CLAIMS)
    with pytest.raises(InvalidInput) as exc:
        billing.claims_837p(t, load_facts([SERVICES]), "2025-03")
    assert exc.value.problems[0].field == "members.BK1000"


def test_claims_mode_needs_the_billing_parties():
    with pytest.raises(InvalidInput) as exc:
        terms("""
            billing: {mode: claims}
            terms: [{id: a, model: capitation, pmpm: "1.00"}]
        """)
    assert {p.field for p in exc.value.problems} == {"billing.submitter", "billing.receiver", "billing.payer",
                                                     "billing.billing_provider"}


def test_bad_npi_is_refused():
    with pytest.raises(InvalidInput) as exc:
        terms(CLAIMS.read_text().replace("1234567893", "1234567890"))
    assert exc.value.problems[0].field == "billing.billing_provider.npi"


# ---- CLI -------------------------------------------------------------------------------------


def _cli(*args):
    return runner.invoke(app, ["settle", *map(str, args)])


def test_cli_prints_a_table():
    r = _cli(EXAMPLES / "capitation.yaml", "--facts", EXAMPLES / "capitation.facts.yaml", "--period", "2025-03")
    assert r.exit_code == 0, r.output
    assert "TOTAL PAID" in r.output and "$87,900.00" in r.output


def test_cli_json_with_several_facts_files_after_one_option():
    r = _cli(EXAMPLES / "pay_for_performance.yaml", "--facts", EXAMPLES / "pay_for_performance.services.csv",
             EXAMPLES / "pay_for_performance.facts.yaml", "--period", "2025-03", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["totals"]["paid"] == "25550.00"
    assert sum(D(ln["amount"]) for ln in data["lines"] if ln["status"] == "paid") == D("25550.00")


def test_cli_invoice_and_837(tmp_path):
    r = _cli(EXAMPLES / "fee_for_service.yaml", "--facts", SERVICES, "--period", "2025-03", "--invoice")
    assert r.exit_code == 0 and r.output.startswith("term_id,month,service_code") and "30150.00" in r.output
    out = tmp_path / "claims.837"
    r = _cli(CLAIMS, "--facts", SERVICES, "--facts", MEMBERS, "--period", "2025-03", "--claims-837", "-o", out)
    assert r.exit_code == 0, r.output
    assert billing.validate_837p(out.read_text()) == []
    r = _cli(CLAIMS, "--facts", SERVICES, MEMBERS, "--period", "2025-03", "--claims")
    assert r.exit_code == 0 and len(r.output.strip().splitlines()) == 67


def test_cli_bad_facts_exit_1_naming_file_row_field(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("member_id,service_code,service_date,units\nM1,S5170,2025-03-01,-3\n")
    r = _cli(EXAMPLES / "fee_for_service.yaml", "--facts", bad, "--period", "2025-03")
    assert r.exit_code == 1
    assert f"{bad}, row 2, field 'units': units must not be negative" in r.output
    assert "TOTAL" not in r.output


def test_cli_check():
    r = runner.invoke(app, ["check", str(EXAMPLES / "shared_savings.yaml")])
    assert r.exit_code == 0 and "savings: shared_savings" in r.output


def test_statement_json_never_holds_a_float():
    st = settle(load_terms(EXAMPLES / "shared_savings.yaml"), load_facts([EXAMPLES / "shared_savings.facts.yaml"]),
                "2025")
    json.dumps(st.as_dict(), allow_nan=False)

    def walk(x):
        assert not isinstance(x, float)
        if isinstance(x, dict):
            [walk(v) for v in x.values()]
        elif isinstance(x, list):
            [walk(v) for v in x]

    walk(st.as_dict())
