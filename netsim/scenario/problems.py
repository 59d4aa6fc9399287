"""What is wrong with a scenario file: every problem at once, each with its file, line and field path.

A user fixing a file wants the whole list in one go (as a compiler gives it), not one error per
run; so loading and validation append :class:`Problem` values and raise a single
:class:`ScenarioError` at the end.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import attrs

from netsim.errors import NetsimError


@attrs.frozen
class Problem:
    """One thing wrong: ``file:line: path: message`` (the line is omitted when it is not known)."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ScenarioError(NetsimError, ValueError):
    """A scenario that cannot be loaded or built; ``problems`` lists every reason, in file order."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'mtu'?)`` when ``word`` is close to one of ``candidates``, else ``""``."""
    close = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def join_path(path: str, part: str | int) -> str:
    """``hosts[2]`` + ``interfaces`` -> ``hosts[2].interfaces``; + 0 -> ``hosts[2].interfaces[0]``."""
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else part
