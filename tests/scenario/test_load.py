"""Loading scenario files: good files load, bad ones report every problem at once, with paths and lines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from netsim.scenario import (
    HostSpec,
    NodeSpec,
    PortInfo,
    Problem,
    ScenarioError,
    SwitchSpec,
    load_scenario,
    load_scenario_text,
    meta,
    register_node_kind,
)
from netsim.scenario.lines import SourceIndex, parse_path
from netsim.scenario.model import NODE_KINDS, Duration
from netsim.sim.network import Network
from netsim.sim.node import Node

DATA = Path(__file__).parent / "data"
EXAMPLES = sorted(DATA.glob("*.toml"))


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, "lab.toml")
    return info.value.problems


def by_path(text: str) -> dict[str, str]:
    problems = problems_of(text)
    found = {problem.path: problem.message for problem in problems}
    assert len(found) == len(problems), problems
    return found


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_load(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.file == str(path)
    assert scenario.nodes and scenario.links


def test_lan_structure() -> None:
    scenario = load_scenario(DATA / "lan.toml")
    assert [(node.KIND, node.name) for node in scenario.nodes] == [
        ("host", "client"), ("host", "server"), ("router", "router"), ("switch", "sw1")]
    client = scenario.node("client")
    assert isinstance(client, HostSpec)
    assert client.settings.ip_local_port_range == "40000-40999"
    assert client.settings.host_kwargs()["ip_local_port_range"] == (40000, 40999)
    assert client.interfaces[0].addresses == ("192.168.1.10/24",)
    assert client.routes[0].via == "192.168.1.1"
    switch = scenario.node("sw1")
    assert isinstance(switch, SwitchSpec)
    assert [port.name for port in switch.port_specs()] == ["p1", "p2", "p3", "p4"]
    assert scenario.network.seed == 7 and scenario.network.event_limit == 5_000_000
    assert scenario.links[2].queue_packets == 100
    assert scenario.apps[0].kind == "ping"
    assert [path for path, _ in scenario.node_paths()] == ["hosts[0]", "hosts[1]", "routers[0]", "switches[0]"]


def test_empty_file_is_an_empty_scenario() -> None:
    scenario = load_scenario_text("")
    assert scenario.nodes == () and scenario.network.seed == 0


BAD = """\
[network]
seed = -1
time_limit = "1 parsec"

[[hosts]]
name = "client"
settings = { ip_local_port_range = "60999-32768", somaxcon = 4096 }

[[hosts.interfaces]]
name = "eth0"
mtu = 9
adresses = ["192.168.1.10/24"]

[[hosts.interfaces]]
name = "eth1"
addresses = ["10.0.0.300/24", "192.168.1.20/25"]

[[hosts.routes]]
prefix = "0.0.0.0/0"
via = "172.16.0.1"

[[hosts]]
name = "client"

[[hosts]]
name = "server"
[[hosts.interfaces]]
name = "eth0"
mtu = "1500"
addresses = ["192.168.1.20/24"]

[[switches]]
name = "sw1"
ports = 3

[[links]]
a = "client:eth1"
b = "sw1:p1"
delay = "-1ms"
loss = 1.5

[[links]]
a = "server:eth0"
b = "sw1:p2"
rate = "fast"

[[links]]
a = "ghost:eth0"
b = "sw1:p9"

[[links]]
a = "client:eth1"
b = "sw1:p3"

[[captures]]
at = "client:eth0"
filter = "tcp prot 9000"
file = "../x.pcap"

[[apps]]
kind = "pnig"
node = "client"
"""


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_of(BAD)
    expected = {
        "network.seed": (2, "-1 is out of range: must be at least 0"),
        "network.time_limit": (3, "bad duration '1 parsec'"),
        "hosts[0].settings.ip_local_port_range": (7, "the low end is above the high end"),
        "hosts[0].settings.somaxcon": (7, "unknown key 'somaxcon' (did you mean 'somaxconn'?)"),
        "hosts[0].interfaces[0].mtu": (11, "9 is out of range: must be 68..65535"),
        "hosts[0].interfaces[0].adresses": (12, "unknown key 'adresses' (did you mean 'addresses'?)"),
        "hosts[0].interfaces[1].addresses[0]": (16, "'10.0.0.300/24' is not an interface address"),
        "hosts[0].routes[0].via": (20, "gateway 172.16.0.1 is not on a connected subnet of client"),
        "hosts[1].name": (23, "duplicate node name 'client' (also hosts[0])"),
        "hosts[2].interfaces[0].mtu": (29, "expected an integer, got '1500' (a string)"),
        "hosts[2].interfaces[0].addresses[0]": (30, "address 192.168.1.20 is also used by client:eth1 on the same L2 "
                                                    "segment"),
        "links[0].delay": (39, "a duration cannot be negative: '-1ms'"),
        "links[0].loss": (40, "1.5 is out of range: must be 0..1"),
        "links[1].rate": (45, "bad rate 'fast'"),
        "links[2].a": (48, "no node named 'ghost'"),
        "links[2].b": (49, "sw1 has no interface 'p9' (it has p1, p2, p3)"),
        "links[3].a": (52, "client:eth1 is already linked by links[0]"),
        "captures[0].filter": (57, "bad filter 'tcp prot 9000'"),
        "captures[0].file": (58, "'../x.pcap' must be a file name relative to the output directory"),
        "apps[0].kind": (61, "unknown app kind 'pnig' (a string) (did you mean 'ping'?)"),
    }
    found = {problem.path: problem for problem in problems}
    assert sorted(found) == sorted(expected)
    assert len(problems) == len(expected)
    for path, (line, message) in expected.items():
        assert message in found[path].message, (path, found[path])
        assert found[path].line == line, (path, found[path])
        assert found[path].file == "lab.toml"
    assert [problem.line for problem in problems] == sorted(problem.line or 0 for problem in problems)
    assert str(found["hosts[0].interfaces[1].addresses[0]"]) == (
        "lab.toml:16: hosts[0].interfaces[1].addresses[0]: '10.0.0.300/24' is not an interface address "
        "(like '192.168.1.10/24' or '2001:db8::10/64')")


def test_toml_syntax_error_has_its_line() -> None:
    [problem] = problems_of('[network]\nseed = 7\ntime_limit = 60s\n')
    assert problem.line == 3 and problem.path == ""
    assert problem.message.startswith("TOML syntax error: ")
    assert str(problem).startswith("lab.toml:3: TOML syntax error")


def test_missing_file_and_bad_encoding(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read the file"):
        load_scenario(tmp_path / "nope.toml")
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b"# caf\xe9\n")
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_scenario(bad)


@pytest.mark.parametrize(("text", "path", "message"), [
    ("[netwrok]\nseed = 1\n", "netwrok", "unknown top-level key 'netwrok' (did you mean 'network'?)"),
    ("hosts = 5\n", "hosts", "expected an array of tables ([[hosts]]), got 5 (an integer)"),
    ("hosts = [5]\n", "hosts[0]", "expected a table, got 5 (an integer)"),
    ("[[hosts]]\nmtu = 1\n", "hosts[0].name", "required key is missing"),
    ("[[hosts]]\nname = 'a b'\n", "hosts[0].name", "is not a node name"),
    ("[[hosts]]\nname = 'a'\n[[hosts.interfaces]]\nname = 'eth0'\nup = 'no'\n", "hosts[0].interfaces[0].up",
     "expected true or false, got 'no' (a string)"),
    ("[[hosts]]\nname = 'a'\n[[hosts.interfaces]]\nname = 'eth0'\nmac = 'zz'\n", "hosts[0].interfaces[0].mac",
     "not a MAC address"),
    ("[[hosts]]\nname = 'a'\n[[hosts.interfaces]]\nname = 'eth0'\naddresses = '10.0.0.1/24'\n",
     "hosts[0].interfaces[0].addresses", "expected an array, got '10.0.0.1/24' (a string)"),
    ("[[hosts]]\nname = 'a'\n[[hosts.interfaces]]\nname = 'eth0'\naddresses = ['10.0.0.1']\n",
     "hosts[0].interfaces[0].addresses[0]", "is not an interface address"),
    ("[[hosts]]\nname = 'a'\n[[hosts.interfaces]]\nname = 'lo'\n", "hosts[0].interfaces[0].name",
     "'lo' is the loopback interface every host already has"),
    ("[[hosts]]\nname = 'a'\n[[hosts.interfaces]]\nname = 'e'\n[[hosts.interfaces]]\nname = 'e'\n",
     "hosts[0].interfaces[1].name", "duplicate interface name 'e'"),
    ("[[hosts]]\nname = 'a'\n[[hosts.routes]]\nprefix = '10.0.0.1/8'\ndev = 'lo'\n", "hosts[0].routes[0].prefix",
     "'10.0.0.1/8' has host bits set: did you mean '10.0.0.0/8'?"),
    ("[[hosts]]\nname = 'a'\n[[hosts.interfaces]]\nname = 'e0'\naddresses = ['10.0.0.1/24']\n"
     "[[hosts.interfaces]]\nname = 'e1'\naddresses = ['10.0.0.129/25']\n", "hosts[0].interfaces[1].addresses[0]",
     "10.0.0.129/25 overlaps 10.0.0.1/24 on e0: the subnets of two interfaces of one node must not overlap"),
    ("[[hosts]]\nname = 'a'\n[[hosts.interfaces]]\nname = 'e0'\naddresses = ['10.0.0.1/24', '10.0.0.1/16']\n",
     "hosts[0].interfaces[0].addresses[1]", "duplicate address 10.0.0.1 (also on e0)"),
    ("[[hosts]]\nname = 'a'\n[[hosts]]\nname = 'b'\n[[hosts]]\nname = 'a'\n", "hosts[2].name",
     "duplicate node name 'a' (also hosts[0])"),
    ("[[hosts]]\nname = 'a'\n[[hosts.interfaces]]\nname = 'e0'\naddresses = ['10.0.0.1/24']\n"
     "[[hosts.routes]]\nprefix = '0.0.0.0/0'\nvia = '10.0.1.1'\n", "hosts[0].routes[0].via",
     "gateway 10.0.1.1 is not on a connected subnet of a (10.0.0.0/24)"),
    ("[[hosts]]\nname = 'a'\n[[hosts.routes]]\nprefix = '10.0.0.0/8'\n", "hosts[0].routes[0]",
     "needs a gateway (via) or an interface (dev)"),
    ("[[hosts]]\nname = 'a'\n[[hosts.routes]]\nprefix = '10.0.0.0/8'\ndev = 'eth9'\n", "hosts[0].routes[0].dev",
     "a has no interface 'eth9'"),
    ("[[hosts]]\nname = 'a'\n[[hosts.routes]]\nprefix = '10.0.0.0/8'\ndev = 'lo'\nsrc = '1.2.3.4'\n",
     "hosts[0].routes[0].src", "1.2.3.4 is not an address of a"),
    ("[[hosts]]\nname = 'a'\n[[hosts.routes]]\nprefix = '2001:db8::1/64'\ndev = 'lo'\n", "hosts[0].routes[0].prefix",
     "'2001:db8::1/64' has host bits set: did you mean '2001:db8::/64'?"),
    ("[[hosts]]\nname = 'a'\n[[hosts.interfaces]]\nname = 'e0'\naddresses = ['2001:db8::1/64']\n"
     "[[hosts.routes]]\nprefix = '::/0'\nvia = '10.0.0.1'\n", "hosts[0].routes[0].via",
     "10.0.0.1 is an IPv4 address, but the prefix ::/0 is IPv6"),
    ("[[hosts]]\nname = 'a'\n[[hosts.interfaces]]\nname = 'e0'\naddresses = ['2001:db8::1/64']\n"
     "[[hosts.routes]]\nprefix = '::/0'\nvia = 'fe80::1'\n", "hosts[0].routes[0].dev",
     "the link-local gateway fe80::1 needs an interface (dev)"),
    ("[[hosts]]\nname = 'a'\n[[hosts.interfaces]]\nname = 'e0'\naddresses = ['2001:db8::1/64']\n"
     "[[hosts.routes]]\nprefix = '::/0'\nvia = '2001:db8:1::1'\n", "hosts[0].routes[0].via",
     "gateway 2001:db8:1::1 is not on a connected subnet of a (2001:db8::/64)"),
    ("[[hosts]]\nname = 'a'\n[[hosts.routes]]\nprefix = '::/0'\nvia = 'gw'\n", "hosts[0].routes[0].via",
     "'gw' is not an IPv4 or IPv6 address"),
    ("[[apps]]\nkind = 'ping'\nnode = 'h'\ndestination = '10.0.0.1%eth0'\n", "apps[0].destination",
     "only an IPv6 address takes a zone"),
    ("[[hosts]]\nname = 'a'\n[[hosts.routes]]\nprefix = '::/0'\nvia = 'fe80::1%eth0'\n", "hosts[0].routes[0].via",
     "a route's address takes no zone"),
    ("[[hosts]]\nname = 'a'\n[[hosts.interfaces]]\nname = 'e0'\nipv6_advertise = true\n",
     "hosts[0].interfaces[0].ipv6_advertise", "only a router advertises itself as one"),
    ("[[routers]]\nname = 'r'\n[[routers.interfaces]]\nname = 'e0'\nipv6_autoconf = true\n",
     "routers[0].interfaces[0].ipv6_autoconf", "a router takes no router advertisements"),
    ("[[routers]]\nname = 'r'\n[[timeline]]\nat = '1s'\naction = 'autoconf'\nhost = 'r'\ninterface = 'e0'\n",
     "timeline[0].host", "a router takes no router advertisements"),
    ("[[hosts]]\nname = 'a'\nsettings = { ttl = 0 }\n", "hosts[0].settings.ttl", "0 is out of range: must be 1..255"),
    ("[[hosts]]\nname = 'a'\nsettings = { ip_local_port_range = '1-99999' }\n",
     "hosts[0].settings.ip_local_port_range", "ports are 1..65535"),
    ("[[switches]]\nname = 's'\nports = 'many'\n", "switches[0].ports",
     "expected an integer or an array, got 'many' (a string)"),
    ("[[switches]]\nname = 's'\n[[switches.ports]]\nname = 'p1'\nmode = 'trunc'\n", "switches[0].ports[0].mode",
     "'trunc' (a string) is not one of 'access', 'trunk' (did you mean 'trunk'?)"),
    ("[[switches]]\nname = 's'\n[[switches.ports]]\nname = 'p1'\nvlan = 4095\n", "switches[0].ports[0].vlan",
     "4095 is out of range: must be 1..4094"),
    ("[[switches]]\nname = 's'\n[[switches.ports]]\nname = 'p1'\nnative = 5\n", "switches[0].ports[0]",
     "'vlans' and 'native' are for trunk ports"),
    ("[[hosts]]\nname = 'a'\n[[hosts.interfaces]]\nname = 'e'\n[[links]]\na = 'a:e'\nb = 'a:e'\n", "links[0]",
     "a link cannot join a:e to itself"),
    ("[[hosts]]\nname = 'a'\n[[links]]\na = 'a:lo'\nb = 'a:lo'\n", "links[0].a",
     "a:lo is the loopback interface; it cannot be linked"),
    ("[[links]]\na = 'x'\nb = 'y:e'\n", "links[0].a", "'x' is not an interface as 'node:interface'"),
    ("[[links]]\na = 'x:e'\nb = 'y:e'\nburst_loss = { p = 0.1 }\n", "links[0].burst_loss.r", "required key is missing"),
    ("[[links]]\na = 'x:e'\nb = 'y:e'\nqueue_bytes = -5\n", "links[0].queue_bytes", "a size cannot be negative"),
    ("[[captures]]\nat = []\n", "captures[0].at", "expected 'node:interface' or a non-empty array of them"),
    ("[[captures]]\nat = 'a:e'\nfile = '/etc/passwd'\n", "captures[0].file", "must be a file name relative"),
    ("[[captures]]\nat = 'a:e'\ndirection = 'up'\n", "captures[0].direction", "is not one of 'both', 'in', 'out'"),
    ("[[apps]]\nnode = 'a'\n", "apps[0].kind", "required key is missing: the app kind"),
    ("[[switches]]\nname = 's'\n[[apps]]\nkind = 'ping'\nnode = 's'\ndestination = '1.2.3.4'\n", "apps[0].node",
     "apps run on hosts and routers; 's' is a switch"),
    ("[[apps]]\nkind = 'ping'\nnode = 'h'\ndestination = '1.2.3.4'\ncount = 0\n", "apps[0].count",
     "0 is out of range: must be at least 1"),
    ("[network]\nstart = 1980-01-01\n", "network.start", "unknown key 'start'"),
])
def test_single_mistakes(text: str, path: str, message: str) -> None:
    found = by_path(text)
    assert path in found, found
    assert message in found[path], found


def test_problems_in_broken_nodes_do_not_cascade() -> None:
    """A node whose entry cannot be structured at all is not reported again as missing."""
    found = by_path("[[hosts]]\nname = 'a'\ninterfaces = 5\n[[links]]\na = 'a:eth0'\nb = 'a:eth1'\n")
    assert list(found) == ["hosts[0].interfaces"]


def test_segments_through_vlans() -> None:
    """The same address twice on one switch is an error only within one VLAN."""
    base = """
[[hosts]]
name = "a"
[[hosts.interfaces]]
name = "eth0"
addresses = ["10.0.0.1/24"]
[[hosts]]
name = "b"
[[hosts.interfaces]]
name = "eth0"
addresses = ["10.0.0.1/24"]
[[switches]]
name = "s"
[[switches.ports]]
name = "p1"
vlan = 10
[[switches.ports]]
name = "p2"
vlan = VLAN
[[links]]
a = "a:eth0"
b = "s:p1"
[[links]]
a = "b:eth0"
b = "s:p2"
"""
    load_scenario_text(base.replace("VLAN", "20"))
    found = by_path(base.replace("VLAN", "10"))
    assert found == {"hosts[1].interfaces[0].addresses[0]":
                     "address 10.0.0.1 is also used by a:eth0 on the same L2 segment"}


def test_different_subnets_on_one_segment_are_fine() -> None:
    load_scenario_text("""
[[hosts]]
name = "a"
interfaces = [{ name = "eth0", addresses = ["10.0.0.1/24"] }]
[[hosts]]
name = "b"
interfaces = [{ name = "eth0", addresses = ["10.0.1.1/24"] }]
[[links]]
a = "a:eth0"
b = "b:eth0"
""")


# --- line numbers ------------------------------------------------------------------------------

SOURCE = """\
[network]
seed = 1

[[hosts]]
name = "a"
settings = { ttl = 0 }   # inline table

[[hosts.interfaces]]
name = "eth0"

[[hosts]]
name = "b"
[[hosts.interfaces]]
name = "eth0"
[[hosts.interfaces]]
name = "eth1"
mtu = 9
[[hosts.routes]]
prefix = "0.0.0.0/0"

[[links]]
a = "a:eth0"
"""


@pytest.mark.parametrize(("path", "line"), [
    ("network", 1), ("network.seed", 2), ("network.time_limit", 1), ("hosts[0]", 4), ("hosts[0].name", 5),
    ("hosts[0].settings.ttl", 6), ("hosts[0].interfaces[0].name", 9), ("hosts[1].name", 12),
    ("hosts[1].interfaces[1].mtu", 17), ("hosts[1].interfaces[1].addresses[0]", 15), ("hosts[1].routes[0].via", 18),
    ("links[0].b", 21), ("links[1]", None), ("captures[0].at", None), ("", None),
])
def test_line_numbers(path: str, line: int | None) -> None:
    assert SourceIndex(SOURCE).locate(path) == line


def test_parse_path() -> None:
    assert parse_path("hosts[2].interfaces[0].addresses[1]") == ["hosts", 2, "interfaces", 0, "addresses", 1]


# --- registries --------------------------------------------------------------------------------


@pytest.fixture
def hub_kind() -> Iterator[type[NodeSpec]]:
    """A new node kind registered for one test: a hub that repeats frames (built as a switch)."""

    @attrs.frozen(kw_only=True)
    class HubSpec(NodeSpec):
        """``[[hubs]]``: a repeater."""

        ports: int = attrs.field(default=2, metadata=meta("number of ports", min=2, max=64))

        def port_info(self) -> tuple[PortInfo, ...]:
            return tuple(PortInfo(f"h{i}", "ports") for i in range(1, self.ports + 1))

        def check(self, scenario: object) -> Iterator[tuple[str, str]]:
            if self.name.startswith("x"):
                yield "name", "hub names may not start with x"

        def build(self, network: Network) -> Node:
            from netsim.sim.switch import Switch

            return Switch(network, self.name, ports=[f"h{i}" for i in range(1, self.ports + 1)])

    register_node_kind("hub", "hubs", "repeaters")(HubSpec)
    try:
        yield HubSpec
    finally:
        del NODE_KINDS["hub"]


def test_a_registered_node_kind_needs_no_loader_change(hub_kind: type[NodeSpec]) -> None:
    text = """
[[hubs]]
name = "hub1"
ports = 3
[[hosts]]
name = "a"
interfaces = [{ name = "eth0", addresses = ["10.0.0.1/24"] }]
[[links]]
a = "a:eth0"
b = "hub1:h3"
"""
    scenario = load_scenario_text(text)
    assert isinstance(scenario.node("hub1"), hub_kind)
    found = by_path(text.replace('"hub1"', '"xhub"').replace("ports = 3", "ports = 1\nspeed = 3"))
    assert found == {"hubs[0].speed": "unknown key 'speed'", "hubs[0].name": "hub names may not start with x",
                     "hubs[0].ports": "1 is out of range: must be 2..64",
                     "links[0].b": "no node named 'hub1' (did you mean 'xhub'?)"}


def test_registering_a_taken_section_fails() -> None:
    with pytest.raises(ValueError, match="already taken"):
        register_node_kind("other-host", "hosts", "no")(HostSpec)
    with pytest.raises(TypeError):
        register_node_kind("thing", "things", "no")(int)  # type: ignore[type-var]


@attrs.frozen(kw_only=True)
class _Action:
    """``[[stand_in]]``: one action (a stand-in for a registered section)."""

    at: Duration = attrs.field(metadata=meta("when"))
    do: str = attrs.field(metadata=meta("what"))


def test_a_registered_section_is_structured_and_checked() -> None:
    from netsim.scenario import register_section, scenario_json_schema
    from netsim.scenario.model import SECTIONS

    register_section("stand_in", tuple[_Action, ...], "actions in time order", tuple)
    try:
        scenario = load_scenario_text('[[stand_in]]\nat = "1s"\ndo = "x"\n')
        assert scenario.sections["stand_in"] == (_Action(at=Duration("1s"), do="x"),)
        assert load_scenario_text("").sections["stand_in"] == ()
        found = by_path('[[stand_in]]\nat = "1 parsec"\ndo = "x"\nwhen = 1\n')
        assert set(found) == {"stand_in[0].at", "stand_in[0].when"}
        assert scenario_json_schema()["properties"]["stand_in"]["items"] == {"$ref": "#/$defs/_Action"}
    finally:
        del SECTIONS["stand_in"]
