"""Whether this netsim runs compiled, and whether each compiled module is still its source.

``hatch_build.py`` compiles netsim's per-segment path with mypyc (into a wheel, or in place in a
checkout) and writes ``netsim/_compiled.json``: the SHA-256 of every source it compiled.  Python
imports an extension in preference to the ``.py`` beside it, so an in-place build followed by an
edit would run the old code without a word; :func:`stale_sources` finds that, ``import netsim``
warns about it, and the test suite refuses to run on it.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parent.parent  # what the manifest's paths are relative to


class StaleBuildWarning(RuntimeWarning):
    """A compiled module's source changed after it was compiled: the old code runs."""


def manifest(root: Path = _ROOT) -> dict[str, Any] | None:
    """The build's record (``{"mypyc": version, "sources": {path: sha256}}``), or None when
    nothing was compiled (``root``: the directory holding the package)."""
    try:
        return dict(json.loads((root / "netsim" / "_compiled.json").read_text()))
    except (OSError, ValueError):
        return None


def stale_sources(root: Path = _ROOT) -> list[str]:
    """Compiled sources whose text is no longer what was compiled (or whose extension is gone)."""
    record = manifest(root)
    if record is None:
        return []
    stale = []
    for path, digest in sorted(record.get("sources", {}).items()):
        source = root / path
        try:
            current = hashlib.sha256(source.read_bytes()).hexdigest()
        except OSError:
            current = None
        extension = any(source.with_suffix(suffix).exists() for suffix in EXTENSION_SUFFIXES)
        if current != digest or not extension:
            stale.append(path)
    return stale


def describe() -> str:
    """One line for ``--version`` and the benchmarks."""
    record = manifest()
    if record is None:
        return "pure Python"
    count = len(record.get("sources", {}))
    stale = stale_sources()
    text = f"{count} modules compiled with mypyc {record.get('mypyc', '?')}"
    if stale:
        text += f" (STALE, the old code runs: {', '.join(stale)}; rebuild with python3 hatch_build.py)"
    return text


def warn_if_stale() -> None:
    stale = stale_sources()
    if stale:
        warnings.warn(f"netsim: {', '.join(stale)} changed after it was compiled, and the compiled module "
                      "still runs in its place: python3 hatch_build.py rebuilds, --clean removes the build",
                      StaleBuildWarning, stacklevel=2)
