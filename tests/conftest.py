import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent))  # for `reference`

# Property-based and fuzz tests: a fixed-size, derandomized profile for CI
# and everyday runs; `GRADPROOF_HYPOTHESIS=deep python -m pytest` runs the
# deeper one by hand.
settings.register_profile("ci", max_examples=60, derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=1500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("GRADPROOF_HYPOTHESIS", "ci"))


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Verdicts and generated modules cached in a folder of the test run's
    own, never in the user's cache (subprocesses inherit it)."""
    saved = os.environ.get("GRADPROOF_CACHE")
    os.environ["GRADPROOF_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if saved is None:
        os.environ.pop("GRADPROOF_CACHE", None)
    else:
        os.environ["GRADPROOF_CACHE"] = saved
