"""The report opened in headless Chromium: it renders, its script runs, nothing is logged as an
error; the screenshot is kept (in ``$NETSIM_ARTIFACTS`` if set, else the test's tmp directory)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from netsim.observe.ss import snapshot
from netsim.report import render_report
from tests.report.network import nat_network, small_network

pytestmark = pytest.mark.chromium


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium") or "chromium"
    return subprocess.run([binary, "--headless", "--disable-gpu", "--no-sandbox", *args], capture_output=True,
                          text=True, timeout=180, check=False)


def _console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "Uncaught" in line or "ERROR:CONSOLE" in line
            or (":CONSOLE(" in line and "error" in line.lower())]


@pytest.mark.parametrize("which", ["small", "nat"])
def test_the_report_renders_in_chromium(which: str, tmp_path: Path) -> None:
    if which == "small":
        net, results, _capture = small_network(size=20_000)
        html = render_report(
            net, title="netsim report: h1 - sw1 - r1 - h2", app_results=results,
            expectations=[{"name": "the echo came back whole", "passed": True, "expected": True,
                           "seen": results["tcp"].echo_ok},
                          {"name": "an expectation that fails", "passed": False, "expected": 1, "seen": 2,
                           "message": "shown in red"}],
            snapshots=[{"time": net.now, "host": "h2", "text": snapshot(net.nodes["h2"])}],
            views=[{"connection": 1, "observations": [
                ("h1 socket", "10.0.1.10", results["tcp"].local[1], "10.0.2.20", 7, "tcp"),
                ("h2 socket", "10.0.1.10", results["tcp"].local[1], "10.0.2.20", 7, "tcp")]}],
            series={"cwnd (bytes) of h1": [(0, 14480), (30_000_000, 28960), (40_000_000, 57920),
                                           (60_000_000, 28960)]},
            scenario_text="# built in Python by tests/report/network.py\n",
        )
    else:
        html = render_report(nat_network(), title="netsim report: NAT")
    artifacts = Path(os.environ.get("NETSIM_ARTIFACTS") or tmp_path)
    artifacts.mkdir(parents=True, exist_ok=True)
    page = artifacts / f"report-{which}.html"
    page.write_text(html, encoding="utf-8")
    screenshot = artifacts / f"report-{which}.png"
    shot = _chromium("--enable-logging=stderr", "--v=0", f"--screenshot={screenshot}", "--window-size=1400,2000",
                     page.as_uri())
    print(f"report: {page}\nscreenshot: {screenshot}")
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.stat().st_size > 10_000
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not _console_errors(shot.stderr), _console_errors(shot.stderr)
    dom = _chromium("--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert not _console_errors(dom.stderr), _console_errors(dom.stderr)
    # the inline script ran to its end: it marks the page, counting the arrows it wired up
    hops = html.count('<g class="hop ')
    assert f'data-js="ok">script ran: {hops} hops' in dom.stdout
    assert "<svg" in dom.stdout and "ladder" in dom.stdout


def test_the_console_check_sees_a_script_error(tmp_path: Path) -> None:
    """The check above can fail: a page whose script throws is caught."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><script>undefinedFunction();</script></body></html>")
    result = _chromium("--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri())
    assert _console_errors(result.stderr)
