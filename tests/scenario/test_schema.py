"""The JSON Schema and the format reference are generated from the classes, and agree with them."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import attrs
import pytest

from netsim.scenario import format_reference, scenario_json_schema
from netsim.scenario.model import APP_KINDS, NODE_KINDS, HostSpec, InterfaceSpec, LinkSpec
from netsim.scenario.schema import BEGIN_MARKER, END_MARKER, with_reference

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"
EXAMPLES = sorted(DATA.glob("*.toml"))


def test_schema_structure() -> None:
    schema = scenario_json_schema()
    json.dumps(schema)  # plain JSON
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    sections = {"network", "links", "captures", "apps"} | {kind.section for kind in NODE_KINDS.values()}
    assert sections <= set(schema["properties"])
    defs = schema["$defs"]
    for name, definition in defs.items():
        assert definition["additionalProperties"] is False, name
        assert definition["type"] == "object"
    interface = defs["InterfaceSpec"]
    assert interface["required"] == ["name"]
    assert interface["properties"]["mtu"] == {"type": "integer", "minimum": 68, "maximum": 65535, "default": 1500,
                                              "description": "MTU in bytes"}
    assert [field.name for field in attrs.fields(InterfaceSpec)] == list(interface["properties"])
    assert defs["LinkSpec"]["properties"]["loss"]["maximum"] == 1
    assert defs["LinkSpec"]["properties"]["burst_loss"]["$ref"] == "#/$defs/GilbertElliottSpec"
    assert set(defs["LinkSpec"]["required"]) == {"a", "b"}
    assert defs["SwitchPortSpec"]["properties"]["mode"]["enum"] == ["access", "trunk"]
    ports = defs["SwitchSpec"]["properties"]["ports"]["oneOf"]
    assert ports[0] == {"type": "integer", "minimum": 0, "maximum": 4096}
    assert ports[1]["items"] == {"$ref": "#/$defs/SwitchPortSpec"}
    app_refs = schema["properties"]["apps"]["items"]["oneOf"]
    assert len(app_refs) == len(APP_KINDS)
    assert defs["PingApp"]["properties"]["kind"]["const"] == "ping"
    assert "kind" in defs["PingApp"]["required"] and "destination" in defs["PingApp"]["required"]
    assert all(prop.get("description") for prop in defs["HostSettings"]["properties"].values())


def test_every_field_has_help() -> None:
    seen: set[Any] = set()

    def walk(cls: Any) -> None:
        if cls in seen:
            return
        seen.add(cls)
        for field in attrs.fields(attrs.resolve_types(cls)):
            assert field.metadata.get("help"), f"{cls.__name__}.{field.name} has no help"
            for inner in [field.type, *getattr(field.type, "__args__", ())]:
                for candidate in [inner, *getattr(inner, "__args__", ())]:
                    if attrs.has(candidate):
                        walk(candidate)

    for cls in [kind.spec for kind in NODE_KINDS.values()] + list(APP_KINDS.values()) + [LinkSpec, HostSpec]:
        walk(cls)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_match_the_schema(path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    data = tomllib.loads(path.read_text())
    jsonschema.Draft202012Validator.check_schema(scenario_json_schema())
    jsonschema.Draft202012Validator(scenario_json_schema()).validate(data)


def test_schema_rejects_what_the_loader_rejects() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(scenario_json_schema())
    bad: dict[str, Any]
    for bad in ({"hosts": [{"name": "a", "mtu": 1}]}, {"links": [{"a": "x:e", "b": "y:e", "loss": 2}]},
                {"apps": [{"kind": "pnig", "node": "a"}]}, {"netwrok": {}},
                {"switches": [{"name": "s", "ports": [{"name": "p1", "mode": "trunc"}]}]}):
        assert not validator.is_valid(bad), bad


def test_reference_doc_is_in_sync() -> None:
    doc = (ROOT / "docs" / "scenario-format.md").read_text(encoding="utf-8")
    assert BEGIN_MARKER in doc and END_MARKER in doc
    assert doc == with_reference(doc), "run: python -m netsim.scenario docs/scenario-format.md"


def test_reference_lists_every_key() -> None:
    text = format_reference()
    for cls in [kind.spec for kind in NODE_KINDS.values()] + list(APP_KINDS.values()) + [LinkSpec]:
        for field in attrs.fields(cls):
            assert f"| `{field.name}` |" in text
    assert "### `[[hosts.interfaces]]`" in text and "### `[links.burst_loss]`" in text
    assert '### `[[apps]] kind = "ping"`' in text
    assert "| `mtu` | integer 68..65535 | `1500` | MTU in bytes |" in text
    assert "### `[[routers.interfaces]]`\n\nThe same keys as `[[hosts.interfaces]]`." in text
