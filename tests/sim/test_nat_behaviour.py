"""NAT behaviour seen from applications: UDP hole punching between every pair of presets
(RFC 5128 §3.3) against an RFC 4787 predictor, and an RFC 5780 behaviour-discovery probe.

Both tables in docs/nat.md are computed here, and a test checks the doc says exactly that.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from pathlib import Path
from typing import Any

import attrs
import pytest

from netsim.proto.nat import PRESETS, Filtering, Mapping, NatBehaviour, PortAssignment
from netsim.sim.network import Network
from netsim.units import MS
from tests.sim.nat_topologies import NAT2_OUTSIDE, NAT_OUTSIDE, SERVER, stun_network, two_nats

Process = Generator[Any, Any, Any]
NAMES = list(PRESETS)
DOC = Path(__file__).parents[2] / "docs" / "nat.md"
RENDEZVOUS_PORT = 3478
PUNCH_PORT = 5000

# --- hole punching (RFC 5128 §3.3) ----------------------------------------------------------------


def rendezvous(server: Any, *, peers: int = 2) -> Process:
    """The public server: each client says ``REGISTER <name>``; once all have, each is told the
    other's endpoint *as the server saw it* (its NAT's mapping): ``PEER <ip> <port>``."""
    sock = server.socket("udp")
    sock.bind(("0.0.0.0", RENDEZVOUS_PORT))
    seen: dict[str, tuple[str, int]] = {}
    while len(seen) < peers:
        data, sender = yield sock.recvfrom(100)
        seen[data.decode().split()[1]] = sender
    for name, endpoint in seen.items():
        for other, peer in seen.items():
            if other != name:
                yield sock.sendto(f"PEER {peer[0]} {peer[1]}".encode(), endpoint)
    sock.close()
    return seen


@attrs.define
class PunchResult:
    peer: tuple[str, int]  # the peer's endpoint as the rendezvous server saw it
    received: list[tuple[bytes, tuple[str, int]]] = attrs.field(factory=list)

    def got(self, kind: str) -> bool:
        return any(data.startswith(kind.encode()) for data, _ in self.received)


def punch_client(host: Any, name: str, *, rounds: int = 10, interval: int = 100 * MS) -> Process:
    """RFC 5128 §3.3: register, learn the peer's public endpoint, then send ``PUNCH`` to it every
    ``interval``; answer every PUNCH with an ``ACK`` to the address it came from (the peer's
    "peer-reflexive" endpoint, as ICE does), so a hole opened one way is used both ways."""
    env = host.network.env
    sock = host.socket("udp")
    sock.bind(("0.0.0.0", PUNCH_PORT))
    yield sock.sendto(f"REGISTER {name}".encode(), (SERVER, RENDEZVOUS_PORT))
    data, _server = yield sock.recvfrom(100)
    _, ip, port = data.decode().split()
    result = PunchResult((ip, int(port)))

    def receive() -> Process:
        while True:
            try:
                data, sender = yield sock.recvfrom(100)
            except OSError:  # closed: done
                return
            result.received.append((data, sender))
            if data.startswith(b"PUNCH"):
                yield sock.sendto(f"ACK {name}".encode(), sender)

    env.process(receive())
    for i in range(rounds):
        yield sock.sendto(f"PUNCH {name} {i}".encode(), result.peer)
        yield env.timeout(interval)
    sock.close()
    return result


def effectively_endpoint_independent(b: NatBehaviour) -> bool:
    """Whether an inside endpoint keeps one outside endpoint for every remote.  Linux's
    masquerade is address-and-port-dependent *by configuration*, but keeps the inside port for
    every remote as long as the reply tuple it makes is unused (port overloading), so with one
    client per port it behaves as endpoint-independent."""
    return b.mapping is Mapping.ENDPOINT_INDEPENDENT or (
        b.port_overloading and b.port_assignment in (PortAssignment.PRESERVE, PortAssignment.PRESERVE_RANDOM))


def punch_gets_in(sender: NatBehaviour, receiver: NatBehaviour) -> bool:
    """Phase 1: does a PUNCH sent to the receiver's *observed* endpoint get through the
    receiver's NAT, once the receiver has punched towards the sender's observed endpoint?

    The packet leaves the sender's NAT from the observed endpoint iff the sender's mapping is
    (effectively) endpoint-independent, else from a fresh port.  At the receiver's NAT it
    matches an entry exactly iff the receiver also sends from its observed endpoint (EIM) to
    that very endpoint; otherwise its filtering decides (RFC 4787 §5): endpoint-independent
    lets it in; address-dependent lets it in iff the observed mapping has already sent to the
    sender's *address* — true when the receiver's mapping is endpoint-independent (its punches
    use that mapping); address-and-port-dependent never does.
    """
    exact = effectively_endpoint_independent(sender) and effectively_endpoint_independent(receiver)
    if exact or receiver.filtering is Filtering.ENDPOINT_INDEPENDENT:
        return True
    return receiver.filtering is Filtering.ADDRESS_DEPENDENT and effectively_endpoint_independent(receiver)


def reply_gets_in(replier: NatBehaviour, asker: NatBehaviour) -> bool:
    """Phase 2: the replier got a PUNCH from the asker's NAT port m and answers to m.  The
    asker's entry m -> (replier's observed endpoint) matches exactly iff the reply leaves from
    the observed endpoint (replier EIM); otherwise the asker's filtering must admit another
    port (EIF) or it only checks the address (ADF: the asker has sent to that address)."""
    return (effectively_endpoint_independent(replier)
            or asker.filtering in (Filtering.ENDPOINT_INDEPENDENT, Filtering.ADDRESS_DEPENDENT))


@attrs.frozen
class Outcome:
    a_got_punch: bool
    b_got_punch: bool
    a_got_any: bool
    b_got_any: bool

    @property
    def success(self) -> bool:
        return self.a_got_any and self.b_got_any

    def cell(self) -> str:
        if not self.success:
            return "no"
        return "yes" if self.a_got_punch and self.b_got_punch else "yes (1)"


def predict(a: NatBehaviour, b: NatBehaviour) -> Outcome:
    """What RFC 4787 mapping and filtering say hole punching between A and B does."""
    a_punch, b_punch = punch_gets_in(b, a), punch_gets_in(a, b)
    a_any = a_punch or (b_punch and reply_gets_in(b, a))
    b_any = b_punch or (a_punch and reply_gets_in(a, b))
    return Outcome(a_punch, b_punch, a_any, b_any)


def simulate_punch(a: str, b: str) -> tuple[Outcome, PunchResult, PunchResult, dict[str, tuple[str, int]]]:
    net, lan_a, lan_b, server = two_nats(a, b)
    seen_h = net.process(rendezvous(server))
    ha = net.process(punch_client(lan_a.hosts[0], "a"))
    hb = net.process(punch_client(lan_b.hosts[0], "b"))
    net.run("5s")
    ra, rb = ha.value, hb.value
    outcome = Outcome(ra.got("PUNCH b"), rb.got("PUNCH a"), ra.got("PUNCH b") or ra.got("ACK b"),
                      rb.got("PUNCH a") or rb.got("ACK a"))
    return outcome, ra, rb, seen_h.value


def matrix_markdown(cells: dict[tuple[str, str], Outcome]) -> str:
    lines = ["| A \\ B | " + " | ".join(NAMES) + " |", "|---|" + "---|" * len(NAMES)]
    for a in NAMES:
        lines.append(f"| {a} | " + " | ".join(cells[a, b].cell() for b in NAMES) + " |")
    return "\n".join(lines)


def _doc_block(name: str) -> str:
    text = DOC.read_text()
    match = re.search(rf"<!-- {name}:begin -->\n(.*?)\n<!-- {name}:end -->", text, re.S)
    assert match, f"docs/nat.md has no {name} block"
    return match.group(1)


@pytest.mark.parametrize("b", NAMES)
@pytest.mark.parametrize("a", NAMES)
def test_hole_punching_outcome_is_what_rfc_4787_predicts(a: str, b: str) -> None:
    outcome, ra, rb, seen = simulate_punch(a, b)
    # the rendezvous server saw each client as its NAT's outside address
    assert seen["a"][0] == NAT_OUTSIDE and seen["b"][0] == NAT2_OUTSIDE
    assert ra.peer == seen["b"] and rb.peer == seen["a"]
    assert outcome == predict(PRESETS[a], PRESETS[b])


def test_hole_punching_predictions_named_in_the_issue() -> None:
    cone = ("full-cone", "restricted-cone", "port-restricted-cone")
    for x in cone:
        for y in cone:
            assert predict(PRESETS[x], PRESETS[y]).success
    for x, y, ok in (("symmetric", "port-restricted-cone", False), ("symmetric", "symmetric", False),
                     ("symmetric", "full-cone", True), ("symmetric", "restricted-cone", True)):
        assert predict(PRESETS[x], PRESETS[y]).success is ok
        assert predict(PRESETS[y], PRESETS[x]).success is ok


def test_symmetric_with_restricted_cone_goes_through_on_the_reply() -> None:
    outcome, _ra, rb, _seen = simulate_punch("symmetric", "restricted-cone")
    # the restricted cone's punches hit the symmetric NAT's filter; the symmetric side's punches
    # come from a new port but the same address, which the restricted cone has sent to
    assert (outcome.a_got_punch, outcome.b_got_punch) == (False, True)
    punch_sources = {sender for data, sender in rb.received if data.startswith(b"PUNCH")}
    assert len(punch_sources) == 1
    (source,) = punch_sources
    assert source[0] == NAT_OUTSIDE and source != rb.peer  # a new mapping on the same address
    assert outcome.success


def test_hole_punching_matrix_in_the_docs_is_the_computed_one() -> None:
    computed = {(a, b): predict(PRESETS[a], PRESETS[b]) for a in NAMES for b in NAMES}
    assert _doc_block("hole-punching-matrix") == matrix_markdown(computed)


# --- RFC 5780 behaviour discovery ----------------------------------------------------------------

PRIMARY = ("203.0.113.10", 3478)
ALTERNATE = ("203.0.113.11", 3479)


def stun_server(server: Any) -> Process:
    """A STUN-like server (RFC 5780 §3) on two addresses and two ports: each request
    ``BIND <change-ip> <change-port>`` is answered ``MAPPED <ip> <port>`` (the source it came
    from) from the socket the CHANGE-REQUEST flags select."""
    env = server.network.env
    socks = {}
    for ip in (PRIMARY[0], ALTERNATE[0]):
        for port in (PRIMARY[1], ALTERNATE[1]):
            sock = server.socket("udp")
            sock.bind((ip, port))
            socks[ip, port] = sock

    def serve(ip: str, port: int) -> Process:
        sock = socks[ip, port]
        while True:
            data, sender = yield sock.recvfrom(100)
            _, change_ip, change_port = data.decode().split()
            reply_ip = (ALTERNATE[0] if ip == PRIMARY[0] else PRIMARY[0]) if change_ip == "1" else ip
            reply_port = (ALTERNATE[1] if port == PRIMARY[1] else PRIMARY[1]) if change_port == "1" else port
            yield socks[reply_ip, reply_port].sendto(f"MAPPED {sender[0]} {sender[1]}".encode(), sender)

    yield env.all_of([env.process(serve(ip, port)) for ip, port in socks])


@attrs.frozen
class ProbeResult:
    mapping: Mapping
    filtering: Filtering
    mapped: tuple[tuple[str, int], ...]  # mapping tests I, II (, III)
    responses: tuple[bool, bool, bool]  # filtering tests I, II, III got a response


def _request(sock: Any, server: tuple[str, int], change_ip: bool, change_port: bool,
             tries: int = 3) -> Process:
    for _ in range(tries):
        yield sock.sendto(f"BIND {int(change_ip)} {int(change_port)}".encode(), server)
        try:
            data, _sender = yield sock.recvfrom(100)
        except TimeoutError:
            continue
        _, ip, port = data.decode().split()
        return ip, int(port)
    return None


def behaviour_probe(host: Any, *, mapping_port: int = 40000, filtering_port: int = 40001) -> Process:
    """RFC 5780 §4.3 (mapping) and §4.4 (filtering), each from its own local port so one's
    packets do not open holes for the other."""
    sock = host.socket("udp")
    sock.bind(("0.0.0.0", mapping_port))
    sock.settimeout(300 * MS)
    m1 = yield from _request(sock, PRIMARY, False, False)  # test I
    m2 = yield from _request(sock, (ALTERNATE[0], PRIMARY[1]), False, False)  # test II: other IP
    assert m1 is not None and m2 is not None, "the server must answer plain requests"
    if m1 == m2:
        mapping, mapped = Mapping.ENDPOINT_INDEPENDENT, (m1, m2)
    else:
        m3 = yield from _request(sock, ALTERNATE, False, False)  # test III: other IP and port
        assert m3 is not None
        mapping = Mapping.ADDRESS_DEPENDENT if m3 == m2 else Mapping.ADDRESS_AND_PORT_DEPENDENT
        mapped = (m1, m2, m3)
    sock.close()

    sock = host.socket("udp")
    sock.bind(("0.0.0.0", filtering_port))
    sock.settimeout(300 * MS)
    got_1 = (yield from _request(sock, PRIMARY, False, False)) is not None
    got_2 = (yield from _request(sock, PRIMARY, True, True)) is not None  # from the other IP and port
    got_3 = (yield from _request(sock, PRIMARY, False, True)) is not None  # from the other port
    sock.close()
    if got_2:
        filtering = Filtering.ENDPOINT_INDEPENDENT
    elif got_3:
        filtering = Filtering.ADDRESS_DEPENDENT
    else:
        filtering = Filtering.ADDRESS_AND_PORT_DEPENDENT
    return ProbeResult(mapping, filtering, mapped, (got_1, got_2, got_3))


#: what the probe finds: the configured behaviour, except linux-masquerade's mapping (see
#: effectively_endpoint_independent)
EXPECTED_PROBE = {
    name: (Mapping.ENDPOINT_INDEPENDENT if effectively_endpoint_independent(b) else b.mapping, b.filtering)
    for name, b in PRESETS.items()
}


def run_probe(preset: str, hosts: int = 1) -> tuple[list[ProbeResult], Network, Any]:
    net, lan, server = stun_network(preset, clients=hosts)
    net.process(stun_server(server))
    results = []
    for host in lan.hosts:  # one after another, so the second sees the first's mappings
        handle = net.process(behaviour_probe(host))
        net.run(net.now + 10_000 * MS)
        results.append(handle.value)
    return results, net, lan.nat


@pytest.mark.parametrize("preset", NAMES)
def test_rfc_5780_probe_classifies_each_preset(preset: str) -> None:
    (result,), _net, nat = run_probe(preset)
    assert result.responses[0]
    assert (result.mapping, result.filtering) == EXPECTED_PROBE[preset]
    configured = PRESETS[preset]
    if preset != "linux-masquerade":
        assert (result.mapping, result.filtering) == (configured.mapping, configured.filtering)
    # the responses a filter refused are counted on the NAT's outside interface
    refused = 2 - sum(result.responses[1:])
    assert nat.nat_counters.get("filtered", 0) == 3 * refused  # three tries each


def test_linux_masquerade_shows_its_configured_mapping_when_ports_collide() -> None:
    """Two inside hosts probe one after the other from the same local port: the first keeps it
    for every server (looks endpoint-independent); the second can't (the reply tuples are taken)
    and gets a fresh port (a random one in 1024-65535, as Linux's nf_nat picks it) for each server
    the first one has talked to, and keeps 40000 for the one it has not: address-and-port-dependent,
    as configured."""
    (first, second), _net, _nat = run_probe("linux-masquerade", hosts=2)
    assert first.mapping is Mapping.ENDPOINT_INDEPENDENT
    assert {m[1] for m in first.mapped} == {40000}
    assert second.mapping is Mapping.ADDRESS_AND_PORT_DEPENDENT
    # tests I and II go where the first host went (its reply tuples are taken), test III to a
    # server the first host's probe never needed
    ports = [m[1] for m in second.mapped]
    assert ports[2] == 40000 and len(set(ports)) == 3 and all(1024 <= p <= 65535 for p in ports)
    assert first.filtering is second.filtering is Filtering.ADDRESS_AND_PORT_DEPENDENT


def probe_markdown(found: dict[str, ProbeResult]) -> str:
    lines = ["| preset | configured mapping | configured filtering | probe: mapping | probe: filtering |",
             "|---|---|---|---|---|"]
    for name in NAMES:
        b, r = PRESETS[name], found[name]
        lines.append(f"| {name} | {b.mapping.value} | {b.filtering.value} | {r.mapping.value} | "
                     f"{r.filtering.value} |")
    return "\n".join(lines)


def test_probe_table_in_the_docs_is_what_the_probe_finds() -> None:
    found = {name: run_probe(name)[0][0] for name in NAMES}
    assert _doc_block("rfc5780-probe") == probe_markdown(found)
