"""netsim.build_info: a compiled module whose source changed is found, not run in silence."""

from __future__ import annotations

import hashlib
import json
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

from netsim import build_info


def _build(root: Path, sources: dict[str, bytes]) -> None:
    """A fake in-place build under ``root``: the sources, an extension beside each, the manifest."""
    for path, text in sources.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(text)
        (root / path).with_suffix(EXTENSION_SUFFIXES[0]).write_bytes(b"")
    record = {"mypyc": "0", "sources": {path: hashlib.sha256(text).hexdigest() for path, text in sources.items()}}
    (root / "netsim" / "_compiled.json").write_text(json.dumps(record))


def test_nothing_compiled_is_pure_python(tmp_path: Path) -> None:
    assert build_info.manifest(tmp_path) is None
    assert build_info.stale_sources(tmp_path) == []


def test_a_build_is_stale_once_a_source_changes_or_its_extension_goes(tmp_path: Path) -> None:
    _build(tmp_path, {"netsim/sim/tcp.py": b"x = 1\n", "netsim/sim/link.py": b"y = 2\n"})
    assert build_info.stale_sources(tmp_path) == []
    (tmp_path / "netsim/sim/tcp.py").write_bytes(b"x = 2\n")
    assert build_info.stale_sources(tmp_path) == ["netsim/sim/tcp.py"]
    (tmp_path / "netsim/sim/link.py").with_suffix(EXTENSION_SUFFIXES[0]).unlink()
    assert build_info.stale_sources(tmp_path) == ["netsim/sim/link.py", "netsim/sim/tcp.py"]


def test_this_checkout_is_not_stale() -> None:
    assert build_info.stale_sources() == []  # (the conftest refuses to run otherwise, too)
    assert build_info.describe() == "pure Python" or "compiled with mypyc" in build_info.describe()
