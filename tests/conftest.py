import os
import sys
from pathlib import Path

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
