"""The layering rules of DESIGN.md, checked on the source.

Each package may import only packages of its own or a lower rank; nothing below ``netsim.sim``
imports SimPy or reads a clock; nothing anywhere reads wall-clock time or global random state.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "netsim"
RANK = {
    "errors": 0, "units": 0, "wire": 1, "proto": 2, "sim": 3, "observe": 4, "scenario": 4, "report": 4,
    "experiments": 5, "cli": 6, "__main__": 7, "__init__": 0, "build_info": 0,
}
PURE = {"errors", "units", "wire", "proto"}
WALL_CLOCK = {"time", "datetime"}
RANDOM_FUNCTIONS = {"random", "randint", "randrange", "choice", "choices", "shuffle", "sample", "uniform",
                    "getrandbits", "seed", "gauss"}


def _modules() -> list[Path]:
    return sorted(ROOT.rglob("*.py"))


def _package(path: Path) -> str:
    parts = path.relative_to(ROOT).parts
    return parts[0].removesuffix(".py")


def _imports(tree: ast.AST) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
            if node.module == "random":
                names = [alias.name for alias in node.names]
                assert names == ["Random"], f"line {node.lineno}: from random import {names}: use a seeded stream"
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_follow_the_layers(path: Path) -> None:
    package = _package(path)
    assert package in RANK, f"{package} has no rank in DESIGN.md's layering: add it to RANK"
    tree = ast.parse(path.read_text(), str(path))
    for module, line in _imports(tree):
        top = module.split(".")[0]
        if top == "netsim" and "." in module:
            target = module.split(".")[1]
            assert RANK.get(target, 99) <= RANK[package], f"{path}:{line}: {package} may not import netsim.{target}"
        if package in PURE:
            assert top != "simpy", f"{path}:{line}: nothing below netsim.sim imports SimPy"
        assert top not in WALL_CLOCK, f"{path}:{line}: no wall-clock time in netsim"
        if top == "random":
            # ``import random`` for the ``random.Random`` type is fine; the functions are checked below
            assert module == "random", f"{path}:{line}: randomness comes from the Network's streams"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_global_random_state_or_salted_hash(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "random":
            assert node.attr not in RANDOM_FUNCTIONS, f"{path}:{node.lineno}: random.{node.attr} reads global state"
    for node in _salted_calls(tree):
        raise AssertionError(f"{path}:{node.lineno}: {node.func.id}() differs between processes")  # type: ignore[attr-defined]


def _salted_calls(tree: ast.AST, inside_hash: bool = False) -> list[ast.Call]:
    """Calls of hash() and id(), except hash() inside a ``__hash__`` method: a value class's
    hash only places it in dicts and sets (as attrs' generated one does), nothing observable."""
    found: list[ast.Call] = []
    for child in ast.iter_child_nodes(tree):
        salted = isinstance(child, ast.Call) and isinstance(child.func, ast.Name) and child.func.id in ("hash", "id")
        if salted and not (inside_hash and child.func.id == "hash"):  # type: ignore[attr-defined]
            found.append(child)  # type: ignore[arg-type]
        hashing = inside_hash or (isinstance(child, ast.FunctionDef) and child.name == "__hash__")
        found += _salted_calls(child, hashing)
    return found


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    """The rules above can fail: a module that breaks them is caught."""
    bad = ast.parse("import simpy\nimport time\nfrom netsim.sim import x\nrandom.randint(1, 2)\nhash('a')\n")
    modules = [module for module, _ in _imports(bad)]
    assert modules == ["simpy", "time", "netsim.sim"]
    calls = [n for n in ast.walk(bad) if isinstance(n, ast.Attribute) and n.attr in RANDOM_FUNCTIONS]
    assert calls
    assert len(_salted_calls(bad)) == 1
    value_class = ast.parse("class V:\n    def __hash__(self):\n        return hash((1, id(self)))\n"
                            "    def key(self):\n        return hash(self)\n")
    assert [call.func.id for call in _salted_calls(value_class)] == ["id", "hash"]  # type: ignore[attr-defined]
