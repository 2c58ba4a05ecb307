"""`socialcare joc report` and `socialcare measures ...` from the command line."""

from __future__ import annotations

from datetime import date

from typer.testing import CliRunner

from socialcare.cli.main import app
from socialcare.joc import service

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def test_joc_report_writes_pdf_and_html(db, world, committee, tmp_path):
    service.create_meeting(db, world.plan_user, committee.id, "2026-03", held_on=date(2026, 4, 14))
    pdf, html = tmp_path / "joc.pdf", tmp_path / "joc.html"
    r = invoke("joc", "report", str(world.contract.id), "--month", "2026-03", "--pdf", str(pdf), "--html", str(html),
               "--as", world.cbo_user.username)
    assert r.exit_code == 0, r.output
    assert pdf.read_bytes().startswith(b"%PDF")
    assert "Outreach rate was 79%" in html.read_text()
    r = invoke("joc", "report", str(world.contract.id), "--month", "2026-05", "--pdf", str(pdf),
               "--as", world.plan_user.username)
    assert r.exit_code != 0 and "No JOC meeting" in r.output


def test_measures_funnel_and_metrics(db, world, committee):
    r = invoke("measures", "funnel", str(world.contract.id), "--month", "2026-03", "--as", world.plan_user.username)
    assert r.exit_code == 0, r.output
    assert "2,069" in r.output and "79% (goal 80%)" in r.output
    r = invoke("measures", "metrics", str(world.contract.id), "--month", "2026-03", "--as", world.plan_user.username)
    assert "79.3620" in r.output
    r = invoke("measures", "funnel", str(world.contract.id), "--as", world.other_cbo_user.username)
    assert r.exit_code != 0
