"""Results as JSON values: what apps, snapshots and expectations report, in one shape.

Every value a run reports goes through :func:`jsonable`, so ``summary.json`` and the expectation
checks see the same thing: attrs values become dicts, tuples lists, addresses strings, and
``(ip, port)`` pairs ``"ip:port"`` (the way ``ss`` and the lecture write an endpoint).
"""

from __future__ import annotations

import errno
import math
from collections.abc import Mapping
from enum import Enum
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any

import attrs


def errno_name(exc: BaseException) -> str:
    """``ECONNREFUSED`` for an OSError with that errno; the exception's type name otherwise."""
    if isinstance(exc, TimeoutError) and getattr(exc, "errno", None) is None:
        return "ETIMEDOUT"
    code = getattr(exc, "errno", None)
    if isinstance(code, int) and code in errno.errorcode:
        return errno.errorcode[code]
    return type(exc).__name__


def endpoint(address: Any) -> str | None:
    """``("10.0.0.1", 40000)`` -> ``"10.0.0.1:40000"``; an AF_INET6 name ``(host, port, flowinfo,
    scope_id)`` -> ``"[2001:db8::1]:40000"`` (with ``%scope_id`` for a scoped one); None stays
    None."""
    if address is None:
        return None
    host, port = address[0], address[1]
    if ":" in str(host):
        zone = f"%{address[3]}" if len(address) == 4 and address[3] else ""
        return f"[{host}{zone}]:{port}"
    return f"{host}:{port}"


def _is_endpoint(value: Any) -> bool:
    return (isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], int)
            and not isinstance(value[1], bool) and isinstance(value[0], str | IPv4Address))


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (dict keys become strings)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value  # not JSON
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, IPv4Address | IPv4Interface | IPv4Network):
        return str(value)
    if isinstance(value, bytes):
        return {"length": len(value)}
    if _is_endpoint(value):
        return endpoint(value)
    if attrs.has(type(value)):
        return {field.name: jsonable(getattr(value, field.name)) for field in attrs.fields(type(value))}
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((jsonable(item) for item in value), key=repr)
    return str(value)


def lookup(data: Any, path: str) -> Any:
    """The value at ``path`` in JSON data: ``error``, ``errors.ECONNREFUSED``, ``connections[0].local``,
    ``connections.length``.  Raises KeyError naming the first part not found."""
    current = data
    for part in _parts(path):
        if isinstance(part, int):
            if not isinstance(current, list) or not -len(current) <= part < len(current):
                raise KeyError(f"[{part}]")
            current = current[part]
        elif part == "length" and isinstance(current, list | dict | str):
            current = len(current)
        elif isinstance(current, dict) and part in current:
            current = current[part]
        else:
            raise KeyError(part)
    return current


def _parts(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for piece in path.split("."):
        name, _, rest = piece.partition("[")
        if name:
            parts.append(name)
        while rest:
            index, _, rest = rest.partition("]")
            parts.append(int(index))
            rest = rest.lstrip("[")
    return parts


def latency_stats(samples: list[int]) -> dict[str, Any]:
    """min/avg/max of nanosecond samples (None when there are none)."""
    if not samples:
        return {"count": 0, "min": None, "avg": None, "max": None}
    return {"count": len(samples), "min": min(samples), "avg": sum(samples) // len(samples), "max": max(samples)}
