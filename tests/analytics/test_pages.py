"""The analytics pages and the shared-savings API: the ROI calculator renders its figures, flags and
charts for plan (and hub) users and refuses CBOs; the shared-savings report reads only data sets
inside the configured claims folder that the caller's organization may use."""

from __future__ import annotations

import json
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from socialcare.analytics import datasets, evidence, forms, roi, savings
from socialcare.analytics.synth import SynthSpec, generate
from socialcare.core.errors import InvalidInput
from socialcare.core.settings import get_settings
from socialcare.security.models import AuditEvent
from tests.factories import make_org, make_user
from tests.web.fixtures import api_headers, app, client, client_factory, csrf_from  # noqa: F401

HX = {"HX-Request": "true"}


@pytest.fixture(scope="session")
def tiny_claims(tmp_path_factory) -> Path:
    """400 members x 24 months (~40k claim lines): enough for every figure, fast to run."""
    out = tmp_path_factory.mktemp("tiny") / "set"
    generate(SynthSpec(members=400, seed=21, effect=0.3), out)
    return out


@pytest.fixture
def claims_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "claims"
    root.mkdir()
    monkeypatch.setenv("SOCIALCARE_ANALYTICS_DATA_DIR", str(root))
    get_settings.cache_clear()
    yield root
    get_settings.cache_clear()


@pytest.fixture
def people(db):
    plan = make_org(db, "health_plan", "Camden Plan")
    other_plan = make_org(db, "health_plan", "Other Plan")
    hub = make_org(db, "community_care_hub", "Camden Hub")
    cbo = make_org(db, "cbo", "Camden Meals")
    return {
        "plan": plan,
        "other_plan": other_plan,
        "analyst": make_user(db, plan, "plan_staff", "analyst"),
        "other_analyst": make_user(db, other_plan, "plan_staff", "other_analyst"),
        "hub": make_user(db, hub, "hub_coordinator", "hubc"),
        "cbo": make_user(db, cbo, "cbo_staff", "cbow"),
    }


def _roi_form_data(html: str, **changes) -> dict:
    """The ROI form's fields as the browser would send them (defaults as rendered), then changes."""
    form = re.search(r'<form id="roi-form".*?</form>', html, re.S).group(0)
    data: dict[str, list[str] | str] = {"csrf_token": csrf_from(html)}
    for m in re.finditer(r"<input([^>]*)>", form):
        attrs = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', m.group(1)))
        name = attrs.get("name")
        if not name or name == "csrf_token":
            continue
        if attrs.get("type") == "checkbox" and " checked" not in m.group(1):
            continue
        data.setdefault(name, [])
        data[name].append(attrs.get("value", ""))
    for m in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        sel = re.search(r'<option value="([^"]*)" selected', m.group(2)) or re.search(r'<option value="([^"]*)"', m.group(2))
        data[m.group(1)] = [sel.group(1)]
    data = {k: (v[0] if isinstance(v, list) and len(v) == 1 and not k.startswith("cat_") else v) for k, v in data.items()}
    data.update(changes)
    return data


# ---------------------------------------------------------------- ROI calculator


def test_roi_form_starts_from_the_evidence_library(client_factory, people):  # noqa: F811
    c = client_factory("analyst")
    html = c.get("/analytics/roi?intervention=mtm_berkowitz_2019").text
    lib = evidence.load()
    base = lib.default_baselines["admissions"]
    # admissions and SNF admissions counted by default; total cost of care offered but not ticked
    # (it already contains the admissions' cost)
    assert re.search(r'name="cat_on" value="admissions" checked', html)
    assert re.search(r'name="cat_on" value="total_cost">', html)
    assert f'value="{forms.num(base.per_1000_member_months)}"' in html
    assert f'value="{forms.num(base.unit_cost)}"' in html
    assert 'value="49"' in html  # 0.49 shown as 49 % fewer
    # the Maine intervention pre-fills its typical cost from the library
    maine = c.get("/analytics/roi?intervention=post_discharge_meals_maine").text
    assert 'name="cost_amount" value="69.98"' in maine
    assert '<option value="participant" selected>' in maine


def test_roi_results_show_the_figures_flags_and_charts(client_factory, people):  # noqa: F811
    c = client_factory("analyst")
    html = c.get("/analytics/roi?intervention=mtm_berkowitz_2019").text
    data = _roi_form_data(
        html, cost_amount="320", stated_budget="5000000", stated_people="100000",
        stated_per_person_per_week="50",
    )
    r = c.post("/analytics/roi", data=data, headers=HX)
    assert r.status_code == 200, r.text
    body = r.text
    assert "<html" not in body and body.lstrip().startswith('<section id="results"')  # HTMX: the block only
    # the same figures as the engine on the same inputs
    expected = roi.calculate(forms.roi_inputs(forms.RoiForm(**{k: v for k, v in data.items() if k != "csrf_token"}),
                                              evidence.load()))
    assert expected.net_savings != 0
    for money in (expected.net_savings, expected.gross_savings, expected.program_cost):
        assert f"${abs(money):,.2f}" in body
    assert "Net ROI" in body and "Savings per $1 spent" in body and "Break-even program cost" in body
    assert f"{expected.roi * 100:.1f} %" in body
    # the budget that contradicts its per-person-per-week figure is an error shown first, prominently
    assert 'role="alert"' in body and "The two figures do not agree" in body
    assert body.index("The inputs contradict each other") < body.index("Net savings")
    # the recalled-from-memory effects are flagged
    assert "recalled from the paper" in body
    # two inline SVG charts (tornado and cumulative), with accessible names
    assert body.count("<svg") == 2
    assert 'aria-label="Sensitivity of net savings to each input"' in body
    # explanation lines: formula with the numbers and the result
    assert "participant-months × 30/1,000 × 0.49 effect" in body


def test_roi_works_without_javascript(client_factory, people):  # noqa: F811
    c = client_factory("analyst")
    html = c.get("/analytics/roi").text
    r = c.post("/analytics/roi", data=_roi_form_data(html, cost_amount="300"))
    assert r.status_code == 200
    assert "<!doctype html>" in r.text and 'id="roi-form"' in r.text and "<svg" in r.text


def test_a_changed_effect_is_the_plans_input_an_unchanged_one_keeps_its_source(client_factory, people):  # noqa: F811
    lib = evidence.load()
    base = forms.defaults_for(lib, "mtm_hager_2022").model_copy(update={"cost_amount": "250"})
    iv = lib.get("mtm_hager_2022")
    rows = forms.category_rows(lib, iv)
    form = base.model_copy(update={
        "cat_id": [r.id for r in rows], "cat_on": [r.id for r in rows if r.on],
        "cat_rate": [r.rate for r in rows], "cat_cost": [r.cost for r in rows], "cat_effect": [r.effect for r in rows],
    })
    kept = roi.calculate(forms.roi_inputs(form, lib), lib)
    adm = next(c for c in kept.categories if c.category == "admissions")
    assert adm.effect == Decimal("0.445") and adm.ci_reported and adm.effect_source.endswith("[V]")
    changed = form.model_copy(update={"cat_effect": ["30" if r.id == "admissions" else r.effect for r in rows]})
    mine = roi.calculate(forms.roi_inputs(changed, lib), lib)
    adm = next(c for c in mine.categories if c.category == "admissions")
    assert adm.effect == Decimal("0.30") and adm.effect_source == "plan input" and not adm.ci_reported
    assert mine.gross_savings < kept.gross_savings


def test_bad_roi_inputs_are_listed_by_label_and_nothing_is_calculated(client_factory, people):  # noqa: F811
    c = client_factory("analyst")
    html = c.get("/analytics/roi").text
    data = _roi_form_data(html, engagement_pct="150", cost_amount="abc")
    r = c.post("/analytics/roi", data=data)
    assert r.status_code == 422
    assert "Program cost: &#39;abc&#39; is not a number" in r.text
    assert "<svg" not in r.text
    r = c.post("/analytics/roi", data=_roi_form_data(html, engagement_pct="150", cost_amount="10"), headers=HX)
    assert r.status_code == 200 and "Engagement rate (%)" in r.text and "Nothing was calculated" in r.text


def test_roi_pages_refuse_cbo_staff_and_admit_hub_coordinators(client_factory, db, people):  # noqa: F811
    cbo = client_factory("cbow")
    assert cbo.get("/analytics/roi").status_code == 403
    assert cbo.get("/analytics/evidence").status_code == 403
    token = csrf_from(cbo.get("/").text)
    assert cbo.post("/analytics/roi", data={"csrf_token": token, "members_eligible": "10"}).status_code == 403
    denied = db.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.username == "cbow", AuditEvent.allowed.is_(False)))
    assert denied == 3
    hub = client_factory("hubc")
    assert hub.get("/analytics/roi").status_code == 200
    assert hub.get("/analytics/savings").status_code == 403  # claims are the plan's


def test_roi_post_needs_the_csrf_token(client_factory, people):  # noqa: F811
    c = client_factory("analyst")
    data = _roi_form_data(c.get("/analytics/roi").text, cost_amount="300")
    data.pop("csrf_token")
    assert c.post("/analytics/roi", data=data).status_code == 403


def test_evidence_page_lists_effects_intervals_and_citations(client_factory, people):  # noqa: F811
    html = client_factory("analyst").get("/analytics/evidence").text
    lib = evidence.load()
    for iv in lib.interventions:
        assert f'id="{iv.id}"' in html
    assert "44.5 % fewer (CI 37 to 52 %)" in html  # Hager 2022 admissions
    assert "JAMA Intern Med 2019;179(6):786-793" in html
    # Camden's interval includes zero: said where the effect is listed (issue 24)
    camden = html[html.index('id="chw_hotspotting_camden_2020"'):]
    assert "the interval includes zero: no savings credited by default" in camden[:3000]
    assert html.count("the interval includes zero") == sum(
        e.interval_includes_zero for iv in lib.interventions for e in iv.effects)


def test_navigation_and_home_cards_follow_the_permissions(client_factory, people, claims_root):  # noqa: F811
    nav = re.compile(r'<nav aria-label="Main">(.*?)</nav>', re.S)
    plan = client_factory("analyst").get("/").text
    assert "ROI calculator" in nav.search(plan).group(1) and "Shared savings" in nav.search(plan).group(1)
    assert "Claims data sets" in plan
    hub = client_factory("hubc").get("/").text
    assert "ROI calculator" in nav.search(hub).group(1) and "Shared savings" not in nav.search(hub).group(1)
    cbo = client_factory("cbow").get("/").text
    assert "ROI calculator" not in nav.search(cbo).group(1)


# ---------------------------------------------------------------- shared savings


def test_savings_page_prefills_from_the_manifest_and_runs_the_report(
    client_factory, db, people, claims_root, tiny_claims  # noqa: F811
):
    shutil.copytree(tiny_claims, claims_root / "camden")
    manifest = json.loads((tiny_claims / "manifest.json").read_text())
    c = client_factory("analyst")
    page = c.get("/analytics/savings").text
    assert '<option value="camden" selected>' in page
    assert f'name="baseline_start" value="{manifest["baseline"][0][:7]}"' in page
    assert "08102, 08103" in page
    form = {
        "csrf_token": csrf_from(page), "dataset": "camden",
        "baseline_start": manifest["baseline"][0][:7], "baseline_end": manifest["baseline"][1][:7],
        "performance_start": manifest["performance"][0][:7], "performance_end": manifest["performance"][1][:7],
        "zip_codes": ", ".join(manifest["attribution"]["zip_codes"]),
        "practice_ids": " ".join(manifest["attribution"]["practice_ids"]),
        "guaranteed_payments": "10000", "msr_pct": "2", "trend_pct": "", "cap_percentile": "0.99",
        "bootstrap": "200",
    }
    r = c.post("/analytics/savings", data=form, headers=HX)
    assert r.status_code == 200, r.text
    report = savings.run(
        tiny_claims / "claims", tiny_claims / "eligibility",
        savings.SavingsParams(
            baseline_start=manifest["baseline"][0], baseline_end=manifest["baseline"][1],
            performance_start=manifest["performance"][0], performance_end=manifest["performance"][1],
            zip_codes=manifest["attribution"]["zip_codes"], practice_ids=manifest["attribution"]["practice_ids"],
            guaranteed_payments="10000", minimum_savings_rate="0.02", bootstrap=200,
        ),
        program_path=tiny_claims / "program.parquet",
    )
    body = r.text
    for money in (report.projected_tcoc, report.actual_tcoc, report.net_savings):
        assert f"${abs(money):,.2f}" in body
    assert f"{report.did.ci_low:,}"[:4] in body.replace("$", "")
    assert ("Savings supported" if report.savings_supported else "Savings not supported") in body
    # the settlement facts are offered only for supported savings (issue 24)
    assert ("Download the facts (YAML)" if report.savings_supported else "No settlement facts are offered") in body
    assert "<svg" in body and '<details class="an-sql">' in body and "SELECT" in body
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "analytics.savings.run", AuditEvent.object_id == "camden")) == 1


@pytest.mark.parametrize("name", ["../claims", "../../etc", "..", "camden/../..", "/etc", "org-1/../camden", "a/b/c"])
def test_savings_refuses_paths_outside_the_claims_folder(client_factory, db, people, claims_root, tiny_claims, name):  # noqa: F811
    shutil.copytree(tiny_claims, claims_root.parent / "claims-outside")  # a data set next to the folder
    c = client_factory("analyst")
    token = csrf_from(c.get("/analytics/roi").text)
    r = c.post("/analytics/savings", data={"csrf_token": token, "dataset": name, "baseline_start": "2024-01",
                                           "baseline_end": "2024-12", "performance_start": "2025-01",
                                           "performance_end": "2025-12"})
    assert r.status_code in (403, 422), r.text
    assert "Projected TCOC" not in r.text
    assert c.get("/analytics/savings", params={"dataset": name}).status_code in (403, 422)
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "analytics.savings.run")) == 0


def test_data_sets_are_scoped_to_the_organization(people, claims_root, tiny_claims):
    analyst, other = people["analyst"], people["other_analyst"]
    shutil.copytree(tiny_claims, claims_root / f"org-{analyst.org_id}" / "mine")
    shutil.copytree(tiny_claims, claims_root / "shared")
    (claims_root / "escape").symlink_to(tiny_claims, target_is_directory=True)  # a link leaving the folder
    assert [d.name for d in datasets.available(analyst)] == [f"org-{analyst.org_id}/mine", "shared"]
    assert [d.name for d in datasets.available(other)] == ["shared"]
    with pytest.raises(Exception) as exc:
        datasets.resolve(f"org-{analyst.org_id}/mine", other)
    assert exc.value.status_code == 403
    with pytest.raises(InvalidInput):
        datasets.resolve("escape", analyst)


def test_savings_api_returns_the_report_and_the_payment_facts(client, people, claims_root, tiny_claims):  # noqa: F811
    shutil.copytree(tiny_claims, claims_root / "camden")
    h = api_headers(client, "analyst")
    assert [d["name"] for d in client.get("/api/v1/savings/datasets", headers=h).json()] == ["camden"]
    r = client.post("/api/v1/savings", json={"dataset": "camden", "bootstrap": 200, "trend": "0.05",
                                             "guaranteed_payments": "25000", "quality_metrics_met": 4,
                                             "quality_metrics_total": 5}, headers=h)
    assert r.status_code == 200, r.text
    d = r.json()
    manifest = json.loads((tiny_claims / "manifest.json").read_text())
    direct = savings.run(
        tiny_claims / "claims", tiny_claims / "eligibility",
        savings.SavingsParams(
            baseline_start=manifest["baseline"][0], baseline_end=manifest["baseline"][1],
            performance_start=manifest["performance"][0], performance_end=manifest["performance"][1],
            zip_codes=manifest["attribution"]["zip_codes"], practice_ids=manifest["attribution"]["practice_ids"],
            trend="0.05", guaranteed_payments="25000", bootstrap=200,
        ),
        program_path=tiny_claims / "program.parquet",
    )
    assert d["dataset"] == "camden" and d["engine"] == "duckdb"
    assert (d["projected_tcoc"], d["actual_tcoc"], d["net_savings"]) == (
        str(direct.projected_tcoc), str(direct.actual_tcoc), str(direct.net_savings))
    assert d["did"]["ci_low"] == str(direct.did.ci_low) and d["did"]["significant"] == direct.did.significant
    assert d["params"]["zip_codes"] == manifest["attribution"]["zip_codes"]  # from the manifest
    facts = d["tcoc_facts"]
    assert facts["projected_tcoc"] == str(direct.projected_tcoc)
    assert facts["quality_metrics_met"] == 4 and facts["savings_supported"] == direct.savings_supported
    # 400 members: the DiD interval includes zero, so no payment facts are handed over
    assert not direct.did.significant
    assert d["payment_facts"] is None and "not supported" in d["payment_facts_refused"]
    bad = client.post("/api/v1/savings", json={"dataset": "../camden"}, headers=h)
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "dataset"
    assert client.post("/api/v1/savings", json={"dataset": "nope"}, headers=h).status_code == 404
    wrong = client.post("/api/v1/savings", json={"dataset": "camden", "minimum_savings_rate": "2"}, headers=h)
    assert wrong.status_code == 422
    cbo = api_headers(client, "cbow")
    assert client.post("/api/v1/savings", json={"dataset": "camden"}, headers=cbo).status_code == 403


def test_savings_page_explains_how_to_add_data_when_there_is_none(client_factory, people, claims_root):  # noqa: F811
    html = client_factory("analyst").get("/analytics/savings").text
    assert "No claims data set yet" in html and "socialcare synth claims" in html


def test_demo_step_writes_a_data_set_the_demo_plan_can_read(people, claims_root):
    from datetime import date

    from socialcare.analytics import demo

    class Ctx:
        state = {"plan_id": people["analyst"].org_id}
        today = date(2026, 1, 23)

        def set_total(self, n):
            pass

        def advance(self, n):
            pass

    demo.build(Ctx())
    ds = datasets.resolve(f"org-{people['analyst'].org_id}/demo", people["analyst"])
    assert ds.program is not None
    assert ds.manifest["performance"][1] == "2025-12-01"  # the data ends last month
    assert ds.manifest["lines"] > 500_000


def test_roi_page_credits_an_uncertain_effect_only_when_ticked(client_factory, people):  # noqa: F811
    """The form carries the choice to credit effects whose interval includes zero (issue 24)."""
    c = client_factory("analyst")
    html = c.get("/analytics/roi?intervention=mtm_berkowitz_2019").text
    assert 'name="credit_uncertain"' in html
    data = _roi_form_data(html, cost_amount="320")
    form = forms.RoiForm(**{k: v for k, v in data.items() if k != "csrf_token"})
    assert forms.roi_inputs(form, evidence.load()).credit_uncertain_effects is False
    ticked = form.model_copy(update={"credit_uncertain": "1"})
    assert forms.roi_inputs(ticked, evidence.load()).credit_uncertain_effects is True
    r = c.post("/analytics/roi", data={**data, "credit_uncertain": "1"}, headers=HX)
    assert r.status_code == 200, r.text
