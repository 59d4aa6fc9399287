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

from netsim import build_info

settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=300, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", deadline=None, max_examples=5000, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_configure(config: pytest.Config) -> None:
    """Refuse to test a stale compiled build: Python would import the extension compiled from an
    older source in place of the source under test."""
    stale = build_info.stale_sources()
    if stale:
        pytest.exit(f"compiled modules older than their source: {', '.join(stale)}; rebuild them "
                    "(python3 hatch_build.py) or remove them (python3 hatch_build.py --clean)", returncode=4)


COMPILED = build_info.manifest() is not None


def pytest_report_header(config: pytest.Config) -> str:
    return f"netsim: {build_info.describe()}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tshark (tcpdump, chromium) tests where it is missing, unless NETSIM_REQUIRE_ORACLES (or
    NETSIM_REQUIRE_TSHARK, NETSIM_REQUIRE_TCPDUMP, NETSIM_REQUIRE_CHROMIUM) says it must be there.
    Skip ``pure_python`` tests (they replace methods of classes a compiled build makes native)
    when netsim runs compiled."""
    if COMPILED:
        skip = pytest.mark.skip(reason="replaces methods of compiled classes: runs on the pure-Python build")
        for item in items:
            if "pure_python" in item.keywords:
                item.add_marker(skip)
    if os.environ.get("NETSIM_REQUIRE_ORACLES"):
        return
    for tool in ("tshark", "tcpdump", "chromium"):
        if shutil.which(tool) or os.environ.get(f"NETSIM_REQUIRE_{tool.upper()}"):
            continue
        skip = pytest.mark.skip(reason=f"{tool} is not installed (apt-get install {tool})")
        for item in items:
            if tool in item.keywords:
                item.add_marker(skip)
