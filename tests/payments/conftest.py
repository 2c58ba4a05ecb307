from tests.delivery.conftest import p  # noqa: E402,F401 - the partnership of delivery tests (ledger tests settle it)
from tests.web.fixtures import *  # noqa: F403
