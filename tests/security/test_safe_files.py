"""Safe files: the drop folder never follows links; exports never carry a live formula; the PDF
renderer fetches nothing from the network and report styles take no user text."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from socialcare.interop import dropfolder
from socialcare.interop.flatfiles import exports, samples
from socialcare.kit.cells import safe_cell
from socialcare.kit.pdf import FetchRefused, check_url, html_to_pdf


def test_the_drop_folder_does_not_read_through_a_link(db, world, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "member_eligibility_secret.csv"
    secret.write_bytes(samples.to_csv(samples.member_rows(3, prefix="S")))
    root = tmp_path / "drop"
    root.mkdir()
    (root / "member_eligibility_link.csv").symlink_to(secret)
    (root / "member_eligibility").symlink_to(outside, target_is_directory=True)
    assert dropfolder.scan_once(root, world.users["staff_a"]) == []
    assert secret.exists()


def test_a_planted_result_link_is_never_written_through(db, world, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    root = tmp_path / "drop"
    root.mkdir()
    (root / "member_eligibility_a.csv").write_bytes(samples.to_csv(samples.member_rows(3, prefix="P")))
    (root / "member_eligibility_a.csv.result.txt").symlink_to(victim)
    (root / "processed").symlink_to(tmp_path, target_is_directory=True)
    (outcome,) = dropfolder.scan_once(root, world.users["staff_a"])
    assert victim.read_text() == "precious"
    assert outcome.moved_to.parent == root / "processed" and not (root / "processed").is_symlink()


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1"])
def test_formula_prefixes_are_neutralised(value):
    assert safe_cell(value) == "'" + value


def test_numbers_and_plain_text_are_left_alone():
    assert safe_cell("-12.5") == "-12.5" and safe_cell(-3) == -3 and safe_cell("Ana") == "Ana"


def test_csv_and_xlsx_exports_carry_no_live_formula():
    cols, rows = ["name"], [["=cmd|' /C calc'!A0"], ["Ana"]]
    text = exports.render(cols, rows, ".csv").decode()
    assert list(csv.reader(io.StringIO(text)))[1] == ["'=cmd|' /C calc'!A0"]
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(exports.render(cols, rows, ".xlsx"))).active
    assert ws["A2"].value == "'=cmd|' /C calc'!A0" and ws["A2"].data_type == "s"


def test_the_pdf_renderer_fetches_nothing_from_the_network():
    for url in ("http://attacker.example/x.css", "https://attacker.example/i.png", "file:///etc/passwd"):
        with pytest.raises(FetchRefused):
            check_url(url)
    check_url("data:text/plain,hello")
    # a style smuggling a URL renders without fetching it (WeasyPrint logs the refusal and goes on)
    pdf = html_to_pdf('<style>body { background: url("http://127.0.0.1:9/x.png") }</style><p>hi</p>')
    assert pdf.startswith(b"%PDF")


def test_report_styles_take_no_user_text():
    import socialcare

    root = Path(socialcare.__file__).parent / "web" / "templates"
    for name in ("joc/report.html", "contracts/export.html"):
        html = (root / name).read_text()
        style = html[html.index("<style>"):html.index("</style>")]
        assert "{{" not in style, name
