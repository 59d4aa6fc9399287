"""``python -m netsim.scenario FILE...``: regenerate the format reference inside each Markdown FILE
(between its reference markers), from the attrs classes and their metadata."""

from __future__ import annotations

import sys
from pathlib import Path

from netsim.scenario.schema import with_reference


def main(argv: list[str]) -> int:
    for name in argv:
        target = Path(name)
        target.write_text(with_reference(target.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
