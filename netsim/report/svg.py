"""A few helpers to write SVG by hand: escaping, numbers without float noise, text and shapes."""

from __future__ import annotations

from html import escape


def esc(value: object) -> str:
    """Text for HTML or SVG, with ``<``, ``>``, ``&`` and both quotes escaped."""
    return escape(str(value), quote=True)


def num(value: float) -> str:
    """A coordinate: at most two decimals, no trailing zeros, no ``-0``."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def text(x: float, y: float, content: str, *, cls: str = "", anchor: str = "start", size: float | None = None,
         weight: str = "") -> str:
    attributes = [f'x="{num(x)}"', f'y="{num(y)}"']
    if anchor != "start":
        attributes.append(f'text-anchor="{anchor}"')
    if cls:
        attributes.append(f'class="{cls}"')
    if size is not None:
        attributes.append(f'font-size="{num(size)}"')
    if weight:
        attributes.append(f'font-weight="{weight}"')
    return f"<text {' '.join(attributes)}>{esc(content)}</text>"


def line(x1: float, y1: float, x2: float, y2: float, *, cls: str = "", extra: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    more = f" {extra}" if extra else ""
    return f'<line x1="{num(x1)}" y1="{num(y1)}" x2="{num(x2)}" y2="{num(y2)}"{klass}{more}/>'


def arrowhead(x: float, y: float, direction: float, *, cls: str = "", size: float = 7.0) -> str:
    """A filled triangle pointing along +x (``direction`` 1) or -x (-1), its tip at (x, y)."""
    back = x - direction * size
    points = f"{num(x)},{num(y)} {num(back)},{num(y - size / 2)} {num(back)},{num(y + size / 2)}"
    klass = f' class="{cls}"' if cls else ""
    return f'<polygon points="{points}"{klass}/>'


def svg_open(width: float, height: float, *, label: str, cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{num(width)}" height="{num(height)}" '
            f'viewBox="0 0 {num(width)} {num(height)}" role="img" aria-label="{esc(label)}"{klass}>')
