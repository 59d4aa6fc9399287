"""Loading: TOML text -> plain data (tomllib) -> attrs classes (cattrs) -> semantic checks.

Every problem is collected before anything is raised: cattrs runs with detailed validation, and
its exception groups are walked into :class:`Problem` values whose paths name the field
(``hosts[2].interfaces[0].mtu``).  The converter is strict where cattrs is lenient on purpose
(``"false"`` is not a boolean and ``"1500"`` is not an integer here): a scenario file is checked
input, not coerced input.  Nothing in a file is ever evaluated or imported.
"""

from __future__ import annotations

import copy
import ipaddress
import re
import tomllib
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn

from netsim.scenario import kinds as _kinds  # noqa: F401  (fills the registries)
from netsim.scenario.lines import SourceIndex
from netsim.scenario.model import (
    APP_KINDS,
    CORE_SECTIONS,
    MAC,
    NODE_KINDS,
    SECTIONS,
    VARIANT_BASES,
    AppSpec,
    BindAddress,
    CaptureSpec,
    Duration,
    Endpoint,
    Endpoints,
    Filter,
    HostAddress,
    InterfaceAddress,
    IPv4,
    LinkSpec,
    Name,
    NetworkSpec,
    NodeSpec,
    PortRangeText,
    Prefix,
    Probability,
    Rate,
    RelativePath,
    RouteAddress,
    RoutePrefix,
    Scenario,
    Size,
    SocketAddress,
    StartTime,
    parse_port_range,
)
from netsim.scenario.problems import Problem, ScenarioError, did_you_mean, join_path
from netsim.units import parse_duration, parse_rate, parse_size


class FieldError(ValueError):
    """A problem in a value, located ``at`` a key below the value's own path (e.g. an app's 'kind')."""

    def __init__(self, message: str, at: str) -> None:
        super().__init__(message)
        self.at = at


def describe(value: object) -> str:
    """A value as the TOML type a user wrote: ``'x' (a string)``, ``an array``."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int):
        return f"{value} (an integer)"
    if isinstance(value, float):
        return f"{value} (a float)"
    if isinstance(value, str):
        return f"{value!r} (a string)"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if hasattr(value, "isoformat"):  # TOML dates and times (no wall clock is read here)
        return f"{value.isoformat()} (a date/time)"
    return type(value).__name__


# --- checked value types -------------------------------------------------------------------------


def _string(value: Any, what: str = "a string") -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected {what}, got {describe(value)}")
    return value


def _check_name(value: Any) -> str:
    text = _string(value)
    if not text or any(c in text for c in " \t:/"):
        raise ValueError(f"{text!r} is not a node name: a non-empty word without spaces, ':' or '/'")
    return text


def _check_duration(value: Any) -> str:
    text = _string(value, "a duration with a unit like '10ms'")
    if text.strip().startswith("-"):
        raise ValueError(f"a duration cannot be negative: {text!r}")
    parse_duration(text)
    return text


def _check_rate(value: Any) -> str:
    parse_rate(_string(value, "a rate with a unit like '100Mbps'"))
    return str(value)


def _check_size(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"expected a size like 1500 or '64KiB', got {describe(value)}")
    if isinstance(value, str) and value.strip().startswith("-"):
        raise ValueError(f"a size cannot be negative: {value!r}")
    parse_size(value)
    return str(value)


def _check_probability(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a probability (a number in 0..1), got {describe(value)}")
    return float(value)


def _check_mac(value: Any) -> str:
    from netsim.wire.mac import MACAddress

    text = _string(value)
    MACAddress.parse(text)
    return text


def _address(text: str, parse: Callable[[str], Any], what: str) -> str:
    try:
        parse(text)
    except ValueError:
        raise ValueError(f"{text!r} is not {what}") from None
    return text


def _network(text: str, parse: Callable[..., Any], what: str) -> str:
    """``text`` if ``parse`` takes it as a network; the network meant when only host bits are wrong."""
    try:
        parse(text)
    except ValueError:
        try:
            network = parse(text, strict=False)
        except ValueError:
            raise ValueError(f"{text!r} is not {what}") from None
        raise ValueError(f"{text!r} has host bits set: did you mean {str(network)!r}?") from None
    return text


def _check_ipv4(value: Any) -> str:
    return _address(_string(value), ipaddress.IPv4Address, "an IPv4 address")


def _check_interface_address(value: Any) -> str:
    text = _string(value)
    try:
        if "/" not in text:
            raise ValueError
        ipaddress.ip_interface(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an interface address (like '192.168.1.10/24' or "
                         "'2001:db8::10/64')") from None
    return text


def _check_bind_address(value: Any) -> str:
    return _address(_string(value), ipaddress.ip_address, "an IPv4 or IPv6 address (like '0.0.0.0' or '::')")


def _check_prefix(value: Any) -> str:
    return _network(_string(value), ipaddress.IPv4Network, "an IPv4 network (like '10.0.0.0/8')")


def _check_route_prefix(value: Any) -> str:
    return _network(_string(value), ipaddress.ip_network,
                    "an IPv4 or IPv6 network (like '10.0.0.0/8' or '2001:db8::/32')")


def _check_route_address(value: Any) -> str:
    text = _string(value)
    if "%" in text:
        raise ValueError(f"{text!r}: a route's address takes no zone (give the interface as 'dev')")
    return _address(text, ipaddress.ip_address, "an IPv4 or IPv6 address (like '10.0.0.1' or 'fe80::1')")


def _check_host_address(value: Any) -> str:
    text = _string(value)
    address, _, zone = text.partition("%")
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"{text!r} is not an IPv4 or IPv6 address (like '192.0.2.10' or "
                         "'2001:db8::1')") from None
    if "%" in text and (parsed.version == 4 or not zone):
        raise ValueError(f"{text!r}: only an IPv6 address takes a zone ('fe80::1%eth0')")
    return text


def _check_port_range(value: Any) -> str:
    parse_port_range(_string(value))
    return str(value)


def _check_endpoint(value: Any) -> str:
    text = _string(value, "an interface as 'node:interface'")
    node, sep, iface = text.partition(":")
    if not sep or not node or not iface or ":" in iface:
        raise ValueError(f"{text!r} is not an interface as 'node:interface' (like 'client:eth0')")
    return text


def _check_endpoints(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (_check_endpoint(value),)
    if not isinstance(value, list) or not value:
        raise TypeError(f"expected 'node:interface' or a non-empty array of them, got {describe(value)}")
    return tuple(_check_endpoint(item) for item in value)


def _check_filter(value: Any) -> str:
    from netsim.observe.filter import compile_filter

    text = _string(value)
    try:
        compile_filter(text)
    except ValueError as exc:
        raise ValueError(f"bad filter {text!r}: {exc}") from None
    return text


def _check_relative_path(value: Any) -> str:
    text = _string(value)
    path = Path(text)
    if not text or path.is_absolute() or ".." in path.parts or text.startswith("~"):
        raise ValueError(f"{text!r} must be a file name relative to the output directory, without '..'")
    return text


def _check_start_time(value: Any) -> str:
    text = _string(value, "a duration like '2s', or 'off'")
    if text == "off":
        return text
    try:
        return _check_duration(text)
    except ValueError as exc:
        raise ValueError(f"{exc}; or 'off' to start it from the timeline only") from None


def _check_socket_address(value: Any) -> str:
    parse_socket_address(_string(value, "an address and port like '10.0.0.2:9000'"))
    return str(value)


def parse_socket_address(text: str) -> tuple[str, int]:
    """``"10.0.0.2:9000"`` -> ("10.0.0.2", 9000); ``"[2001:db8::10]:9000"`` and
    ``"[fe80::1%eth0]:9000"`` (an IPv6 address and its zone, RFC 4007 §11) -> ("fe80::1%eth0",
    9000); ValueError says what is wrong."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"{text!r} is not an address and port like '10.0.0.2:9000' or '[2001:db8::1]:9000'")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise ValueError(f"{text!r}: {host!r} is not an IPv6 address") from None
    else:
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise ValueError(f"{text!r}: {host!r} is not an IPv4 address (IPv6 goes in brackets: "
                             "'[2001:db8::1]:9000')") from None
    if not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r}: the port must be 0..65535")
    return host, int(port)


def _strict_int(value: Any, _type: Any = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {describe(value)}")
    return value


def _strict_float(value: Any, _type: Any = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {describe(value)}")
    return float(value)


def _strict_bool(value: Any, _type: Any = None) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {describe(value)}")
    return value


def _strict_str(value: Any, _type: Any = None) -> str:
    return _string(value)


#: the checked value types and the functions that check them (the schema describes them too)
VALUE_CHECKS: dict[Any, Callable[[Any], Any]] = {
    Name: _check_name, Duration: _check_duration, Rate: _check_rate, Size: _check_size,
    Probability: _check_probability, MAC: _check_mac, IPv4: _check_ipv4, BindAddress: _check_bind_address,
    InterfaceAddress: _check_interface_address, Prefix: _check_prefix, PortRangeText: _check_port_range,
    RoutePrefix: _check_route_prefix, RouteAddress: _check_route_address, HostAddress: _check_host_address,
    Endpoint: _check_endpoint, Endpoints: _check_endpoints, Filter: _check_filter,
    RelativePath: _check_relative_path, StartTime: _check_start_time, SocketAddress: _check_socket_address,
}


def _ignoring_type(check: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
    return lambda value, _type: check(value)


# --- the converter -------------------------------------------------------------------------------


def _is_literal(type_: Any) -> bool:
    return typing.get_origin(type_) is typing.Literal


def _is_tuple(type_: Any) -> bool:
    args = typing.get_args(type_)
    return typing.get_origin(type_) is tuple and len(args) == 2 and args[1] is Ellipsis


def _is_union(type_: Any) -> bool:
    import types

    return typing.get_origin(type_) in (typing.Union, types.UnionType)


def make_converter() -> cattrs.Converter:
    """The strict converter: forbid unknown keys, report every problem with its path."""
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    converter.register_structure_hook(int, _strict_int)
    converter.register_structure_hook(float, _strict_float)
    converter.register_structure_hook(bool, _strict_bool)
    converter.register_structure_hook(str, _strict_str)
    for type_, check in VALUE_CHECKS.items():
        converter.register_structure_hook(type_, _ignoring_type(check))

    def literal_hook(type_: Any) -> Callable[[Any, Any], Any]:
        allowed = typing.get_args(type_)

        def hook(value: Any, _t: Any) -> Any:
            if value not in allowed or type(value) is not type(allowed[0]):
                hint = did_you_mean(value, allowed) if isinstance(value, str) else ""
                choices = ", ".join(repr(choice) for choice in allowed)
                raise ValueError(f"{describe(value)} is not one of {choices}{hint}")
            return value

        return hook

    def tuple_hook(type_: Any) -> Callable[[Any, Any], Any]:
        element = typing.get_args(type_)[0]

        def hook(value: Any, _t: Any) -> tuple[Any, ...]:
            if not isinstance(value, list):
                raise TypeError(f"expected an array, got {describe(value)}")
            out, errors = [], []
            for index, item in enumerate(value):
                try:
                    out.append(converter.structure(item, element))
                except Exception as exc:
                    exc.__notes__ = [*getattr(exc, "__notes__", []),
                                     IterableValidationNote(f"index {index}", index, element)]
                    errors.append(exc)
            if errors:
                raise IterableValidationError(f"While structuring {type_!r}", errors, type_)
            return tuple(out)

        return hook

    def union_hook(type_: Any) -> Callable[[Any, Any], Any]:
        options = [arg for arg in typing.get_args(type_) if arg is not type(None)]

        def hook(value: Any, _t: Any) -> Any:
            if value is None and type(None) in typing.get_args(type_):
                return None
            if len(options) == 1:
                return converter.structure(value, options[0])
            # int | tuple[X, ...]: decided by the TOML type of the value
            for option in options:
                if (option is int and isinstance(value, int) and not isinstance(value, bool)) or (
                        _is_tuple(option) and isinstance(value, list)):
                    return converter.structure(value, option)
            raise TypeError(f"expected {' or '.join(_type_words(o) for o in options)}, got {describe(value)}")

        return hook

    def class_hook(cls: Any) -> Callable[[Any, Any], Any]:
        inner = make_dict_structure_fn(cls, converter)

        def hook(value: Any, _t: Any) -> Any:
            if not isinstance(value, dict):
                raise TypeError(f"expected a table, got {describe(value)}")
            return inner(value, cls)

        return hook

    def app_hook(value: Any, _t: Any) -> AppSpec:
        if not isinstance(value, dict):
            raise TypeError(f"expected a table, got {describe(value)}")
        known = ", ".join(repr(kind) for kind in sorted(APP_KINDS))
        if "kind" not in value:
            raise FieldError(f"required key is missing: the app kind, one of {known}", "kind")
        kind = value["kind"]
        if not isinstance(kind, str) or kind not in APP_KINDS:
            hint = did_you_mean(kind, APP_KINDS) if isinstance(kind, str) else ""
            raise FieldError(f"unknown app kind {describe(kind)}{hint}; known kinds: {known}", "kind")
        return converter.structure({k: v for k, v in value.items() if k != "kind"}, APP_KINDS[kind])

    def variant_hook(base: Any) -> Callable[[Any, Any], Any]:
        variants = VARIANT_BASES[base]
        tag = variants.tag

        def hook(value: Any, _t: Any) -> Any:
            if not isinstance(value, dict):
                raise TypeError(f"expected a table, got {describe(value)}")
            known = ", ".join(repr(name) for name in sorted(variants.classes))
            if tag not in value:
                raise FieldError(f"required key is missing: {tag!r}, one of {known}", tag)
            name = value[tag]
            if not isinstance(name, str) or name not in variants.classes:
                hint = did_you_mean(name, variants.classes) if isinstance(name, str) else ""
                raise FieldError(f"unknown {tag} {describe(name)}{hint}; known: {known}", tag)
            return converter.structure({k: v for k, v in value.items() if k != tag}, variants.classes[name])

        return hook

    def table_hook(value: Any, _t: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise TypeError(f"expected a table, got {describe(value)}")
        return dict(value)

    converter.register_structure_hook_func(lambda t: t is AppSpec, app_hook)
    converter.register_structure_hook_factory(lambda t: t in VARIANT_BASES, variant_hook)
    converter.register_structure_hook_func(lambda t: t == dict[str, Any], table_hook)
    converter.register_structure_hook_factory(_is_literal, literal_hook)
    converter.register_structure_hook_factory(_is_tuple, tuple_hook)
    converter.register_structure_hook_factory(_is_union, union_hook)
    converter.register_structure_hook_factory(
        lambda t: attrs.has(t) and t is not AppSpec and t not in VARIANT_BASES, class_hook)
    return converter


def _type_words(type_: Any) -> str:
    if type_ is int:
        return "an integer"
    if _is_tuple(type_):
        return "an array"
    if attrs.has(type_):
        return "a table"
    return getattr(type_, "__name__", str(type_))


CONVERTER = make_converter()


# --- exception groups -> problems ----------------------------------------------------------------


def _field_names(cls: Any) -> list[str]:
    return [field.name for field in attrs.fields(cls)] if attrs.has(cls) else []


def flatten_errors(exc: BaseException, path: str) -> list[tuple[str, str]]:
    """cattrs' nested exception groups as (field path, message) pairs, in field order."""
    out: list[tuple[str, str]] = []
    _flatten(exc, path, out)
    return out


def _flatten(exc: BaseException, path: str, out: list[tuple[str, str]]) -> None:
    if isinstance(exc, BaseExceptionGroup):
        group_exceptions = getattr(exc, "group_exceptions", None)
        if group_exceptions is None:
            for sub in exc.exceptions:
                _flatten(sub, path, out)
            return
        with_notes, without = group_exceptions()
        for sub, note in with_notes:
            if isinstance(note, AttributeValidationNote):
                _flatten(sub, join_path(path, note.name), out)
            elif isinstance(note, IterableValidationNote) and isinstance(note.index, int):
                _flatten(sub, join_path(path, note.index), out)
            else:
                _flatten(sub, path, out)
        for sub in without:
            _flatten(sub, path, out)
    elif isinstance(exc, ForbiddenExtraKeysError):
        names = _field_names(exc.cl)
        for key in sorted(exc.extra_fields):
            out.append((join_path(path, key), f"unknown key {key!r}{did_you_mean(key, names)}"))
    elif isinstance(exc, FieldError):
        out.append((join_path(path, exc.at), str(exc)))
    elif isinstance(exc, KeyError):
        out.append((path, "required key is missing"))
    else:
        out.append((path, str(exc) or type(exc).__name__))


def structure(value: Any, type_: Any, path: str, problems: list[tuple[str, str]]) -> Any:
    """``value`` structured into ``type_``; on failure its problems are appended and the value is
    *salvaged*: structured again without the keys and array elements at fault, so the semantic
    checks still see the rest of it (one run reports everything).  None when nothing can be saved."""
    try:
        return CONVERTER.structure(value, type_)
    except Exception as exc:
        found = flatten_errors(exc, path)
    problems.extend(found)
    for _attempt in range(3):
        value = _without(value, [bad for bad, _ in found], path)
        if value is None:
            return None
        try:
            return CONVERTER.structure(value, type_)
        except Exception as exc:
            found = flatten_errors(exc, path)
    return None


def _holds(value: Any, parts: list[Any]) -> bool:
    for part in parts:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return False
    return True


def _without(value: Any, paths: list[str], prefix: str) -> Any:
    """A copy of ``value`` without what ``paths`` (below ``prefix``) point at; None if that is all of it."""
    from netsim.scenario.lines import parse_path

    value = copy.deepcopy(value)
    depth = len(parse_path(prefix))
    removals: list[tuple[list[Any], set[int]]] = []
    for path in paths:
        parts = parse_path(path)[depth:]
        while len(parts) > 1 and isinstance(parts[-1], str) and not _holds(value, parts):
            parts = parts[:-1]  # a missing key (an entry's kind or action) cannot be left out: drop the entry
        if not parts:
            return None
        container = value
        for part in parts[:-1]:
            try:
                container = container[part]
            except (KeyError, IndexError, TypeError):
                container = None
                break
        last = parts[-1]
        if isinstance(container, dict) and isinstance(last, str):
            container.pop(last, None)
        elif isinstance(container, list) and isinstance(last, int):
            entry = next((r for r in removals if r[0] is container), None)
            if entry is None:
                entry = (container, set())
                removals.append(entry)
            entry[1].add(last)
    for container, indexes in removals:
        for index in sorted(indexes, reverse=True):
            if index < len(container):
                del container[index]
    return value


# --- the top level -------------------------------------------------------------------------------


def structure_scenario(data: Mapping[str, Any],
                       filename: str = "<string>") -> tuple[Scenario, list[tuple[str, str]], set[str]]:
    """Plain data -> a Scenario, the problems as (path, message), and the names of nodes whose entries
    had problems (so references to them, or to interfaces they may lack, are not reported again)."""
    problems: list[tuple[str, str]] = []
    sections = {kind.section: kind for kind in NODE_KINDS.values()}
    known = [*CORE_SECTIONS[:1], *sections, *CORE_SECTIONS[1:], *SECTIONS]
    for key in data:
        if key not in known:
            problems.append((key, f"unknown top-level key {key!r}{did_you_mean(key, known)}"))
    network = structure(data.get("network", {}), NetworkSpec, "network", problems)
    nodes: list[NodeSpec] = []
    broken: set[str] = set()

    def entries(section: str) -> list[Any]:
        value = data.get(section, [])
        if not isinstance(value, list):
            problems.append((section, f"expected an array of tables ([[{section}]]), got {describe(value)}"))
            return []
        return value

    for section, kind in sections.items():
        for index, entry in enumerate(entries(section)):
            before = len(problems)
            node = structure(entry, kind.spec, f"{section}[{index}]", problems)
            if node is not None:
                nodes.append(node)
            if len(problems) > before and isinstance(entry, dict) and isinstance(entry.get("name"), str):
                broken.add(entry["name"])  # missing, or salvaged without some of its interfaces
    lists: dict[str, list[Any]] = {}
    for section, type_ in (("links", LinkSpec), ("captures", CaptureSpec), ("apps", AppSpec)):
        lists[section] = []
        for index, entry in enumerate(entries(section)):
            item = structure(entry, type_, f"{section}[{index}]", problems)
            if item is not None:
                lists[section].append(item)
    extra: dict[str, Any] = {}
    for name, registered in SECTIONS.items():
        extra[name] = (structure(data[name], registered.type, name, problems) if name in data
                       else registered.default())
    if network is None:
        network = NetworkSpec()  # its problems are reported; check the rest with the defaults
    scenario = Scenario(network=network, nodes=tuple(nodes), links=tuple(lists["links"]),
                        captures=tuple(lists["captures"]), apps=tuple(lists["apps"]), sections=extra,
                        file=filename)
    return scenario, problems, broken


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def load_scenario_data(data: Mapping[str, Any], filename: str = "<string>", text: str | None = None) -> Scenario:
    """Structure and validate already-parsed data; ``text`` (the source) only serves line numbers."""
    from netsim.scenario.validate import validate

    scenario, found, broken = structure_scenario(data, filename)
    found.extend(validate(scenario, broken))
    if found:
        index = SourceIndex(text) if text is not None else None
        problems = [Problem(filename, index.locate(path) if index else None, path, message)
                    for path, message in found]
        ordered = sorted(enumerate(problems), key=lambda item: (item[1].line is None, item[1].line or 0, item[0]))
        raise ScenarioError([problem for _, problem in ordered])
    return scenario


def load_scenario_text(text: str, filename: str = "<string>") -> Scenario:
    """A scenario from TOML text; raises :class:`ScenarioError` listing every problem."""
    text = text.removeprefix("\ufeff")  # a byte-order mark (as some Windows editors write) is not TOML
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_POSITION.search(message)
        line = int(match.group(1)) if match else None
        message = _TOML_POSITION.sub("", message)
        if match:
            message += f" (column {match.group(2)})"
        raise ScenarioError([Problem(filename, line, "", f"TOML syntax error: {message}")]) from None
    return load_scenario_data(data, filename, text)


def load_scenario(path: str | Path) -> Scenario:
    """A scenario from a TOML file; raises :class:`ScenarioError` listing every problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError([Problem(str(path), None, "", f"cannot read the file: {exc.strerror}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError([Problem(str(path), None, "", f"not UTF-8 text: {exc.reason} at byte {exc.start}")]) \
            from None
    return load_scenario_text(text, str(path))
