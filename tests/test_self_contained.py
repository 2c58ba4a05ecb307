"""A clone stands alone: nothing in src/, tests/ or docs/ names a machine path or the folder beside the
checkout, and what the product validates against ships inside the package."""

from __future__ import annotations

import re
from pathlib import Path

from socialcare.interop import hsds

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("src", "tests", "docs")
# Built from pieces so this file does not match itself.
FORBIDDEN = re.compile(
    "|".join([
        re.escape("../" + "shared"),              # the folder beside a developer's checkout
        r"(?<![\w.])/" + r"work/",                # this workplace's machine paths
        r"(?<![\w.])/" + r"home/\w",
        r"(?<![\w.])/" + r"Users/\w",
        r"(?<![\w.])/" + r"root/",
        r"\b[A-Z]:" + r"\\\\Users",
    ])
)
TEXT_SUFFIXES = {".py", ".md", ".txt", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".html", ".css", ".json",
                 ".csv", ".sql", ".mako", ".po", ".js", ".sh", ""}


def _scanned_files():
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and path.suffix in TEXT_SUFFIXES and "__pycache__" not in path.parts:
                # vendored, minified third-party bundles are not ours to police line by line
                if path.name.endswith(".min.js") or "swagger" in path.parts or "node_modules" in path.parts:
                    continue
                yield path


def test_no_machine_paths_or_shared_folder_in_src_tests_docs():
    offenders = []
    for path in _scanned_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if FORBIDDEN.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert offenders == [], "machine paths or references to the folder beside the checkout:\n" + "\n".join(offenders)


def test_the_guard_catches_what_it_should():
    for bad in ["see ../" + "shared/design/architecture.md", 'Path("/' + 'work/shared/fixtures")',
                "/" + "home/alice/socialcare", "/" + "root/.cache/x"]:
        assert FORBIDDEN.search(bad), bad
    for fine in ["docs/standards.md §1.3", "/usr/bin/chromium", "http://127.0.0.1:8000/fhir/Task",
                 "shared with the hub", "src/socialcare/interop/hsds_schema/"]:
        assert not FORBIDDEN.search(fine), fine


def test_hsds_schemas_ship_inside_the_package(monkeypatch):
    monkeypatch.delenv("SOCIALCARE_HSDS_SCHEMA_DIR", raising=False)
    folder = hsds.schema_dir()
    package = Path(hsds.__file__).resolve().parent
    assert folder.is_relative_to(package)
    for name in ("organization.json", "service.json", "location.json", "compiled/tabular.json", "LICENSE", "NOTICE"):
        assert (folder / name).is_file(), name
    assert "CC BY-SA 4.0" in (folder / "NOTICE").read_text()
    assert "Creative Commons Attribution Share-Alike 4.0" in (folder / "LICENSE").read_text()


def test_the_override_must_name_a_real_schema_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("SOCIALCARE_HSDS_SCHEMA_DIR", str(tmp_path))
    try:
        hsds.schema_dir()
    except FileNotFoundError as exc:
        assert str(tmp_path) in str(exc)
    else:
        raise AssertionError("an empty folder was taken for the HSDS schemas")


def test_package_data_declares_the_schemas():
    """pip install . must carry the schemas: the package-data entry names every file kind shipped."""
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = data["socialcare.interop"]
    for needed in ("hsds_schema/*.json", "hsds_schema/compiled/*.json", "hsds_schema/LICENSE", "hsds_schema/NOTICE"):
        assert needed in patterns
