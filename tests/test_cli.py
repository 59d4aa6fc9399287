from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from netsim import __version__
from netsim.cli import main
from netsim.wire import EthernetFrame
from netsim.wire.pcap import read_pcap
from netsim.wire.samples import sample_frames


def test_version_and_usage(capsys: object) -> None:
    result = subprocess.run([sys.executable, "-m", "netsim", "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"netsim {__version__}"
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
