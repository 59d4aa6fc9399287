"""netsim's per-segment path compiled with mypyc, or pure Python when that cannot be done.

The modules every simulated frame goes through (the TCP engine, the TCP sockets, hosts, links,
interfaces, the event loop and the trace) are ordinary type-checked Python; mypyc turns them into
C extensions that run the same code about twice as fast, because attribute access on their
classes becomes a struct field and calls between them C calls.  The Python source stays the
reference: it is what a checkout runs until it is compiled, and the test suite runs both ways.

Two ways in:

* ``pip install .`` (hatchling runs this file as a build hook, ``[tool.hatch.build.targets.wheel.hooks.custom]``
  in pyproject.toml): the wheel carries the extensions beside the sources.  Without a C compiler,
  or if mypyc fails, the wheel is pure Python and the build says why; ``NETSIM_PURE_PYTHON=1``
  skips the compilation, ``NETSIM_REQUIRE_COMPILED=1`` makes a failure an error (CI).
* ``python3 hatch_build.py`` in a checkout compiles in place (the extensions next to their
  sources, where Python prefers them); ``python3 hatch_build.py --clean`` removes them.

Either way ``netsim/_compiled.json`` records the SHA-256 of each compiled source, so that
``netsim.build_info`` can tell when a source changed after it was compiled (a stale extension
would otherwise run in its place without a word).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

#: the modules compiled: the path of a data segment and of its ACK, and the classes they derive
#: from or are derived from (mypyc cannot let an interpreted class inherit from a compiled one)
COMPILED = (
    "netsim/proto/tcp/autotune.py",
    "netsim/proto/tcp/buffers.py",
    "netsim/proto/tcp/congestion.py",
    "netsim/proto/tcp/connection.py",
    "netsim/proto/tcp/rack.py",
    "netsim/proto/tcp/rtt.py",
    "netsim/proto/tcp/seq.py",
    "netsim/sim/host.py",
    "netsim/sim/interface.py",
    "netsim/sim/link.py",
    "netsim/sim/nat.py",
    "netsim/sim/network.py",
    "netsim/sim/node.py",
    "netsim/sim/switch.py",
    "netsim/sim/tcp.py",
    "netsim/sim/trace.py",
    "netsim/wire/checksum.py",
    "netsim/wire/fastpath.py",
    "netsim/wire/tcp.py",
    "netsim/wire/tcp_options.py",
)
GROUP = "netsim"  # mypyc's shared library: netsim__mypyc, a top-level module beside the package
MANIFEST = "netsim/_compiled.json"
ROOT = Path(__file__).resolve().parent

_SETUP = """\
import sys
from setuptools import setup
from mypyc.build import mypycify

sys.argv[1:] = ["build_ext", "--inplace", "--parallel", "{jobs}"]
setup(name="netsim-compiled", ext_modules=mypycify({paths!r}, opt_level="3", group_name="{group}",
                                                   target_dir="c"))
"""


class CompileError(Exception):
    """mypyc or the C compiler failed; the message says where."""


def extension_suffix() -> str:
    return str(sysconfig.get_config_var("EXT_SUFFIX") or ".so")


def source_hashes(root: Path) -> dict[str, str]:
    return {path: hashlib.sha256((root / path).read_bytes()).hexdigest() for path in COMPILED}


def compile_into(out: Path, root: Path = ROOT) -> list[Path]:
    """Compile :data:`COMPILED` from ``root`` with mypyc in the directory ``out``; the files made
    (relative to ``out``): the extensions in the package's layout, mypyc's shared library at the
    top, and the manifest."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        raise CompileError(f"no C compiler ({compiler}) on PATH")
    # setuptools runs in ``out``: it reads no pyproject.toml there (old setuptools cannot parse
    # ours) and writes nothing into the source tree; mypyc names the modules from the paths
    for path in COMPILED:  # (build_ext --inplace copies into the package's directories, made here)
        (out / path).parent.mkdir(parents=True, exist_ok=True)
    setup = out / "setup_mypyc.py"
    paths = [str(root / path) for path in COMPILED]
    setup.write_text(_SETUP.format(paths=paths, group=GROUP, jobs=os.cpu_count() or 1))
    process = subprocess.run([sys.executable, str(setup)], cwd=out, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, check=False)
    if process.returncode:
        raise CompileError(f"mypyc failed (exit status {process.returncode}):\n{process.stdout[-4000:]}")
    suffix = extension_suffix()
    made = [Path(path[: -len(".py")] + suffix) for path in COMPILED] + [Path(f"{GROUP}__mypyc{suffix}")]
    missing = [str(path) for path in made if not (out / path).is_file()]
    if missing:
        raise CompileError(f"mypyc made no {', '.join(missing)}")
    (out / MANIFEST).write_text(json.dumps({"mypyc": _mypy_version(), "sources": source_hashes(root)},
                                           indent=1, sort_keys=True) + "\n")
    return [*made, Path(MANIFEST)]


def _mypy_version() -> str:
    from mypy.version import __version__

    return str(__version__)


def in_place(root: Path = ROOT) -> list[Path]:
    """Compile and put the extensions next to their sources in ``root``."""
    clean(root)
    with tempfile.TemporaryDirectory(prefix="netsim-mypyc-") as tmp:
        made = compile_into(Path(tmp), root)
        for path in made:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(tmp) / path, root / path)
    return made


def clean(root: Path = ROOT) -> list[Path]:
    """Remove what :func:`in_place` put in ``root``."""
    suffix = extension_suffix()
    gone = []
    for path in [*(Path(p[: -len(".py")] + suffix) for p in COMPILED), Path(f"{GROUP}__mypyc{suffix}"),
                 Path(MANIFEST)]:
        if (root / path).exists():
            (root / path).unlink()
            gone.append(path)
    return gone


try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # run as a script, outside a build
    BuildHookInterface = object  # type: ignore[assignment,misc]


class CustomBuildHook(BuildHookInterface):  # type: ignore[misc]
    """Hatchling's hook: compile into a temporary directory and add the results to the wheel."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return  # (an editable install runs the checkout: compile it in place if wanted)
        if os.environ.get("NETSIM_PURE_PYTHON"):
            self.app.display_info("netsim: NETSIM_PURE_PYTHON is set: a pure-Python wheel")
            return
        self._tmp = tempfile.TemporaryDirectory(prefix="netsim-mypyc-")
        out = Path(self._tmp.name)
        try:
            made = compile_into(out, Path(self.root))
        except (CompileError, OSError, ImportError) as exc:
            if os.environ.get("NETSIM_REQUIRE_COMPILED"):
                raise
            self.app.display_warning(f"netsim: not compiled, the wheel is pure Python ({exc})")
            return
        for path in made:
            build_data["force_include"][str(out / path)] = str(path)
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        self.app.display_info(f"netsim: {len(COMPILED)} modules compiled with mypyc")

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            tmp.cleanup()


def main() -> int:
    if sys.argv[1:] == ["--clean"]:
        gone = clean()
        print(f"removed {len(gone)} compiled files" if gone else "nothing compiled to remove")
        return 0
    if sys.argv[1:]:
        print(__doc__)
        return 2
    try:
        made = in_place()
    except CompileError as exc:
        print(f"hatch_build.py: {exc}", file=sys.stderr)
        return 1
    print(f"compiled {len(COMPILED)} modules in place ({len(made)} files); python3 hatch_build.py --clean removes them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
