from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

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
