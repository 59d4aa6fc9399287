"""Hostile black-box checks of the ``netsim`` commands: bad input exits with 2 and no traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from netsim.cli import main

DATA = Path(__file__).parent / "scenario" / "data"
ECHO = DATA / "tcp_echo.toml"

TWO_LINKS = """\
[[hosts]]
name = "a"
[[hosts.interfaces]]
name = "eth0"
addresses = ["10.0.0.1/24"]
[[hosts.interfaces]]
name = "eth1"
addresses = ["10.0.1.1/24"]
[[hosts]]
name = "b"
[[hosts.interfaces]]
name = "eth0"
addresses = ["10.0.0.2/24"]
[[hosts.interfaces]]
name = "eth1"
addresses = ["10.0.1.2/24"]
[[links]]
name = "wire"
a = "a:eth0"
b = "b:eth0"
[[links]]
name = "{second}"
a = "a:eth1"
b = "b:eth1"
[[captures]]
at = "a:eth0"
file = "{first_file}"
[[captures]]
at = "b:eth1"
file = "{second_file}"
"""


def two_links(tmp_path: Path, second: str = "wire2", first_file: str = "a.pcap", second_file: str = "b.pcap") -> Path:
    path = tmp_path / "two.toml"
    path.write_text(TWO_LINKS.format(second=second, first_file=first_file, second_file=second_file))
    return path


def test_out_that_is_a_file_or_under_one_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    for out in (blocker, blocker / "sub"):
        assert main(["run", str(ECHO), "--out", str(out), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert str(out) in err and "Traceback" not in err
    assert blocker.read_text() == "x"


def test_duplicate_link_names_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(two_links(tmp_path, second="wire"))]) == 2
    assert "links[1].name: duplicate link name 'wire' (also links[0])" in capsys.readouterr().err


@pytest.mark.parametrize(("first_file", "second_file", "message"), [
    ("x.pcap", "x.pcap", "captures[1].file: 'x.pcap' is also written by captures[0]"),
    ("summary.json", "b.pcap", "captures[0].file: 'summary.json' is a file of the run directory"),
    ("a.pcap", "scenario.toml", "captures[1].file: 'scenario.toml' is a file of the run directory"),
    ("./report.html", "b.pcap", "captures[0].file: './report.html' is a file of the run directory"),
])
def test_capture_files_that_would_overwrite_each_other_are_reported(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], first_file: str, second_file: str, message: str) -> None:
    assert main(["validate", str(two_links(tmp_path, first_file=first_file, second_file=second_file))]) == 2
    assert message in capsys.readouterr().err


def test_a_utf8_bom_is_accepted_and_copied_byte_for_byte(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bom.toml"
    raw = b"\xef\xbb\xbf" + ECHO.read_bytes().replace(b"\n", b"\r\n")
    path.write_bytes(raw)
    assert main(["validate", str(path)]) == 0
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert (tmp_path / "out" / "scenario.toml").read_bytes() == raw
    assert main(["replay", str(tmp_path / "out"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_a_bom_problem_keeps_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf[network]\nseed = -1\n")
    assert main(["validate", str(path)]) == 2
    assert f"{path}:2: network.seed:" in capsys.readouterr().err


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "out"
    assert main(["run", str(ECHO), "--out", str(out), "--quiet"]) == 0
    return out


@pytest.mark.parametrize(("summary", "message"), [
    ([1, 2], "bad summary.json: not a JSON object"),
    ("text", "bad summary.json: not a JSON object"),
    ({"trace_hash": "ab", "seed": None}, "bad summary.json: seed: expected a non-negative integer, got null"),
    ({"trace_hash": "ab", "seed": 1.5}, "bad summary.json: seed: expected a non-negative integer, got 1.5"),
    ({"trace_hash": "ab", "seed": True}, "bad summary.json: seed: expected a non-negative integer, got true"),
    ({"trace_hash": "ab", "seed": -3}, "bad summary.json: seed: expected a non-negative integer, got -3"),
    ({"trace_hash": "ab"}, "bad summary.json: seed: missing"),
    ({"seed": 7}, "bad summary.json: trace_hash: missing"),
    ({"seed": 7, "trace_hash": 5}, "bad summary.json: trace_hash: expected a string, got 5"),
])
def test_replay_of_a_malformed_summary_is_bad_input(
        run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], summary: object, message: str) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(run_dir, folder)
    (folder / "summary.json").write_text(json.dumps(summary))
    assert main(["replay", str(folder)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_plot_with_an_unknown_state_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plot.toml"
    path.write_text(ECHO.read_text() + '\n[[plots]]\nname = "p"\nnode = "server"\nmetric = "state-count"\n'
                    'state = "establishd"\n')
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "plots[0].state: 'establishd' is not a TCP state" in err
    assert "needs a state" not in err


def test_plots_take_the_state_words_expectations_take(tmp_path: Path) -> None:
    """``established`` and ``syn-recv`` (ss's words) work in [[plots]] as in [[expectations]]."""
    path = tmp_path / "plot.toml"
    path.write_text(ECHO.read_text() + '\n[[plots]]\nname = "p"\nnode = "server"\nmetric = "state-count"\n'
                    'state = "established"\n')
    assert main(["validate", str(path)]) == 0


def test_a_reused_run_directory_keeps_nothing_stale(tmp_path: Path) -> None:
    """Running another scenario into the same --out removes what the first run wrote (its pcaps
    included) and keeps files netsim did not write."""
    out = tmp_path / "out"
    assert main(["run", "--quiet", str(ECHO), "--out", str(out)]) == 0
    assert (out / "server.pcap").is_file()
    (out / "notes.txt").write_text("mine")
    lan = ECHO.parent / "lan.toml"
    main(["run", "--quiet", str(lan), "--out", str(out)])
    assert not (out / "server.pcap").exists()
    assert (out / "notes.txt").read_text() == "mine" and (out / "summary.json").is_file()
