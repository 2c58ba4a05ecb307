"""The SFTP-style drop folder and the exchange CLI."""

from __future__ import annotations

from socialcare.interop import dropfolder
from socialcare.interop.flatfiles import samples


def test_drop_folder_imports_writes_results_and_moves_files(db, world, tmp_path):
    good = samples.member_rows(30, prefix="G")
    (tmp_path / "member_eligibility_2025-03.csv").write_bytes(samples.to_csv(good))
    bad = samples.member_rows(10, prefix="Q")
    bad[3]["birth_date"] = "31/31/1999"
    (tmp_path / "eligibility_bad.csv").write_bytes(samples.to_csv(bad))
    (tmp_path / "mystery.csv").write_text("a,b\n1,2\n")
    sizes: dict = {}
    assert dropfolder.scan_once(tmp_path, world.users["staff_a"], sizes) == []  # first sight: not settled yet
    outcomes = {o.path.name: o for o in dropfolder.scan_once(tmp_path, world.users["staff_a"], sizes)}
    assert outcomes["member_eligibility_2025-03.csv"].status == "accepted"
    assert (tmp_path / "processed" / "member_eligibility_2025-03.csv").exists()
    result = (tmp_path / "processed" / "member_eligibility_2025-03.csv.result.txt").read_text()
    assert result.startswith("ACCEPTED") and "30 added" in result
    assert outcomes["eligibility_bad.csv"].status == "rejected"
    report = (tmp_path / "rejected" / "eligibility_bad.csv.result.txt").read_text()
    assert report.startswith("REJECTED") and "5,birth_date,not a date" in report
    assert "which layout" in (tmp_path / "rejected" / "mystery.csv.result.txt").read_text()
    # the same file dropped again is refused as a duplicate
    (tmp_path / "members_again.csv").write_bytes(samples.to_csv(good))
    again = dropfolder.scan_once(tmp_path, world.users["staff_a"])
    assert again[0].status == "duplicate" and (tmp_path / "rejected" / "members_again.csv").exists()


def test_cli_import_reports_rows(db, world, tmp_path):
    from typer.testing import CliRunner

    from socialcare.cli.main import app

    bad = samples.member_rows(5, prefix="C")
    bad[1]["sex"] = "?"
    f = tmp_path / "m.csv"
    f.write_bytes(samples.to_csv(bad))
    report = tmp_path / "errors.csv"
    res = CliRunner().invoke(app, ["exchange", "import", "member_eligibility", str(f), "--as", "staff_a",
                                   "--report", str(report)])
    assert res.exit_code == 1, res.output
    assert "rejected" in res.output and "row 3" in res.output
    assert report.read_text().splitlines()[1].startswith("3,sex,")
