"""Best-effort line numbers for field paths: ``hosts[2].interfaces[0].mtu`` -> 17.

tomllib gives values without positions, so this scans the source text: the n-th ``[[hosts]]``
header, then the n-th ``[[hosts.interfaces]]`` inside it, then the ``mtu =`` line in that table
(or ``mtu = ...`` inside an inline table on a line of it).  It never fails: when a part of the path
cannot be found it answers the line of the deepest part that could, or None.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?\s*(?:#.*)?$")
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _split_key(text: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in text.split("."))


def parse_path(path: str) -> list[str | int]:
    """``hosts[2].name`` -> ``["hosts", 2, "name"]``."""
    return [int(index) if index else key for key, index in _PART.findall(path)]


class SourceIndex:
    """The table headers of one TOML text, to look field paths up in."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers: list[tuple[int, tuple[str, ...], bool]] = []  # (line index, dotted name, is array)
        in_multiline = False
        for index, line in enumerate(self.lines):
            if line.count('"""') % 2 or line.count("'''") % 2:
                in_multiline = not in_multiline
                continue
            if in_multiline:
                continue
            match = _HEADER.match(line)
            if match:
                self.headers.append((index, _split_key(match.group(2)), match.group(1) == "[["))

    def _region_end(self, start: int, end: int, name: tuple[str, ...]) -> int:
        """Where the table whose header is on line ``start`` ends: at the next header that is not
        one of its sub-tables."""
        for line, header, _ in self.headers:
            if start < line < end and not (len(header) > len(name) and header[: len(name)] == name):
                return line
        return end

    def _first_header_after(self, start: int, end: int) -> int:
        return next((line for line, _, _ in self.headers if start < line < end), end)

    def _find_key(self, key: str, start: int, end: int, anywhere: bool = False) -> int | None:
        quoted = re.escape(key)
        pattern = (re.compile(rf"(?:^|[\s{{,])[\"']?{quoted}[\"']?\s*=") if anywhere
                   else re.compile(rf"^\s*[\"']?{quoted}[\"']?\s*="))
        for index in range(max(start, 0), min(end, len(self.lines))):
            if pattern.search(self.lines[index]):
                return index
        return None

    def locate(self, path: str) -> int | None:
        """The 1-based line of ``path``, or of its deepest part that can be found, or None."""
        parts = parse_path(path)
        prefix: tuple[str, ...] = ()
        start, end = -1, len(self.lines)  # the current table: its header line and where it ends
        best: int | None = None
        inline_from: int | None = None  # inside an inline value that starts on this line
        position = 0
        while position < len(parts):
            part = parts[position]
            position += 1
            if isinstance(part, int):
                continue  # an index into a plain array value: stay on its key's line
            index = 0
            if position < len(parts) and isinstance(parts[position], int):
                index = int(parts[position])
            if inline_from is not None:
                found = self._find_key(part, inline_from, self._first_header_after(start, end), anywhere=True)
                if found is None:
                    break
                best = inline_from = found
                continue
            name = (*prefix, part)
            arrays = [line for line, header, is_array in self.headers
                      if start < line < end and header == name and is_array]
            tables = [line for line, header, is_array in self.headers
                      if start < line < end and header == name and not is_array]
            if arrays:
                if index >= len(arrays):
                    break
                if position < len(parts) and isinstance(parts[position], int):
                    position += 1
                start = arrays[index]
                end = self._region_end(start, end, name)
                prefix, best = name, start
            elif tables:
                start = tables[0]
                end = self._region_end(start, end, name)
                prefix, best = name, start
            else:
                found = self._find_key(part, start + 1, self._first_header_after(start, end))
                if found is None:
                    break
                best = inline_from = found
        return None if best is None else best + 1
