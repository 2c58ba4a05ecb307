"""Screening scoring exactly as the instruments define it (standards.md §3; IG HVS Questionnaire)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import simple_icd_10_cm as icd
from hypothesis import given
from hypothesis import strategies as st

from socialcare.kit.codes import NEED_DOMAINS, NeedDomain
from socialcare.screening import rules

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fhir-sdoh-clinicalcare"
HITS = ["95618-5", "95617-7", "95616-9", "95615-1"]
HITS_CODES = {1: "LA6270-8", 2: "LA10066-1", 3: "LA10082-8", 4: "LA16644-9", 5: "LA6482-9"}


def test_instruments_loaded_with_their_loinc_panels():
    insts = rules.instruments()
    assert insts["ahc_hrsn_core"].panel_loinc == "96777-8"
    assert len(insts["ahc_hrsn_core"].items) == 10
    assert insts["hunger_vital_sign"].panel_loinc == "88121-9"
    assert [i.loinc for i in insts["hunger_vital_sign"].items] == ["88122-7", "88123-5"]


def test_every_z_code_is_a_billable_icd10cm_code():
    codes = rules.all_z_codes()
    assert {"Z59.41", "Z59.811", "Z59.82", "Z59.12", "Z59.19", "Z59.11"} <= codes
    for code in codes:
        assert icd.is_valid_item(code), code
        assert icd.is_leaf(code), f"{code} is a header, not billable"


def test_need_domain_z_codes_of_screened_domains_are_billable():
    # (kit.codes' financial Z59.86 became a header in the FY2026 code set: reported to the kit's owner)
    screened = {item.domain for inst in rules.instruments().values() for item in inst.items}
    for d, info in NEED_DOMAINS.items():
        if info.z_code and d.value in screened:
            assert icd.is_valid_item(info.z_code) and icd.is_leaf(info.z_code), d


def test_instrument_domains_are_need_domains():
    for inst in rules.instruments().values():
        for item in inst.items:
            NeedDomain(item.domain)


def test_ahc_all_negative():
    r = rules.score("ahc_hrsn_core", {
        "71802-3": "LA31993-1", "96778-6": ["LA9-3"], "88122-7": "LA28398-8", "88123-5": "LA28398-8",
        "93030-5": "LA32-8", "96779-4": "LA32-8", **{h: "LA6270-8" for h in HITS},
    })
    assert r.positive_domains == []
    assert r.safety_score == 4
    assert r.status == "completed"


def test_ahc_housing_positive_by_quality_only_and_food_by_q4():
    r = rules.score("ahc_hrsn_core", {"71802-3": "LA31993-1", "96778-6": ["LA28580-1", "LA31998-0"],
                                      "88122-7": "LA28398-8", "88123-5": "LA6729-3"})
    assert r.positive_domains == ["housing", "food"]
    assert {n.domain: n.z_code for n in r.needs} == {"housing": "Z59.19", "food": "Z59.41"}
    assert r.status == "partial"


def test_ahc_worried_about_losing_housing_is_housing_instability():
    r = rules.score("ahc_hrsn_core", {"71802-3": "LA31994-9"})
    assert r.needs[0].z_code == "Z59.811" and r.needs[0].sdoh_category == "housing-instability"


def test_ahc_utilities_already_shut_off_and_transportation():
    r = rules.score("ahc_hrsn_core", {"96779-4": "LA32002-0", "93030-5": "LA33-6"})
    assert r.positive_domains == ["transportation", "utilities"]


def test_hits_boundary_10_negative_11_positive():
    ten = rules.score("ahc_hrsn_core", {HITS[0]: HITS_CODES[4], HITS[1]: HITS_CODES[2], HITS[2]: HITS_CODES[2],
                                        HITS[3]: HITS_CODES[2]})
    assert ten.safety_score == 10 and "interpersonal_safety" not in ten.positive_domains
    eleven = rules.score("ahc_hrsn_core", {HITS[0]: HITS_CODES[5], HITS[1]: HITS_CODES[2], HITS[2]: HITS_CODES[2],
                                           HITS[3]: HITS_CODES[2]})
    assert eleven.safety_score == 11 and "interpersonal_safety" in eleven.positive_domains


def test_hits_needs_all_four_items():
    r = rules.score("ahc_hrsn_core", {HITS[0]: HITS_CODES[5], HITS[1]: HITS_CODES[5], HITS[2]: HITS_CODES[5]})
    assert r.safety_score is None
    assert "interpersonal_safety" not in r.positive_domains


@given(st.lists(st.integers(min_value=1, max_value=5), min_size=4, max_size=4))
def test_hits_sum_rule(values):
    r = rules.score("ahc_hrsn_core", {h: HITS_CODES[v] for h, v in zip(HITS, values, strict=True)})
    assert r.safety_score == sum(values)
    assert ("interpersonal_safety" in r.positive_domains) == (sum(values) > 10)


FOOD = ["LA28397-0", "LA6729-3", "LA28398-8", "LA15775-2", None]


@given(st.sampled_from(FOOD), st.sampled_from(FOOD))
def test_hunger_vital_sign(q1, q2):
    responses = {k: v for k, v in (("88122-7", q1), ("88123-5", q2)) if v}
    r = rules.score("hunger_vital_sign", responses)
    positive = {"LA28397-0", "LA6729-3"}
    if q1 is None and q2 is None:
        assert r.hvs_result is None
    elif q1 in positive or q2 in positive:
        assert r.hvs_result == "LA19952-3" and r.positive_domains == ["food"] and r.needs[0].z_code == "Z59.41"
    else:
        assert r.hvs_result == "LA19983-8" and r.positive_domains == []


def test_hunger_vital_sign_ig_example_response_is_at_risk():
    qr = json.loads((FIXTURES / "QuestionnaireResponse-SDOHCC-QuestionnaireResponseHungerVitalSignExample.json").read_text())
    answers = {i["linkId"].strip("/"): i["answer"][0]["valueCoding"]["code"] for i in qr["item"]}
    expected = answers.pop("88124-3")
    assert rules.score("hunger_vital_sign", answers).hvs_result == expected == "LA19952-3"


def test_bad_answers_are_all_reported():
    with pytest.raises(rules.ScreeningInputError) as e:
        rules.score("ahc_hrsn_core", {"71802-3": "LA99-9", "96778-6": ["LA9-3", "LA28580-1"], "12345-6": "x",
                                      "88122-7": ["LA28397-0", "LA6729-3"]})
    fields = {f for f, _m in e.value.problems}
    assert fields == {"71802-3", "96778-6", "12345-6", "88122-7"}


def test_declined_items_are_asked_declined():
    r = rules.score("ahc_hrsn_core", {"71802-3": "LA31993-1"}, frozenset({"93030-5"}))
    reasons = {a.item_loinc: a.data_absent_reason for a in r.answers if a.answer_code is None}
    assert reasons["93030-5"] == "asked-declined"
    assert reasons["96779-4"] == "not-asked"
