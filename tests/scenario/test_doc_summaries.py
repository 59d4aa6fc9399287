"""The run summaries quoted in the docs are what the shipped scenarios give today.

Each ``...; N events; seed S; trace H; ...`` line of a page is checked against a run of the
scenario its nearest ``netsim run scenarios/...`` command names: the same event count, seed and
trace hash.  A behaviour change that moves a trace shows up here until the page is rerun, and on
the compiled build (CI runs the suite on both) the same hashes prove that compiled and pure
Python simulate the same run, byte for byte.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from netsim.scenario.run import run_scenario

ROOT = Path(__file__).resolve().parents[2]
SUMMARY = re.compile(r"; ([\d,]+) events; seed (\d+); trace ([0-9a-f]{16});")
COMMAND = re.compile(r"netsim run (scenarios/[\w.-]+\.toml)")


def _quoted() -> list[tuple[str, str, int, int, str]]:
    """(page, scenario, events, seed, hash) for every summary after a shipped scenario's command."""
    found = []
    for page in sorted((ROOT / "docs").rglob("*.md")):
        scenario = None
        for line in page.read_text().splitlines():
            if "netsim run" in line:
                command = COMMAND.search(line)
                scenario = command.group(1) if command else None  # (a file the page writes: not checked)
            summary = SUMMARY.search(line)
            if summary and scenario is not None:
                events, seed, digest = summary.groups()
                found.append((str(page.relative_to(ROOT)), scenario, int(events.replace(",", "")), int(seed), digest))
    return found


QUOTED = _quoted()


def test_the_pages_quote_summaries() -> None:
    assert len(QUOTED) >= 7, QUOTED  # (so the pattern cannot silently stop matching)


@pytest.mark.parametrize(("page", "scenario", "events", "seed", "digest"), QUOTED,
                         ids=[f"{page}:{scenario}" for page, scenario, *_ in QUOTED])
def test_a_quoted_summary_is_what_the_scenario_gives(page: str, scenario: str, events: int, seed: int,
                                                     digest: str) -> None:
    outcome = run_scenario(ROOT / scenario)
    assert (outcome.result.events, outcome.seed, outcome.trace_hash[:16]) == (events, seed, digest), (
        f"{page} quotes a run of {scenario} that it no longer gives: rerun the page's command")
