"""The JSON Schema and the Markdown reference of the scenario format, both generated from the attrs
classes and their field metadata, so that neither can drift from what the loader accepts.

The schema is JSON Schema draft 2020-12 (for editors: completion and red squiggles in TOML files
through a schema-aware TOML extension).  It says what types and ranges say; the cross-references
(links to existing interfaces, subnets, ...) are checked by :mod:`netsim.scenario.validate` only.
"""

from __future__ import annotations

import typing
from typing import Any

import attrs

from netsim.scenario import kinds as _kinds  # noqa: F401  (fills the registries)
from netsim.scenario.model import (
    APP_KINDS,
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
    PortRangeText,
    Prefix,
    Probability,
    Rate,
    RelativePath,
    RouteAddress,
    RoutePrefix,
    Size,
    SocketAddress,
    StartTime,
)

DRAFT = "https://json-schema.org/draft/2020-12/schema"

#: the value types: the word the reference uses, what they are, and their JSON Schema
VALUE_TYPES: dict[Any, tuple[str, str, dict[str, Any]]] = {
    Name: ("name", "a word without spaces, ':' or '/'", {"type": "string", "pattern": "^[^\\s:/]+$"}),
    Duration: ("duration", "a number with a unit (ns, us, ms, s, m, h); terms add up: \"1ms\", \"2h4m\"",
               {"type": "string"}),
    Rate: ("rate", "a number with a unit (bps, kbps, Mbps, Gbps, Tbps): \"100Mbps\"", {"type": "string"}),
    Size: ("size", "bytes: an integer, or a string with a unit (B, KB, MB, GB, KiB, MiB, GiB): \"64KiB\"",
           {"type": ["integer", "string"]}),
    Probability: ("probability", "a number in 0..1", {"type": "number", "minimum": 0, "maximum": 1}),
    MAC: ("MAC", "a MAC address: \"02:00:00:00:00:01\"", {"type": "string"}),
    IPv4: ("IPv4 address", "\"192.168.1.1\"", {"type": "string", "format": "ipv4"}),
    BindAddress: ("local address", "IPv4 or IPv6: \"0.0.0.0\", \"::\" (dual stack)", {"type": "string"}),
    HostAddress: ("address", "IPv4 or IPv6, link-local with its zone: \"192.0.2.10\", \"2001:db8::1\", "
                  "\"fe80::1%eth0\"", {"type": "string"}),
    InterfaceAddress: ("interface address", "an IPv4 or IPv6 address with its prefix length: \"192.168.1.10/24\", "
                       "\"2001:db8::5/64\"", {"type": "string", "pattern": "^[0-9A-Fa-f.:]+/[0-9]+$"}),
    Prefix: ("prefix", "an IPv4 network without host bits: \"10.0.0.0/8\", \"0.0.0.0/0\"", {"type": "string"}),
    RoutePrefix: ("route prefix", "an IPv4 or IPv6 network without host bits: \"10.0.0.0/8\", \"::/0\"",
                  {"type": "string"}),
    RouteAddress: ("route address", "IPv4 or IPv6, of the prefix's family: \"10.0.0.1\", \"fe80::1\"",
                   {"type": "string"}),
    PortRangeText: ("port range", "low-high, inclusive: \"32768-60999\"",
                    {"type": "string", "pattern": "^\\s*[0-9]+\\s*-\\s*[0-9]+\\s*$"}),
    Endpoint: ("endpoint", "an interface of a node: \"client:eth0\", \"sw1:p1\"",
               {"type": "string", "pattern": "^[^:]+:[^:]+$"}),
    Endpoints: ("endpoint(s)", "one endpoint, or an array of them",
                {"anyOf": [{"type": "string", "pattern": "^[^:]+:[^:]+$"},
                           {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^[^:]+:[^:]+$"}}]}),
    Filter: ("filter", "a tcpdump-syntax expression: \"tcp port 9000\"", {"type": "string"}),
    RelativePath: ("file", "a path relative to the output directory, without '..'", {"type": "string"}),
    StartTime: ("start time", "a duration, or \"off\" (started by a timeline action only)", {"type": "string"}),
    SocketAddress: ("socket address", "an IPv4 address and a port, or an IPv6 one in brackets: "
                    "\"10.0.0.2:9000\", \"[2001:db8::10]:9000\"",
                    {"type": "string", "pattern": "^([0-9.]+|\\[[0-9A-Fa-f:.]+(%[^\\]]+)?\\]):[0-9]+$"}),
}

_BASIC = {int: ("integer", "integer"), float: ("number", "number"), bool: ("boolean", "boolean"),
          str: ("string", "string")}


def _args(type_: Any) -> tuple[Any, ...]:
    return typing.get_args(type_)


def _is_union(type_: Any) -> bool:
    import types

    return typing.get_origin(type_) in (typing.Union, types.UnionType)


def _is_tuple(type_: Any) -> bool:
    return typing.get_origin(type_) is tuple


def _non_none(type_: Any) -> list[Any]:
    return [arg for arg in _args(type_) if arg is not type(None)] if _is_union(type_) else [type_]


def _fields(cls: Any) -> tuple[Any, ...]:
    return tuple(attrs.fields(attrs.resolve_types(cls)))


class _SchemaBuilder:
    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}

    def ref(self, cls: Any, kind: str | None = None) -> dict[str, Any]:
        name = cls.__name__
        if name not in self.defs:
            self.defs[name] = {}  # placeholder against recursion
            self.defs[name] = self.object(cls, kind)
        return {"$ref": f"#/$defs/{name}"}

    def object(self, cls: Any, kind: str | None = None, tag: str = "kind") -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required: list[str] = []
        if kind is not None:
            properties[tag] = {"const": kind, "description": "the app kind" if tag == "kind" and issubclass(
                cls, AppSpec) else f"the {tag}"}
            required.append(tag)
        for field in _fields(cls):
            schema = self.type(field.type)
            _apply_range(schema, field.metadata.get("min"), field.metadata.get("max"))
            if "help" in field.metadata:
                schema = {**schema, "description": field.metadata["help"]}
            if field.default is attrs.NOTHING:
                required.append(field.name)
            elif not isinstance(field.default, attrs.Factory) and field.default is not None:  # type: ignore[arg-type]
                schema["default"] = list(field.default) if isinstance(field.default, tuple) else field.default
            properties[field.name] = schema
        out: dict[str, Any] = {"type": "object", "description": (cls.__doc__ or "").strip().split("\n")[0],
                               "properties": properties, "additionalProperties": False}
        if required:
            out["required"] = required
        return out

    def type(self, type_: Any) -> dict[str, Any]:
        options = _non_none(type_)
        if len(options) > 1:
            return {"oneOf": [self.type(option) for option in options]}
        type_ = options[0]
        if type_ in VALUE_TYPES:
            return dict(VALUE_TYPES[type_][2])
        if type_ in _BASIC:
            return {"type": _BASIC[type_][0]}
        if typing.get_origin(type_) is typing.Literal:
            return {"type": "string", "enum": list(_args(type_))}
        if _is_tuple(type_):
            return {"type": "array", "items": self.type(_args(type_)[0])}
        if type_ in VARIANT_BASES:
            variants = VARIANT_BASES[type_]
            refs = []
            for name, cls in sorted(variants.classes.items()):
                if cls.__name__ not in self.defs:
                    self.defs[cls.__name__] = self.object(cls, name, variants.tag)
                refs.append({"$ref": f"#/$defs/{cls.__name__}"})
            return {"oneOf": refs}
        if attrs.has(type_):
            return self.ref(type_)
        if type_ is typing.Any:
            return {}
        if type_ == dict[str, Any]:
            return {"type": "object"}
        raise TypeError(f"no JSON Schema for {type_!r}")


def _apply_range(schema: dict[str, Any], low: float | None, high: float | None) -> None:
    if schema.get("type") in ("integer", "number"):
        if low is not None:
            schema["minimum"] = low
        if high is not None:
            schema["maximum"] = high
    for key in ("items",):
        if isinstance(schema.get(key), dict):
            _apply_range(schema[key], low, high)
    for branch in schema.get("oneOf", []):
        _apply_range(branch, low, high)


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a scenario file, with every registered kind."""
    builder = _SchemaBuilder()
    properties: dict[str, Any] = {"network": {**builder.ref(NetworkSpec), "description": "the network"}}
    for kind in NODE_KINDS.values():
        properties[kind.section] = {"type": "array", "description": kind.help, "items": builder.ref(kind.spec)}
    properties["links"] = {"type": "array", "description": "cables between interfaces",
                           "items": builder.ref(LinkSpec)}
    properties["captures"] = {"type": "array", "description": "packet captures",
                              "items": builder.ref(CaptureSpec)}
    app_refs = []
    for kind_name, cls in sorted(APP_KINDS.items()):
        builder.defs[cls.__name__] = builder.object(cls, kind_name)
        app_refs.append({"$ref": f"#/$defs/{cls.__name__}"})
    properties["apps"] = {"type": "array", "description": "applications, by kind", "items": {"oneOf": app_refs}}
    for section in SECTIONS.values():
        properties[section.name] = {**builder.type(section.type), "description": section.help}
    return {
        "$schema": DRAFT,
        "$id": "https://netsim.invalid/scenario.schema.json",
        "title": "netsim scenario",
        "description": "A netsim scenario file (TOML): the network, its nodes, links, captures and apps.",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "$defs": dict(sorted(builder.defs.items())),
    }


# --- the Markdown reference ----------------------------------------------------------------------


def _type_word(type_: Any, low: float | None = None, high: float | None = None) -> str:
    options = _non_none(type_)
    if len(options) > 1:
        return " or ".join(_type_word(option, low, high) for option in options)
    type_ = options[0]
    if type_ in VALUE_TYPES:
        return VALUE_TYPES[type_][0]
    if type_ in _BASIC:
        word = _BASIC[type_][1]
        if type_ in (int, float) and (low is not None or high is not None):
            if low is not None and high is not None:
                word += f" {low:g}..{high:g}"
            elif low is not None:
                word += f" ≥ {low:g}"
            else:
                word += f" ≤ {high:g}"
        return word
    if typing.get_origin(type_) is typing.Literal:
        return " \\| ".join(f'"{choice}"' for choice in _args(type_))
    if _is_tuple(type_):
        element = _args(type_)[0]
        if attrs.has(element):
            return "array of tables"
        return f"array of {_type_word(element, low, high)}"
    if attrs.has(type_) or type_ == dict[str, Any]:
        return "table"
    if type_ is typing.Any:
        return "any value"
    return str(type_)


def _default_word(field: Any) -> str:
    default = field.default
    if default is attrs.NOTHING:
        return "**required**"
    if isinstance(default, attrs.Factory) or default is None:  # type: ignore[arg-type]
        return "—"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if isinstance(default, str):
        return f'`"{default}"`'
    if isinstance(default, tuple):
        return "`[]`" if not default else f"`{list(default)}`"
    if isinstance(default, int):
        return f"`{default:_}`" if default >= 10_000 else f"`{default}`"
    return f"`{default}`"


def _nested(type_: Any) -> tuple[Any, bool] | None:
    """The attrs class a field holds, and whether it is an array of tables."""
    for option in _non_none(type_):
        if attrs.has(option):
            return option, False
        if _is_tuple(option) and attrs.has(_args(option)[0]):
            return _args(option)[0], True
    return None


def _table(cls: Any, header: str, out: list[str], seen: dict[Any, str], *, kind: str | None = None,
           tag: str = "kind", path: str | None = None) -> None:
    if cls in seen:
        out += [f"### `{header}`", "", f"The same keys as `{seen[cls]}`.", ""]
        return
    seen[cls] = header
    doc = (cls.__doc__ or "").strip().split("\n\n")[0]
    doc = " ".join(line.strip() for line in doc.splitlines())
    if doc.startswith("``") and "``: " in doc:
        doc = doc.split("``: ", 1)[1]  # the class doc names its table, which the heading already does
        doc = doc[:1].upper() + doc[1:]
    out += [f"### `{header}`", "", doc, "", "| key | type | default | meaning |", "|---|---|---|---|"]
    if kind is not None:
        what = "the app kind" if tag == "kind" and issubclass(cls, AppSpec) else f"the {tag}"
        out.append(f'| `{tag}` | `"{kind}"` | **required** | {what} |')
    nested = []
    table_path = header.strip("[]") if path is None else path
    for field in _fields(cls):
        low, high = field.metadata.get("min"), field.metadata.get("max")
        word = _type_word(field.type, low, high)
        help_text = field.metadata.get("help", "").replace("|", "\\|")
        out.append(f"| `{field.name}` | {word} | {_default_word(field)} | {help_text} |")
        inner = _nested(field.type)
        if inner is not None:
            nested.append((inner, f"{table_path}.{field.name}"))
    out.append("")
    for (inner_cls, is_array), where in nested:
        _table(inner_cls, f"[[{where}]]" if is_array else f"[{where}]", out, seen)


def format_reference() -> str:
    """The Markdown reference of every table and key: type, default, meaning."""
    out = ["## Tables and keys", ""]
    seen: dict[Any, str] = {}
    _table(NetworkSpec, "[network]", out, seen)
    for kind in NODE_KINDS.values():
        _table(kind.spec, f"[[{kind.section}]]", out, seen)
    _table(LinkSpec, "[[links]]", out, seen)
    _table(CaptureSpec, "[[captures]]", out, seen)
    for kind_name, cls in sorted(APP_KINDS.items()):
        _table(cls, f'[[apps]] kind = "{kind_name}"', out, seen, kind=kind_name)
    for section in SECTIONS.values():
        inner = _nested(section.type)
        if inner is None:
            continue
        header = f"[[{section.name}]]" if inner[1] else f"[{section.name}]"
        if inner[0] in VARIANT_BASES:
            variants = VARIANT_BASES[inner[0]]
            doc = (inner[0].__doc__ or "").strip().split("\n\n")[0]
            out += [f"### `{header}`", "", " ".join(line.strip() for line in doc.splitlines()), ""]
            for name, cls in sorted(variants.classes.items()):
                _table(cls, f'{header} {variants.tag} = "{name}"', out, seen, kind=name, tag=variants.tag,
                       path=section.name)
        else:
            _table(inner[0], header, out, seen)
    out += ["## Value types", "", "| type | written as |", "|---|---|"]
    for word, description, _schema in VALUE_TYPES.values():
        escaped = description.replace("|", "\\|")
        out.append(f"| {word} | {escaped} |")
    return "\n".join(out) + "\n"


BEGIN_MARKER = "<!-- BEGIN GENERATED REFERENCE: python -m netsim.scenario docs/scenario-format.md -->"
END_MARKER = "<!-- END GENERATED REFERENCE -->"


def with_reference(document: str) -> str:
    """``document`` with the text between the reference markers replaced by :func:`format_reference`."""
    start = document.index(BEGIN_MARKER) + len(BEGIN_MARKER)
    end = document.index(END_MARKER)
    return document[:start] + "\n\n" + format_reference() + "\n" + document[end:]
