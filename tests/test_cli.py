from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from netsim import __version__, build_info
from netsim.cli import main
from netsim.wire import EthernetFrame
from netsim.wire.pcap import read_pcap
from netsim.wire.samples import sample_frames


def test_version_and_usage(capsys: object) -> None:
    result = subprocess.run([sys.executable, "-m", "netsim", "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"netsim {__version__} ({build_info.describe()})"
    record = build_info.manifest()
    expected = "pure Python" if record is None else f"{len(record['sources'])} modules compiled with mypyc"
    assert build_info.describe().startswith(expected)
    result = subprocess.run([sys.executable, "-m", "netsim"], capture_output=True, text=True, check=False)
    assert result.returncode == 2 and "usage: netsim" in result.stderr


def test_frames_writes_every_sample_frame(tmp_path: Path) -> None:
    out = tmp_path / "frames.pcap"
    assert main(["frames", str(out)]) == 0
    records = read_pcap(out)
    assert [record.data for record in records] == [frame.to_bytes() for frame in sample_frames()]
    for record in records:
        EthernetFrame.parse(record.data, verify=True)


def test_frames_pcapng(tmp_path: Path) -> None:
    out = tmp_path / "frames.pcapng"
    assert main(["frames", "--pcapng", str(out)]) == 0
    assert len(read_pcap(out)) == len(sample_frames())


def test_frames_output_is_identical_across_processes(tmp_path: Path) -> None:
    digests = set()
    for seed in ("0", "1", "12345"):
        out = tmp_path / f"frames-{seed}.pcap"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-m", "netsim", "frames", str(out)], check=True, env=env, capture_output=True)
        digests.add(hashlib.sha256(out.read_bytes()).hexdigest())
    assert len(digests) == 1


SCENARIOS = Path(__file__).parent / "scenario" / "data"


def test_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    path = SCENARIOS / "lan.toml"
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: ok (4 nodes, 3 links)\n"


def test_validate_reports_every_problem_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[network]\nseed = -1\n[[hosts]]\nname = "a"\nmtu = 9\n[[links]]\na = "a:eth0"\nb = "b:eth0"\n')
    # a:eth0 is not reported missing: host a had a problem, and the interface may be in its broken part
    result = subprocess.run([sys.executable, "-m", "netsim", "validate", str(bad)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{bad}:2: network.seed: -1 is out of range: must be at least 0",
        f"{bad}:5: hosts[0].mtu: unknown key 'mtu'",
        f"{bad}:8: links[0].b: no node named 'b'",
    ]
    assert "Traceback" not in result.stderr


def test_validate_syntax_error_and_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[network\n")
    assert main(["validate", str(bad)]) == 2
    assert capsys.readouterr().err.startswith(f"{bad}:1: TOML syntax error")
    assert main(["validate", str(tmp_path / "missing.toml")]) == 2
    assert "cannot read the file" in capsys.readouterr().err


def test_schema_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "hosts" in schema["properties"]


def test_show(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["show", str(SCENARIOS / "lan.toml")]) == 0
    out = capsys.readouterr().out
    assert "  router router\n" in out and "client:eth0 <-> sw1:p1  100Mbps, delay 1ms" in out
    assert "route 0.0.0.0/0 via 192.168.1.1" in out
    bad = tmp_path / "bad.toml"
    bad.write_text("[[hosts]]\nname = 'a b'\n")
    assert main(["show", str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "hosts[0].name: 'a b' is not a node name" in captured.err


# --- netsim run / replay ---------------------------------------------------------------------------


def _netsim(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "netsim", *args], capture_output=True, text=True, check=False,
                          env=env)


def test_run_passes_prints_tables_and_writes_the_run_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _netsim("run", str(SCENARIOS / "tcp_echo.toml"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    for title in ("apps", "timeline", "ss server at", "expectations"):
        assert title in result.stdout
    assert "expectations 6/6: passed" in result.stdout
    assert "\x1b[" not in result.stdout  # not a terminal: no colours and no progress bar
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "scenario.toml", "server.pcap", "summary.json",
                                                     "trace.jsonl"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["passed"] is True and summary["scenario"]["file"] == "tcp_echo.toml"
    assert len(read_pcap(out / "server.pcap")) > 0
    replayed = _netsim("replay", str(out))
    assert replayed.returncode == 0 and "trace hash matches" in replayed.stdout


def test_run_exit_1_on_a_failed_expectation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(SCENARIOS / "tcp_refused.toml")]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "null" in out and "expectations 1/2: FAILED" in out
    assert main(["run", "--quiet", str(SCENARIOS / "tcp_refused.toml")]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ("FAILED: app client1: echo_ok = true: expected client1.echo_ok = true; "
                            "seen client1.echo_ok = null\n")


def test_run_exit_2_on_a_bad_file_and_runs_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _netsim("run", str(SCENARIOS / "bad" / "run.toml"), "--out", str(out))
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) >= 14 and all(line.startswith(f"{SCENARIOS / 'bad' / 'run.toml'}:") for line in lines)
    assert not out.exists()


def test_run_seed_option(tmp_path: Path) -> None:
    for seed in ("5", "6"):
        assert main(["run", "-q", str(SCENARIOS / "tcp_echo.toml"), "--seed", seed, "--out", str(tmp_path / seed)]) == 0
    a, b = (json.loads((tmp_path / seed / "summary.json").read_text()) for seed in ("5", "6"))
    assert (a["seed"], b["seed"]) == (5, 6) and a["trace_hash"] != b["trace_hash"]
    assert main(["replay", "-q", str(tmp_path / "6")]) == 0


def test_replay_mismatch_exits_1_naming_the_record(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["run", "-q", str(SCENARIOS / "tcp_echo.toml"), "--out", str(out)]) == 0
    copy = out / "scenario.toml"
    copy.write_text(copy.read_text().replace('size = "64KiB"', 'size = "32KiB"'))
    result = _netsim("replay", str(out))
    assert result.returncode == 1
    assert "MISMATCH" in result.stderr and "trace differs first at record" in result.stderr
    assert "saved:" in result.stderr and "replay:" in result.stderr


def test_replay_of_something_that_is_not_a_run_directory(tmp_path: Path) -> None:
    result = _netsim("replay", str(tmp_path))
    assert result.returncode == 2 and "not a run directory (missing summary.json, scenario.toml)" in result.stderr


def test_run_trace_hash_is_the_same_across_processes(tmp_path: Path) -> None:
    hashes = set()
    for hash_seed in ("0", "1"):
        out = tmp_path / hash_seed
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        result = _netsim("run", "-q", str(SCENARIOS / "tcp_echo.toml"), "--out", str(out), env=env)
        assert result.returncode == 0, result.stderr
        hashes.add(json.loads((out / "summary.json").read_text())["trace_hash"])
        assert (out / "trace.jsonl").read_text() == ((tmp_path / "0") / "trace.jsonl").read_text()
    assert len(hashes) == 1


@pytest.mark.parametrize("command", ["run", "replay"])
def test_subcommand_help(command: str) -> None:
    result = _netsim(command, "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    if command == "run":
        for option in ("--seed N", "--out DIR", "--quiet", "summary.json", "trace.jsonl", "Exit status"):
            assert option in text
    else:
        assert "first trace record that differs" in text and "Exit status 0" in text
    top = _netsim("--help").stdout
    assert "run" in top and "replay" in top
