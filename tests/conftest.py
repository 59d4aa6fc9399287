"""Test configuration: Hypothesis profiles and the tshark oracle switch.

Profiles: ``ci`` (derandomized so CI never flakes, no deadline, enough examples to matter) is
what ``.ci/run`` selects; ``dev`` (the default) is the same with random seeds; ``thorough`` runs
many more examples for when an engine or codec changes.
"""

from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=300, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", deadline=None, max_examples=5000, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tshark tests where it is missing, unless NETSIM_REQUIRE_ORACLES says it must be there."""
    if shutil.which("tshark") or os.environ.get("NETSIM_REQUIRE_ORACLES"):
        return
    skip = pytest.mark.skip(reason="tshark is not installed (apt-get install tshark)")
    for item in items:
        if "tshark" in item.keywords:
            item.add_marker(skip)
