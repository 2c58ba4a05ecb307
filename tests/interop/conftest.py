import os
from pathlib import Path

from tests.web.fixtures import *  # noqa: F403


def _fixtures() -> Path:
    """../shared/fixtures beside this checkout, or beside any folder above it (a clone may sit deeper)."""
    if os.environ.get("SOCIALCARE_SHARED_DIR"):
        return Path(os.environ["SOCIALCARE_SHARED_DIR"]) / "fixtures"
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared" / "fixtures").is_dir():
            return parent / "shared" / "fixtures"
    return Path("/work/shared/fixtures")


FIXTURES = _fixtures()
FHIR_DIR = FIXTURES / "fhir-sdoh-clinicalcare"
HSDS_DIR = FIXTURES / "hsds-3.0"
