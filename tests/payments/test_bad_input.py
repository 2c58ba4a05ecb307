"""Bad terms or facts: an error naming file, row and field, and no statement."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from socialcare.core.errors import InvalidInput
from socialcare.payments import PaymentTerms, load_facts, read_services, settle
from socialcare.payments.rules import Period
from tests.payments.helpers import EXAMPLES, facts, terms

FFS = """
    terms:
      - id: ffs
        model: fee_for_service
        fee_schedule:
          - {service_code: S5170, rate: "9.75", unit: meal}
"""


def refused(fn, *args):
    with pytest.raises(InvalidInput) as exc:
        fn(*args)
    return exc.value.problems


def test_unknown_service_code_names_file_row_and_field():
    f = facts([("M1", "S5170", "2025-03-01", 2), ("M2", "X9999", "2025-03-02", 1)], csv_name="march.csv")
    [p] = refused(settle, terms(FFS), f, "2025-03")
    assert (p.file, p.row, p.field) == ("march.csv", 3, "service_code")
    assert "X9999" not in p.message and "S5170" in p.message  # says which codes the terms know


def test_negative_and_malformed_units_dates_and_members():
    rows = [("M1", "S5170", "2025-03-01", -2), ("", "S5170", "2025-02-30", "1.5"), ("M3", "S5170", "2025-03-03", 0)]
    problems = refused(read_services, b"member_id,service_code,service_date,units\n" + "\n".join(
        ",".join(str(x) for x in r) for r in rows).encode(), "services.csv")
    got = {(p.row, p.field): p.message for p in problems}
    assert got[(2, "units")] == "units must not be negative"
    assert got[(3, "member_id")] == "member_id is empty"
    assert got[(3, "service_date")].startswith("not a date")
    assert got[(3, "units")] == "units must be a whole number"
    assert got[(4, "units")] == "units must be at least 1"
    assert all(p.file == "services.csv" for p in problems)


def test_many_bad_rows_are_summarized():
    data = "member_id,service_code,service_date,units\n" + "M,S5170,2025-03-01,-1\n" * 500
    problems = refused(read_services, data, "big.csv")
    assert len(problems) == 21 and "480 more rows" in problems[-1].message


def test_missing_column():
    [p] = refused(read_services, b"member_id,service_code,units\nM,S5170,1\n", "s.csv")
    assert (p.row, p.field) == (1, "service_date")


def test_rate_with_four_decimals_where_the_terms_say_cents():
    text = FFS.replace('"9.75"', '"9.7512"')
    [p] = refused(terms, text, "marc.yaml")
    assert (p.file, p.row, p.field) == ("marc.yaml", 6, "terms[0].fee_schedule[0].rate")  # line 1 is blank
    assert "rate_decimals: 2" in p.message
    ok = terms("rate_decimals: 4\n" + text.replace("\n    ", "\n"))
    assert ok.terms[0].fee_schedule[0].rate == D("9.7512")


def test_amount_with_fractions_of_a_cent_is_refused():
    p, q = refused(terms, """
        terms:
          - {id: fp, model: fixed_price, total: "100.005", installments: [{due: 2025-01-01, amount: "100.005"}]}
    """)
    assert q.field == "terms[0].installments[0].amount"
    assert p.field == "terms[0].total" and "cents" in p.message


def test_overlapping_rate_periods():
    [p] = refused(terms, """
        terms:
          - id: ffs
            model: fee_for_service
            fee_schedule:
              - {service_code: S5170, rate: "9.75", effective_from: 2025-01-01, effective_to: 2025-06-30}
              - {service_code: S5170, rate: "9.95", effective_from: 2025-06-01}
    """, "t.yaml")
    assert (p.row, p.field) == (7, "terms[0].fee_schedule[1].effective_from") and "overlapping" in p.message


def test_the_same_code_in_two_terms_over_overlapping_periods():
    [p] = refused(terms, """
        terms:
          - {id: a, model: fee_for_service, fee_schedule: [{service_code: S5170, rate: "9.75"}], effective_to: 2025-06-30}
          - {id: b, model: fee_for_service, fee_schedule: [{service_code: S5170, rate: "9.95"}], effective_from: 2025-06-01}
    """)
    assert p.field == "terms[1].fee_schedule[0].service_code" and "overlapping" in p.message
    terms("""
        terms:
          - {id: a, model: fee_for_service, fee_schedule: [{service_code: S5170, rate: "9.75"}], effective_to: 2025-05-31}
          - {id: b, model: fee_for_service, fee_schedule: [{service_code: S5170, rate: "9.95"}], effective_from: 2025-06-01}
    """)


def test_overlapping_episodes():
    t = terms("""
        terms:
          - {id: cm, model: bundled, billing_code: T1016, episode_rate: "675.00", episode_days: 90}
    """)
    eps = ("episodes:\n"
           "  - {episode_id: '1', member_id: M, term: cm, start: 2025-01-01}\n"
           "  - {episode_id: '2', member_id: M, term: cm, start: 2025-03-01, kind: renewal, approved: true}\n")
    [p] = refused(settle, t, facts(None, eps, yaml_name="episodes.yaml"), "2025-03")
    assert (p.file, p.row, p.field) == ("episodes.yaml", 3, "episodes[1].start") and "overlapping" in p.message


def test_unknown_field_unknown_model_and_unknown_reference():
    problems = refused(terms, """
        terms:
          - {id: a, model: capitation, pmpn: "38.00"}
          - {id: b, model: capitaton}
          - {id: c, model: pay_for_performance, base_terms: [zz], metrics: [{metric: m, target: 1, bonus: "5.00"}]}
    """)
    fields = {p.field: p.message for p in problems}
    assert "unknown field" in fields["terms[0].pmpn"]
    assert fields["terms[1]"] == "unknown model 'capitaton'"


def test_reference_to_a_missing_term():
    [p] = refused(terms, """
        terms:
          - {id: c, model: pay_for_performance, base_terms: [zz], metrics: [{metric: m, target: 1, bonus: "5.00"}]}
    """)
    assert p.field == "terms[0].base_terms[0]" and "zz" in p.message


def test_float_money_is_refused_in_the_library_api():
    with pytest.raises(Exception) as exc:
        PaymentTerms.model_validate({"terms": [{"id": "c", "model": "capitation", "pmpm": 38.0}]})
    assert "float" in str(exc.value)


def test_yaml_numbers_are_read_exactly():
    t = terms(FFS.replace('"9.75"', "9.75"))
    assert t.terms[0].fee_schedule[0].rate == D("9.75") and type(t.terms[0].fee_schedule[0].rate) is D


def test_facts_problems_name_file_line_and_field(tmp_path):
    p = tmp_path / "facts.yaml"
    p.write_text("member_months:\n  cap: -5\nmetrcs: {}\n")
    [a] = refused(load_facts, [p])
    assert (a.row, a.field) == (3, "metrcs")
    p.write_text("member_months:\n  cap: -5\n")
    [b] = refused(load_facts, [p])
    assert (b.file, b.row, b.field) == (str(p), 2, "member_months.cap")


def test_missing_facts_for_a_term():
    t = terms("""
        terms:
          - {id: cap, model: capitation, pmpm: "38.00"}
    """)
    [p] = refused(settle, t, facts(None, {"metrics": {"x": 1}}), "2025-03")
    assert p.field == "member_months.cap"


def test_facts_for_an_unknown_term():
    t = terms("""
        terms:
          - {id: cap, model: capitation, pmpm: "38.00"}
    """)
    [p] = refused(settle, t, facts(None, {"member_months": {"cap": 10, "other": 5}}), "2025-03")
    assert (p.field, p.row) == ("member_months.other", 3)


def test_section_given_in_two_files(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("metrics: {x: 1}\n")
    b.write_text("metrics: {y: 2}\n")
    [p] = refused(load_facts, [a, b])
    assert (p.file, p.field) == (str(b), "metrics")


def test_bad_period():
    [p] = refused(Period.parse, "2025-13")
    assert p.field == "period"


def test_examples_dir_exists():
    assert (EXAMPLES / "fee_for_service.yaml").exists()
