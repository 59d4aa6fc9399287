"""Hypothesis: whatever a file holds, loading raises nothing but ScenarioError, and what loads builds."""

from __future__ import annotations

import json
import tempfile
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netsim.scenario import ScenarioError, build_network, load_scenario_data, load_scenario_text
from netsim.scenario.model import APP_KINDS, NODE_KINDS, CaptureSpec, GilbertElliottSpec, LinkSpec, SwitchPortSpec

KEYS = sorted({field.name for cls in [*[k.spec for k in NODE_KINDS.values()], *APP_KINDS.values(), LinkSpec,
                                      CaptureSpec, GilbertElliottSpec, SwitchPortSpec]
               for field in attrs.fields(cls)}
              | {"kind", "network", "links", "captures", "apps", "seed", "time_limit", "settings", "ttl",
                 "ip_local_port_range", "mtu", "addresses", "prefix", "via", "dev",
                 *(k.section for k in NODE_KINDS.values())}
              | {"zzz", "Name"})
TEXTS = ["a", "b", "sw", "a:eth0", "b:eth0", "sw:p1", "sw:p2", "eth0", "p1", "1ms", "-1ms", "1 parsec", "100Mbps",
         "64KiB", "10.0.0.1/24", "10.0.0.2/24", "10.0.0.1", "10.0.0.0/24", "0.0.0.0/0", "10.0.0.300/24",
         "02:00:00:00:00:01", "1-2", "9-1", "tcp port 9", "tcp prot", "ping", "udp-echo-server", "traceroute",
         "access", "trunk", "x.pcap", "../x", "", "é", "a b"]

scalars = st.one_of(
    st.sampled_from(TEXTS), st.text(max_size=5), st.integers(-5, 70000), st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)),
    max_leaves=25,
)
node = st.fixed_dictionaries(
    {"name": st.sampled_from(["a", "b", "sw"])},
    optional={
        "interfaces": st.lists(st.fixed_dictionaries({"name": st.sampled_from(["eth0", "eth1"])},
                                                     optional={"addresses": st.lists(st.sampled_from(TEXTS[14:20]),
                                                                                     max_size=2),
                                                               "mtu": st.integers(0, 9000)}), max_size=2),
        "routes": st.lists(st.dictionaries(st.sampled_from(["prefix", "via", "dev"]), st.sampled_from(TEXTS)),
                           max_size=2),
        "ports": st.integers(0, 3),
        "settings": st.dictionaries(st.sampled_from(["ttl", "ip_local_port_range", "zzz"]), scalars),
    },
)
documents = st.dictionaries(
    st.sampled_from(["network", "hosts", "routers", "switches", "links", "captures", "apps", "zzz"]),
    st.one_of(values, st.lists(node, max_size=3),
              st.lists(st.dictionaries(st.sampled_from(KEYS), st.one_of(scalars, values), max_size=6), max_size=3)),
    max_size=6,
)


def to_toml(data: dict[str, Any]) -> str:
    """Each top-level key on one line, as an inline value (enough TOML for the loader's purposes)."""

    def value(item: Any) -> str:
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, int | float):
            return repr(item)
        if isinstance(item, str):
            return json.dumps(item)
        if isinstance(item, list):
            return "[" + ", ".join(value(element) for element in item) + "]"
        return "{" + ", ".join(f"{json.dumps(k)} = {value(v)}" for k, v in item.items()) + "}"

    return "\n".join(f"{json.dumps(key)} = {value(item)}" for key, item in data.items()) + "\n"


def check_loads_or_reports(load: Any, lines: int) -> None:
    try:
        scenario = load()
    except ScenarioError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.message
            assert problem.line is None or 1 <= problem.line <= max(lines, 1)
        return
    with tempfile.TemporaryDirectory() as directory:
        network, built = build_network(scenario, output_dir=directory)
        network.run(until="50ms")
        built.close()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_any_data_loads_or_reports(data: dict[str, Any]) -> None:
    check_loads_or_reports(lambda: load_scenario_data(data), 0)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_any_toml_text_loads_or_reports(data: dict[str, Any]) -> None:
    text = to_toml(data)
    check_loads_or_reports(lambda: load_scenario_text(text), text.count("\n"))


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="[]{}=\"'.,#\n abc123:_-", max_size=60))
def test_any_text_loads_or_reports(text: str) -> None:
    check_loads_or_reports(lambda: load_scenario_text(text), text.count("\n") + 1)


ENDPOINTS = ["a:eth0", "a:eth1", "b:eth0", "b:eth1", "r:eth0", "r:eth1", "sw:p1", "sw:p2", "sw:p3", "a:lo"]
ADDRESSES = ["10.0.0.1/24", "10.0.0.2/24", "10.0.1.1/24", "10.0.1.2/24", "10.0.0.3/25", "10.0.1.1/30",
             "10.0.2.1/24"]


def mostly(good: list[Any], bad: list[Any]) -> st.SearchStrategy[Any]:
    """``good`` values nine times in ten: a topology with one mistake at most, usually none."""
    return st.sampled_from(good * 9 + bad)


def interface(name: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"name": mostly([name], ["eth0"])}, optional={
        "addresses": st.lists(st.sampled_from(ADDRESSES), max_size=2, unique=True),
        "mtu": mostly([576, 1500, 9000], [67]),
        "up": mostly([True], [False]),
    })


ip_node = st.fixed_dictionaries({"interfaces": st.tuples(interface("eth0"), interface("eth1")).map(list)}, optional={
    "routes": st.lists(st.fixed_dictionaries(
        {"prefix": st.sampled_from(["0.0.0.0/0", "10.0.1.0/24"]),
         "via": mostly(["10.0.0.1", "10.0.0.2", "10.0.1.1"], ["192.0.2.1"])},
        optional={"metric": st.integers(0, 3)}), max_size=2),
    "settings": st.fixed_dictionaries({}, optional={"ttl": mostly([1, 64, 255], [0, 256]),
                                                    "ip_local_port_range": mostly(["1-2", "1000-2000"], ["9-1"])}),
})
link = st.fixed_dictionaries({}, optional={
    "rate": mostly(["10Mbps", "1Gbps"], ["0bps"]), "delay": mostly(["0s", "1ms"], ["-1ms"]),
    "loss": mostly([0, 0.5, 1], [1.5]), "queue_packets": mostly([1, 3], [0]),
    "queue_bytes": st.sampled_from([0, 100, "1KiB"]),
    "burst_loss": st.fixed_dictionaries({"p": st.sampled_from([0.1, 1.0]), "r": st.sampled_from([0.0, 0.5])}),
    "duplicate": st.sampled_from([0, 0.5]), "reorder": st.sampled_from([0, 0.5]), "corrupt": st.sampled_from([0, 0.5]),
    "up": mostly([True], [False]),
})
topologies = st.fixed_dictionaries({
    "network": st.fixed_dictionaries({"seed": st.integers(0, 3)}),
    "hosts": st.lists(ip_node, min_size=2, max_size=2).map(lambda hs: [{"name": n, **h} for n, h in zip("ab", hs,
                                                                                                      strict=True)]),
    "routers": st.lists(ip_node, min_size=1, max_size=1).map(lambda rs: [{"name": "r", **r} for r in rs]),
    "switches": st.lists(st.fixed_dictionaries({"name": st.just("sw"), "ports": mostly([3], [2])}), min_size=1,
                         max_size=1),
    "links": st.tuples(st.permutations(ENDPOINTS),
                       st.lists(link, max_size=4)).map(
        lambda pair: [{**each, "a": pair[0][2 * i], "b": pair[0][2 * i + 1]} for i, each in enumerate(pair[1])]),
}, optional={
    "captures": st.lists(st.fixed_dictionaries({"at": st.sampled_from(ENDPOINTS[:-1])}, optional={
        "filter": st.sampled_from(["", "icmp", "arp or udp"]), "file": st.sampled_from(["c.pcap", "d/c.pcapng"]),
        "pcapng": st.booleans(), "direction": st.sampled_from(["in", "out", "both"])}), max_size=2),
    "apps": st.lists(st.fixed_dictionaries({"kind": st.just("ping"), "node": mostly(["a", "b", "r"], ["sw"]),
                                            "destination": st.sampled_from(["10.0.0.1", "10.0.1.2", "10.0.0.255"]),
                                            "count": st.integers(1, 2), "interval": st.just("10ms")}), max_size=2),
})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topologies)
def test_what_loads_builds_and_runs(data: dict[str, Any]) -> None:
    """Near-valid topologies: every mistake is caught by the loader, never by the simulator."""
    check_loads_or_reports(lambda: load_scenario_data(data), 0)
