"""Every scenario shipped in ``scenarios/`` runs, and every one of its expectations holds.

One test per file (so a slow or failing scenario is named on its own), plus a check that
``scenarios/README.md`` lists every file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.scenario.run import run_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
FILES = sorted(SCENARIOS.glob("*.toml"))


def test_scenarios_exist() -> None:
    assert len(FILES) >= 15, [f.name for f in FILES]


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_shipped_scenario_passes(path: Path, tmp_path: Path) -> None:
    outcome = run_scenario(path, out_dir=tmp_path)
    if not outcome.passed:
        print(f"{path.name}: failures:")
        for failure in outcome.failures:
            print(f"  {failure}")
    assert outcome.passed, f"{path.name}: {outcome.failures}"
    assert (tmp_path / "summary.json").is_file()
    assert (tmp_path / "report.html").is_file()


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_shipped_scenario_is_documented(path: Path) -> None:
    readme = (SCENARIOS / "README.md").read_text(encoding="utf-8")
    assert f"`{path.name}`" in readme, f"{path.name} is not listed in scenarios/README.md"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#"), f"{path.name} has no comment header"
    assert "§" in text.split("[network]", 1)[0], f"{path.name}: the header names no lecture section"
