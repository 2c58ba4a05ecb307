from pathlib import Path

from tests.web.fixtures import *  # noqa: F403

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
FHIR_DIR = FIXTURES / "fhir-sdoh-clinicalcare"
HSDS_DIR = FIXTURES / "hsds-3.0"
