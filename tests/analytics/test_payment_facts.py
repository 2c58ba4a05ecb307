"""The hand-off from the shared-savings report to the payments engine: the report's figures settle a
``shared_savings`` term, and savings the difference-in-differences does not support are refused."""

from __future__ import annotations

import textwrap
from decimal import ROUND_HALF_UP, Decimal

import pytest
import yaml

from socialcare.analytics import savings as sv
from socialcare.analytics.synth import SynthSpec, generate
from socialcare.core.errors import InvalidInput
from tests.analytics.conftest import params_from
from tests.delivery.conftest import p  # noqa: F401 - a partnership with a settler for the ledger test

payments = pytest.importorskip("socialcare.payments")

TERMS = textwrap.dedent(
    """
    version: 1
    contract: Plan x Camden-style hub
    terms:
      - id: savings
        model: shared_savings
        guaranteed_payment: "20000.00"
        sharing: {min_percent: 40, max_percent: 50, metrics_total: 5}
        minimum_savings_rate_percent: 1
    """
)


def _report(tmp_path_factory, members, seed, effect):
    out = tmp_path_factory.mktemp(f"pay{members}")
    manifest = generate(SynthSpec(members=members, seed=seed, effect=effect), out)
    params = params_from(manifest, trend="0.05", bootstrap=300, quality_metrics_met=4, quality_metrics_total=5,
                         guaranteed_payments="20000")
    return sv.run(out / "claims", out / "eligibility", params, program_path=out / "program.parquet")


@pytest.fixture(scope="module")
def supported(tmp_path_factory):
    """3,000 members with a strong planted effect: significant savings."""
    return _report(tmp_path_factory, 3000, 32, 0.6)


@pytest.fixture(scope="module")
def unsupported(tmp_path_factory):
    """400 members: positive contract savings, but a DiD interval that includes zero."""
    return _report(tmp_path_factory, 400, 21, 0.3)


def _settle(facts: dict):
    terms = payments.parse_terms(TERMS, "terms.yaml")
    return payments.settle(terms, payments.build_facts([("facts.yaml", yaml.safe_dump(facts))], []), "2025")


def test_supported_savings_settle_the_shared_savings_term(supported):
    r = supported
    assert r.savings_supported and r.gross_savings > 20000
    facts = sv.to_payment_facts(r, "savings")
    assert facts == {"tcoc": {"savings": {"projected_tcoc": str(r.projected_tcoc), "actual_tcoc": str(r.actual_tcoc),
                                          "member_months": r.performance_member_months, "quality_metrics_met": 4}}}
    statement = _settle(facts)
    # (projected − actual − the TERM's guaranteed payment, netted once) × (40 % + 10 % × 4/5 metrics)
    expected = ((r.projected_tcoc - r.actual_tcoc - Decimal("20000")) * Decimal("0.48")).quantize(
        Decimal("0.01"), ROUND_HALF_UP)
    assert statement.by_term()["savings"] == expected
    line = next(ln for ln in statement.lines if ln.term_id == "savings" and ln.paid)
    assert line.inputs["projected_tcoc"] == r.projected_tcoc and line.inputs["actual_tcoc"] == r.actual_tcoc


def test_savings_the_did_does_not_support_are_not_paid_out(unsupported):
    r = unsupported
    assert r.gross_savings > 0 and not r.did.significant
    with pytest.raises(InvalidInput) as exc:
        sv.to_payment_facts(r, "savings")
    assert exc.value.problems[0].field == "tcoc.savings"
    # the joint operating committee may decide to settle anyway: then the engine pays by the terms
    statement = _settle(sv.to_payment_facts(r, "savings", allow_unsupported=True))
    assert statement.by_term()["savings"] > 0


# ---- the command line round trip: savings report → payments settle (issue 24) --------------------


def _synth(tmp_path_factory, name, members, seed, effect):
    out = tmp_path_factory.mktemp(name)
    generate(SynthSpec(members=members, seed=seed, effect=effect), out)
    return out


def test_cli_savings_report_writes_the_facts_payments_settle_reads(tmp_path_factory, tmp_path):
    """Nothing is copied by hand: the report writes the facts file, the settlement reads it, and the
    statement pays (projected − actual − the term's guaranteed payment) × the band."""
    import json

    from typer.testing import CliRunner

    from socialcare.cli.main import app

    data = _synth(tmp_path_factory, "cli3000", 3000, 32, 0.6)
    facts_file, terms = tmp_path / "facts.yaml", tmp_path / "terms.yaml"
    terms.write_text(TERMS)
    runner = CliRunner()
    rep = runner.invoke(app, ["savings", "report", str(data), "--trend", "0.05", "--bootstrap", "300",
                              "--quality-met", "4", "--quality-total", "5", "--facts-out", str(facts_file),
                              "--json"])
    assert rep.exit_code == 0, rep.output
    report = json.loads(rep.output)
    assert report["savings_supported"] and report["payment_facts_refused"] is None
    # the same shape as the API's hand-off, in the file
    assert yaml.safe_load(facts_file.read_text()) == report["payment_facts"] == {"tcoc": {"savings": {
        "projected_tcoc": report["projected_tcoc"], "actual_tcoc": report["actual_tcoc"],
        "member_months": report["performance_member_months"], "quality_metrics_met": 4}}}
    st = runner.invoke(app, ["payments", "settle", str(terms), "--facts", str(facts_file), "--period", "2025",
                             "--json"])
    assert st.exit_code == 0, st.output
    statement = json.loads(st.output)
    expected = ((Decimal(report["projected_tcoc"]) - Decimal(report["actual_tcoc"]) - Decimal("20000"))
                * Decimal("0.48")).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert Decimal(statement["totals"]["by_term"]["savings"]) == expected
    as_json = tmp_path / "facts.json"
    again = runner.invoke(app, ["savings", "report", str(data), "--trend", "0.05", "--bootstrap", "300",
                                "--quality-met", "4", "--facts-out", str(as_json)])
    assert again.exit_code == 0, again.output
    assert json.loads(as_json.read_text()) == report["payment_facts"]


@pytest.mark.parametrize("fmt", [[], ["--json"]])
def test_cli_refuses_to_write_facts_for_unsupported_savings(tmp_path_factory, tmp_path, fmt):
    from typer.testing import CliRunner

    from socialcare.cli.main import app

    data = _synth(tmp_path_factory, "cli400", 400, 21, 0.3)
    facts_file = tmp_path / "facts.yaml"
    args = ["savings", "report", str(data), "--trend", "0.05", "--bootstrap", "300", "--facts-out", str(facts_file),
            *fmt]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 1 and not facts_file.exists()
    ok = CliRunner().invoke(app, [*args, "--allow-unsupported"])
    assert ok.exit_code == 0, ok.output
    assert "tcoc" in yaml.safe_load(facts_file.read_text())


def test_the_page_offers_the_same_facts_as_a_yaml_file(supported):
    from socialcare.analytics import service

    facts, refused = service.payment_handoff(supported)
    assert refused is None and facts == sv.to_payment_facts(supported, "savings")
    text = service.facts_yaml(facts, supported, "f.yaml")
    assert text.startswith("# Shared-savings facts") and "--facts f.yaml" in text
    assert yaml.safe_load(text) == facts
    statement = _settle(yaml.safe_load(text))
    assert statement.by_term()["savings"] > 0


def test_facts_recorded_on_the_contract_settle_it_in_the_ledger(db, p, supported, unsupported):  # noqa: F811
    """With the ledger, the contract's own settlement reads the report's facts: recorded once as the
    contract's total-cost-of-care fact, nothing typed in again."""
    from datetime import date

    from socialcare.analytics import service
    from socialcare.payments import ledger
    from tests.delivery.test_service import add_contract

    r = supported
    c = add_contract(db, p, TERMS, start=r.params.performance_start, end=date(r.params.performance_end.year, 12, 31))
    admin = p.users["admin"]
    f = service.record_on_contract(db, admin, c.id, r)
    assert f.kind == "tcoc" and f.term_id == "savings" and f.on_date.month == r.params.performance_end.month
    assert f.data["projected_tcoc"] == str(r.projected_tcoc) and "shared-savings report" in f.reason
    st = ledger.settle_contract(db, admin, c.id, str(r.params.performance_end.year)).statement
    expected = ((r.projected_tcoc - r.actual_tcoc - Decimal("20000")) * Decimal("0.48")).quantize(
        Decimal("0.01"), ROUND_HALF_UP)
    assert st.total == expected
    # savings the DiD does not support are not recorded
    with pytest.raises(InvalidInput):
        service.record_on_contract(db, admin, c.id, unsupported)


def test_cli_records_the_facts_on_a_contract(db, p, tmp_path_factory, monkeypatch):  # noqa: F811
    from contextlib import contextmanager
    from datetime import date

    from typer.testing import CliRunner

    import socialcare.core.db as core_db
    from socialcare.cli.main import app
    from socialcare.payments.models import ManualFact
    from tests.delivery.test_service import add_contract

    @contextmanager
    def same_session():  # the command's unit of work is the test's transaction
        yield db

    monkeypatch.setattr(core_db, "unit_of_work", same_session)
    data = _synth(tmp_path_factory, "cli3000c", 3000, 32, 0.6)
    c = add_contract(db, p, TERMS, start=date(2025, 1, 1), end=date(2025, 12, 31))
    runner = CliRunner()
    no_user = runner.invoke(app, ["savings", "report", str(data), "--contract", str(c.id)])
    assert no_user.exit_code != 0
    r = runner.invoke(app, ["savings", "report", str(data), "--trend", "0.05", "--bootstrap", "300",
                            "--quality-met", "4", "--contract", str(c.id), "--as", p.users["admin"].username])
    assert r.exit_code == 0, r.output
    f = db.query(ManualFact).filter_by(contract_id=c.id, kind="tcoc").one()
    assert f.term_id == "savings" and f.data["quality_metrics_met"] == 4 and f.on_date == date(2025, 12, 31)
