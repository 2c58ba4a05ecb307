from pathlib import Path

from tests.web.fixtures import *  # noqa: F403

# Public examples the interop tests read, copied into the repository (tests/fixtures/README.md).
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FHIR_DIR = FIXTURES / "fhir-sdoh-clinicalcare"
HSDS_DIR = FIXTURES / "hsds-3.0"
