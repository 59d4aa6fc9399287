"""The runner: apps, timeline, expectations, summary.json/trace.jsonl, replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from netsim.proto.tcp.settings import TCPSettings
from netsim.scenario import ScenarioError, load_scenario, load_scenario_text
from netsim.scenario.model import HostSettings
from netsim.scenario.run import RunOutcome, replay, run_scenario

DATA = Path(__file__).parent / "data"

TWO_HOSTS = """\
[network]
seed = 3
time_limit = "{limit}"

[[hosts]]
name = "client"
settings = {{ {client_settings} }}
[[hosts.interfaces]]
name = "eth0"
addresses = ["10.0.0.1/24"]

[[hosts]]
name = "server"
settings = {{ {server_settings} }}
[[hosts.interfaces]]
name = "eth0"
addresses = ["10.0.0.2/24"]

[[links]]
name = "wire"
a = "client:eth0"
b = "server:eth0"
delay = "5ms"
"""


def two_hosts(body: str, *, limit: str = "60s", client_settings: str = "", server_settings: str = "") -> str:
    return TWO_HOSTS.format(limit=limit, client_settings=client_settings, server_settings=server_settings) + body


def run_text(text: str, tmp_path: Path | None = None, **kwargs: Any) -> RunOutcome:
    path = (tmp_path or Path("/nonexistent")) / "scenario.toml"
    if tmp_path is not None:
        path.write_text(text)
        return run_scenario(path, **kwargs)
    return run_scenario(load_scenario_text(text), **kwargs)


def verdicts(outcome: RunOutcome) -> list[bool]:
    return [e.ok for e in outcome.expectations]


# --- end to end --------------------------------------------------------------------------------------


def test_tcp_echo_passes_and_writes_its_files(tmp_path: Path) -> None:
    outcome = run_scenario(DATA / "tcp_echo.toml", out_dir=tmp_path)
    assert outcome.passed, [e.to_json() for e in outcome.failures]
    assert len(outcome.expectations) == 6
    client = outcome.apps["client1"]
    assert client["status"] == "finished" and client["result"]["echo_ok"] is True
    assert client["result"]["local"].startswith("10.0.0.1:") and client["result"]["peer"] == "10.0.0.2:9000"
    server = outcome.apps["echo"]["result"]
    assert server["peers"] == [client["result"]["local"]]  # the 5-tuple both ends see
    assert server["connections"][0]["local"] == "10.0.0.2:9000"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "scenario.toml", "server.pcap",
                                                          "summary.json", "trace.jsonl"]
    report = (tmp_path / "report.html").read_text()
    assert report.startswith("<!DOCTYPE html>") and "client1" in report
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["scenario"]["file"] == "tcp_echo.toml"
    assert summary["scenario"]["text"] == (DATA / "tcp_echo.toml").read_text()
    assert (tmp_path / "scenario.toml").read_text() == (DATA / "tcp_echo.toml").read_text()
    assert summary["seed"] == 7 and summary["trace_hash"] == outcome.trace_hash and summary["passed"] is True
    assert set(summary["versions"]) >= {"netsim", "python", "simpy"}
    assert summary["run"]["reason"] == "idle" and summary["run"]["events"] > 0
    assert [a["name"] for a in summary["apps"]] == ["echo", "client1"]
    assert summary["snapshots"][0]["name"] == "during" and "ESTAB" in summary["snapshots"][0]["text"]
    assert all(e["ok"] for e in summary["expectations"])
    lines = (tmp_path / "trace.jsonl").read_text().splitlines()
    assert len(lines) == summary["trace_records"] == len(outcome.network.trace.records)
    records = [json.loads(line) for line in lines]
    frames = [r for r in records if "frame" in r]
    assert frames and all({"t", "kind", "where", "frame", "len", "sha256"} <= set(r) for r in frames)
    assert any("Flags [S]" in r["frame"] for r in frames)
    assert all("data" not in r.get("fields", {}) for r in records)  # no hex: the size stays bounded


def test_seed_override_changes_the_run() -> None:
    scenario = load_scenario(DATA / "tcp_echo.toml")
    a, b, c = run_scenario(scenario), run_scenario(scenario), run_scenario(scenario, seed=8)
    assert a.trace_hash == b.trace_hash != c.trace_hash
    assert c.seed == 8 and c.passed


def test_a_failed_expectation_says_what_was_expected_and_seen() -> None:
    outcome = run_scenario(DATA / "tcp_refused.toml")
    assert verdicts(outcome) == [True, False] and not outcome.passed
    failure = outcome.failures[0]
    assert failure.verdict.expected == "client1.echo_ok = true"
    assert failure.verdict.seen == "client1.echo_ok = null"
    assert outcome.apps["client1"]["result"]["error"] == "ECONNREFUSED"


def test_progress_is_reported_on_the_simulated_clock_and_changes_nothing() -> None:
    seen: list[tuple[int, int]] = []
    quiet = run_scenario(DATA / "tcp_echo.toml")
    loud = run_scenario(DATA / "tcp_echo.toml", progress=lambda now, limit: seen.append((now, limit)))
    assert quiet.trace_hash == loud.trace_hash
    assert seen and all(limit == 30 * 10**9 for _, limit in seen)
    assert [now for now, _ in seen] == sorted(now for now, _ in seen)


def test_run_limits_bound_the_run() -> None:
    text = two_hosts("""
[[apps]]
kind = "udp-echo-server"
node = "server"
port = 7

[[apps]]
kind = "udp-echo-client"
node = "client"
connect = "10.0.0.2:7"
count = 1000
interval = "10ms"
""", limit="1s")
    outcome = run_text(text)
    assert outcome.result.reason == "time-limit" and outcome.result.now == 10**9
    assert outcome.apps["apps[1]"]["status"] == "running" and outcome.apps["apps[1]"]["result"]["received"] >= 90
    limited = load_scenario_text(text.replace('time_limit = "1s"', 'time_limit = "1s"\nevent_limit = 50'))
    result = run_scenario(limited).result
    assert result.reason == "event-limit" and result.events == 50


# --- replay ------------------------------------------------------------------------------------------


def test_replay_matches(tmp_path: Path) -> None:
    run_scenario(DATA / "tcp_echo.toml", out_dir=tmp_path, seed=11)
    outcome = replay(tmp_path)
    assert outcome.matched and outcome.seed == 11 and outcome.saved_hash == outcome.new_hash


def test_replay_names_the_first_record_that_differs(tmp_path: Path) -> None:
    run_scenario(DATA / "tcp_echo.toml", out_dir=tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    summary["trace_hash"] = "0" * 64  # as if the saved run had differed ...
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    trace = tmp_path / "trace.jsonl"
    lines = trace.read_text().splitlines()
    record = json.loads(lines[5])
    record["t"] += 1  # ... at its sixth record
    lines[5] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    trace.write_text("\n".join(lines) + "\n")
    outcome = replay(tmp_path)
    assert not outcome.matched and outcome.first_difference == 5
    assert "first at record 5 (line 6 of trace.jsonl)" in outcome.message
    assert outcome.saved_record == lines[5] and outcome.new_record is not None


def test_replay_of_an_edited_scenario(tmp_path: Path) -> None:
    run_scenario(DATA / "tcp_echo.toml", out_dir=tmp_path)
    copy = tmp_path / "scenario.toml"
    copy.write_text(copy.read_text().replace('delay = "5ms"', 'delay = "6ms"'))
    outcome = replay(tmp_path)
    assert not outcome.matched and outcome.first_difference is not None
    saved, new = json.loads(outcome.saved_record or "{}"), json.loads(outcome.new_record or "{}")
    assert saved["kind"] == new["kind"] == "rx" and saved["t"] + 1_000_000 == new["t"]  # the first arrival


# --- host settings -----------------------------------------------------------------------------------


def test_default_host_settings_are_the_default_tcp_settings() -> None:
    assert HostSettings().tcp_settings() == TCPSettings()


def test_host_settings_map_to_tcp_settings() -> None:
    scenario = load_scenario_text(two_hosts("", client_settings=(
        'tcp_syncookies = 0, somaxconn = 64, tcp_max_syn_backlog = 32, tcp_abort_on_overflow = true, '
        'tcp_syn_retries = 2, tcp_synack_retries = 1, tcp_retries2 = 3, tcp_congestion_control = "reno", '
        'tcp_timestamps = false, tcp_sack = false, tcp_window_scaling = false, tcp_rmem = [4096, 8192, 16384], '
        'tcp_wmem = [4096, 32768, 65536], tcp_fin_timeout = "30s", tcp_keepalive_time = "10m", '
        'tcp_keepalive_intvl = "5s", tcp_keepalive_probes = 3, msl = "15s", rto_min = "100ms", rto_max = "10s", '
        'rto_initial = "500ms", initial_cwnd = 4, fd_limit = 64')))
    host = scenario.nodes[0]
    settings = host.settings.tcp_settings()  # type: ignore[attr-defined]
    assert settings == TCPSettings(
        syncookies=0, somaxconn=64, max_syn_backlog=32, abort_on_overflow=True, syn_retries=2, synack_retries=1,
        retries2=3, congestion_control="reno", timestamps=False, sack=False, window_scaling=False, rmem_default=8192,
        rmem_max=16384, wmem_default=32768, wmem_max=65536, fin_timeout=30 * 10**9, keepalive_time=600 * 10**9,
        keepalive_intvl=5 * 10**9, keepalive_probes=3, time_wait=30 * 10**9, rto_min=10**8, rto_max=10**10,
        rto_initial=5 * 10**8, initial_cwnd=4)
    from netsim.scenario import build_network

    _network, built = build_network(scenario)
    assert built.nodes["client"].tcp.settings == settings  # type: ignore[attr-defined]
    assert built.nodes["client"].fds.limit == 64  # type: ignore[attr-defined]


def test_the_linux_tcp_recovery_sysctls_map_to_tcp_settings() -> None:
    scenario = load_scenario_text(two_hosts("", client_settings=(
        'tcp_dsack = false, tcp_early_retrans = 2, tcp_slow_start_after_idle = false, tcp_cubic_hystart = false, '
        'tcp_recovery = 0, tcp_frto = 0')))
    settings = scenario.nodes[0].settings.tcp_settings()  # type: ignore[attr-defined]
    assert settings == TCPSettings(dsack=False, early_retrans=2, slow_start_after_idle=False, hystart=False,
                                   recovery=0, frto=0)


@pytest.mark.parametrize(("settings", "path", "message"), [
    ("tcp_early_retrans = 5", "settings.tcp_early_retrans", "5 is out of range: must be 0..4"),
    ("tcp_recovery = 8", "settings.tcp_recovery", "8 is out of range: must be 0..7"),
    ("tcp_frto = 3", "settings.tcp_frto", "3 is out of range: must be 0..2"),
    ("tcp_syncookies = 3", "settings.tcp_syncookies", "3 is out of range: must be 0..2"),
    ('tcp_congestion_control = "bbr"', "settings.tcp_congestion_control", "'bbr' (a string) is not one of"),
    ("tcp_rmem = [1, 2]", "settings.tcp_rmem", "expected three sizes"),
    ('rto_min = "2s", rto_max = "1s"', "settings.rto_min", "is above rto_max"),
    ('msl = "10s", time_wait = "5s"', "settings.msl", "give msl or time_wait, not both"),
    ('tcp_fin_timeout = "0s"', "settings.tcp_fin_timeout", "must be longer than 0"),
    ("fd_limit = 2", "settings.fd_limit", "2 is out of range"),
])
def test_bad_host_settings(settings: str, path: str, message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(two_hosts("", client_settings=settings))
    found = {p.path: p.message for p in info.value.problems}
    assert message in found[f"hosts[0].{path}"]


# --- apps --------------------------------------------------------------------------------------------


def test_every_tcp_app_kind_reports(tmp_path: Path) -> None:
    outcome = run_text(two_hosts("""
[[apps]]
kind = "request-response-server"
name = "rr-server"
node = "server"
port = 8000

[[apps]]
kind = "request-response"
name = "rr"
node = "client"
connect = "10.0.0.2:8000"
requests = 5
request_size = 200
response_size = "4KiB"
start = "10ms"

[[apps]]
kind = "bulk-sink"
name = "sink"
node = "server"
port = 8001
connections = 1

[[apps]]
kind = "bulk-sender"
name = "bulk"
node = "client"
connect = "10.0.0.2:8001"
size = "1MiB"
start = "10ms"

[[apps]]
kind = "tcp-client"
name = "series"
node = "client"
connect = "10.0.0.2:8002"
count = 3
interval = "100ms"
message = "x"
start = "10ms"

[[apps]]
kind = "tcp-echo-server"
name = "echo"
node = "server"
port = 8002
connections = 3
"""), tmp_path)
    rr = outcome.apps["rr"]["result"]
    assert rr["responses"] == 5 and rr["received"] == 5 * 4096 and rr["error"] is None
    assert len(rr["latencies"]) == 5 and rr["latency"]["min"] >= 10_000_000  # at least one round trip
    assert outcome.apps["rr-server"]["result"]["requests"] == 5
    bulk = outcome.apps["bulk"]["result"]
    assert bulk["sent"] == 1 << 20 and bulk["error"] is None and bulk["goodput_bps"] > 0
    assert outcome.apps["sink"]["result"]["bytes_received"] == 1 << 20
    assert outcome.apps["sink"]["status"] == "finished"
    series = outcome.apps["series"]["result"]
    assert series["connected"] == 3 and series["echo_ok"] is True
    starts = [c["connected_at"] for c in series["connections"]]
    assert starts[1] - starts[0] >= 80_000_000  # the second starts 100 ms after the first
    assert len({c["local"] for c in series["connections"]}) == 3  # a new ephemeral port each time
    assert outcome.apps["echo"]["status"] == "finished"
    json.dumps(outcome.summary())  # every result is JSON


def test_udp_echo_client_connected_and_not() -> None:
    outcome = run_text(two_hosts("""
[[apps]]
kind = "udp-echo-server"
name = "echo"
node = "server"
port = 7

[[apps]]
kind = "udp-echo-client"
name = "ok"
node = "client"
connect = "10.0.0.2:7"
count = 3
interval = "10ms"

[[apps]]
kind = "udp-echo-client"
name = "refused"
node = "client"
connect = "10.0.0.2:9"
count = 2
interval = "10ms"
timeout = "100ms"

[[apps]]
kind = "udp-echo-client"
name = "unconnected"
node = "client"
connect = "10.0.0.2:9"
count = 2
connected = false
interval = "10ms"
timeout = "100ms"

[[expectations]]
kind = "errno"
app = "refused"
errno = "ECONNREFUSED"
at_least = 1

[[expectations]]
kind = "errno"
app = "unconnected"
errno = "ECONNREFUSED"
equals = 0
"""))
    ok = outcome.apps["ok"]["result"]
    assert ok["sent"] == ok["received"] == 3 and ok["lost"] == 0 and ok["rtt"]["count"] == 3
    assert outcome.apps["echo"]["result"]["datagrams"] == 3
    assert outcome.apps["unconnected"]["result"]["lost"] == 2  # ICMP errors are not reported to it
    assert outcome.passed, [e.to_json() for e in outcome.failures]


def test_syn_flood_fills_the_syn_queue_without_cookies() -> None:
    outcome = run_text(two_hosts("""
[[apps]]
kind = "tcp-echo-server"
name = "server"
node = "server"
port = 80
backlog = 64

[[apps]]
kind = "syn-flood"
name = "flood"
node = "client"
target = "10.0.0.2:80"
rate = 2000
duration = "200ms"

[[timeline]]
at = "150ms"
action = "ss"
host = "server"
states = "syn-recv"
name = "flooded"

[[expectations]]
kind = "state-count"
host = "server"
state = "SYN-RECV"
snapshot = "flooded"
at_least = 60

[[expectations]]
kind = "counter"
host = "server"
scope = "listener"
port = 80
counter = "TCPReqQFullDrop"
at_least = 1

[[expectations]]
kind = "counter"
host = "server"
scope = "listener"
port = 80
counter = "SyncookiesSent"
equals = 0
""", server_settings="tcp_syncookies = 0, tcp_synack_retries = 1", limit="20s"))
    assert outcome.passed, [e.to_json() for e in outcome.failures]
    assert outcome.apps["flood"]["result"]["sent"] == 400
    assert outcome.snapshots[0]["rows"][0]["state"] == "SYN-RECV"


def test_connection_churn_exhausts_ephemeral_ports() -> None:
    outcome = run_text(two_hosts("""
[[apps]]
kind = "tcp-echo-server"
node = "server"
port = 80

[[apps]]
kind = "connection-churn"
name = "churn"
node = "client"
connect = "10.0.0.2:80"
connections = 20
rate = 1000
start = "10ms"

[[timeline]]
at = "1s"
action = "ss"
host = "client"
states = "time-wait"
name = "tw"

[[expectations]]
kind = "errno"
app = "churn"
errno = "EADDRNOTAVAIL"
equals = 10

[[expectations]]
kind = "app"
app = "churn"
field = "connected"
equals = 10

[[expectations]]
kind = "state-count"
host = "client"
state = "time-wait"
snapshot = "tw"
equals = 10
""", client_settings='ip_local_port_range = "40000-40009"'))
    assert outcome.passed, [e.to_json() for e in outcome.failures]
    churn = outcome.apps["churn"]["result"]
    assert churn["local_ports"] == 10 and churn["first_error"] == "EADDRNOTAVAIL"


# --- the timeline ------------------------------------------------------------------------------------


def test_link_down_makes_the_sender_retransmit_and_link_up_lets_it_finish() -> None:
    text = two_hosts("""
[[apps]]
kind = "bulk-sink"
node = "server"
port = 9000

[[apps]]
kind = "bulk-sender"
name = "bulk"
node = "client"
connect = "10.0.0.2:9000"
size = "2MiB"

[[timeline]]
at = "60ms"
action = "link-down"
link = "wire"

[[timeline]]
at = "1500ms"
action = "link-up"
link = "server:eth0"
""")
    outcome = run_text(text)
    bulk = outcome.apps["bulk"]["result"]
    assert bulk["error"] is None and bulk["sent"] == 2 << 20 and bulk["retransmits"] >= 1
    assert bulk["finished_at"] > 1_500_000_000
    assert [e["action"] for e in outcome.timeline] == ["link-down", "link-up"]
    assert outcome.drops["client:eth0"]["link-down"] >= 1
    never_up = run_text(text.replace('action = "link-up"', 'action = "link-down"')
                        .replace("[[hosts]]\nname = \"client\"\nsettings = {  }",
                                 "[[hosts]]\nname = \"client\"\nsettings = { tcp_retries2 = 3 }"))
    assert never_up.apps["bulk"]["result"]["error"] == "ETIMEDOUT"


def test_impair_start_and_stop(tmp_path: Path) -> None:
    outcome = run_text(two_hosts("""
[[apps]]
kind = "tcp-echo-server"
name = "server"
node = "server"
port = 9000
start = "off"

[[apps]]
kind = "tcp-client"
name = "early"
node = "client"
connect = "10.0.0.2:9000"
message = "hi"

[[apps]]
kind = "tcp-client"
name = "late"
node = "client"
connect = "10.0.0.2:9000"
message = "hi"
hold = "10s"
start = "1s"

[[apps]]
kind = "tcp-client"
name = "after-stop"
node = "client"
connect = "10.0.0.2:9000"
message = "hi"
start = "3s"

[[timeline]]
at = "500ms"
action = "start"
app = "server"

[[timeline]]
at = "2s"
action = "stop"
app = "server"

[[timeline]]
at = "2500ms"
action = "impair"
link = "wire"
loss = 0.5

[[expectations]]
kind = "app"
app = "early"
field = "error"
equals = "ECONNREFUSED"

[[expectations]]
kind = "app"
app = "late"
field = "echo_ok"
equals = true

[[expectations]]
kind = "app"
app = "server"
field = "status"
equals = "stopped"

[[expectations]]
kind = "errno"
app = "after-stop"
errno = "ECONNREFUSED"
"""), tmp_path)
    assert outcome.passed, [e.to_json() for e in outcome.failures]
    assert [e["action"] for e in outcome.timeline] == ["start", "stop", "impair"]
    assert outcome.timeline[0]["started"] is True and outcome.timeline[1]["stopped"] is True
    assert outcome.built.links[0].impairments.loss == 0.5
    # the server was killed while 'late' held its connection: the server side closed it
    assert outcome.apps["server"]["result"]["accepted"] == 1


def test_ss_snapshot_rows_and_sysctl() -> None:
    outcome = run_text(two_hosts("""
[[apps]]
kind = "tcp-echo-server"
node = "server"
port = 9000

[[apps]]
kind = "tcp-client"
name = "c1"
node = "client"
connect = "10.0.0.2:9000"
message = "hi"
hold = "1s"

[[apps]]
kind = "tcp-client"
name = "c2"
node = "client"
connect = "10.0.0.2:9000"
message = "hi"
start = "2s"

[[timeline]]
at = "500ms"
action = "ss"
host = "server"
filter = "sport = :9000"
states = "established"

[[timeline]]
at = "1s"
action = "sysctl"
host = "client"
set = { ip_local_port_range = "50000-50000", tcp_syncookies = 0 }
"""))
    snapshot = outcome.snapshots[0]
    assert snapshot["name"] == "server@500ms" and snapshot["at"] == 500_000_000
    assert len(snapshot["rows"]) == 1
    row = snapshot["rows"][0]
    assert row["state"] == "ESTAB" and row["local"] == "10.0.0.2:9000"
    assert row["peer"] == outcome.apps["c1"]["result"]["local"]
    assert "ESTAB" in snapshot["text"] and "Local Address:Port" in snapshot["text"]
    assert outcome.apps["c2"]["result"]["local"] == "10.0.0.1:50000"
    assert outcome.timeline[1]["changed"] == ["ip_local_port_range", "tcp_syncookies"]
    assert outcome.built.nodes["client"].tcp.settings.syncookies == 0  # type: ignore[attr-defined]
    assert any(r.kind == "sysctl" for r in outcome.network.trace)


# --- expectations ------------------------------------------------------------------------------------


def test_each_expectation_kind_passes_and_fails() -> None:
    body = """
[[apps]]
kind = "tcp-echo-server"
name = "echo"
node = "server"
port = 9000

[[apps]]
kind = "tcp-client"
name = "c"
node = "client"
connect = "10.0.0.2:9000"
bind = "10.0.0.1:45000"
message = "hello"
hold = "1s"

[[apps]]
kind = "tcp-client"
name = "refused"
node = "client"
connect = "10.0.0.2:1"

[[timeline]]
at = "500ms"
action = "ss"
host = "client"
name = "mid"
"""
    passing = """
[[expectations]]
kind = "app"
app = "c"
field = "connections[0].local"
equals = "10.0.0.1:45000"
[[expectations]]
kind = "app"
app = "echo"
field = "peers"
contains = "10.0.0.1:45000"
[[expectations]]
kind = "app"
app = "echo"
field = "bytes_received"
at_least = 5
at_most = 5
[[expectations]]
kind = "app"
app = "refused"
field = "error"
not_equals = "ETIMEDOUT"
[[expectations]]
kind = "errno"
app = "refused"
errno = "ECONNREFUSED"
[[expectations]]
kind = "counter"
host = "server"
counter = "OutRsts"
equals = 1
[[expectations]]
kind = "state-count"
host = "client"
state = "established"
snapshot = "mid"
equals = 1
[[expectations]]
kind = "state-count"
host = "client"
state = "time-wait"
filter = "dport = :9000"
equals = 1
[[expectations]]
kind = "peer"
host = "server"
app = "echo"
peer_address = "10.0.0.1"
peer_port = 45000
[[expectations]]
kind = "peer"
host = "server"
peer_address = "198.51.100.77"
seen = false
"""
    outcome = run_text(two_hosts(body + passing))
    assert outcome.passed, [e.to_json() for e in outcome.failures]
    failing = (passing.replace('"10.0.0.1:45000"', '"10.0.0.1:45001"').replace("at_most = 5", "at_most = 4")
               .replace('not_equals = "ETIMEDOUT"', 'not_equals = "ECONNREFUSED"')
               .replace('errno = "ECONNREFUSED"', 'errno = "ETIMEDOUT"').replace("equals = 1", "equals = 2")
               .replace("peer_port = 45000", "peer_port = 45001").replace("seen = false", "seen = true"))
    outcome = run_text(two_hosts(body + failing))
    assert verdicts(outcome) == [False] * 10
    seen = {e.kind: e.verdict for e in outcome.expectations}
    assert seen["errno"].seen.startswith("refused: ETIMEDOUT count = 0 (all errors: {\"ECONNREFUSED\": 1})")
    assert seen["counter"].expected == "server tcp OutRsts = 2" and seen["counter"].seen == "server tcp OutRsts = 1"
    assert seen["peer"].seen == "peers seen: 10.0.0.1:45000"
    missing = run_text(two_hosts(body + '[[expectations]]\nkind = "app"\napp = "c"\nfield = "nothing"\nequals = 1\n'))
    assert "no field 'nothing' in its result" in missing.expectations[0].verdict.seen


def test_registries_take_new_actions_and_expectation_kinds() -> None:
    import attrs

    from netsim.scenario.expect import Expectation, Verdict, register_expectation
    from netsim.scenario.model import VARIANT_BASES, meta
    from netsim.scenario.timeline import TimelineAction, register_action

    @register_action("mark")
    @attrs.frozen(kw_only=True)
    class Mark(TimelineAction):
        """Put a mark in the log."""

        text: str = attrs.field(metadata=meta("the mark"))

        def apply(self, run: Any) -> dict[str, Any]:
            return {"text": self.text}

    @register_expectation("always")
    @attrs.frozen(kw_only=True)
    class Always(Expectation):
        """Holds when ``value`` is true."""

        value: bool = attrs.field(metadata=meta("the answer"))

        def evaluate(self, run: Any) -> Verdict:
            return Verdict(self.value, "true", str(self.value).lower())

    try:
        outcome = run_text(two_hosts('[[timeline]]\nat = "1s"\naction = "mark"\ntext = "hi"\n'
                                     '[[expectations]]\nkind = "always"\nvalue = false\n'))
        assert outcome.timeline == [{"index": 0, "at": 10**9, "action": "mark", "text": "hi"}]
        assert verdicts(outcome) == [False]
    finally:
        del VARIANT_BASES[TimelineAction].classes["mark"]
        del VARIANT_BASES[Expectation].classes["always"]


@pytest.mark.parametrize(("entry", "path", "message"), [
    ('[[timeline]]\nat = "1s"\naction = "stop"\napp = "ghost"', "timeline[0].app", "no app named 'ghost'"),
    ('[[timeline]]\nat = "1s"\naction = "link-down"\nlink = "client:eth1"', "timeline[0].link",
     "no link 'client:eth1'"),
    ('[[timeline]]\nat = "1s"\naction = "nat-flush"\nnode = "server"', "timeline[0].node",
     "'server' is a host, not a NAT router"),
    ('[[timeline]]\nat = "1s"\naction = "nat-dump"\nnode = "nat9"', "timeline[0].node", "no node named 'nat9'"),
    ('[[timeline]]\nat = "1s"\naction = "ss"\nhost = "server"\nstates = "half-open"', "timeline[0].states",
     "wrong state name 'half-open'"),
    ('[[timeline]]\nat = "1s"\naction = "ss"\nhost = "server"\nfilter = "sport = 9000 and"',
     "timeline[0].filter", ""),
    ('[[timeline]]\nat = "1s"\naction = "sysctl"\nhost = "server"\nset = { ttl = "64" }', "timeline[0].set.ttl",
     "expected an integer"),
    ('[[timeline]]\nat = "1s"\naction = "sysctl"\nhost = "server"\nset = { tcp_syncookie = 1 }',
     "timeline[0].set.tcp_syncookie", "did you mean 'tcp_syncookies'?"),
    ('[[timeline]]\nat = "1s"\naction = "sysctl"\nhost = "server"\nset = { ttl = 0 }', "timeline[0].set.ttl",
     "0 is out of range"),
    ('[[timeline]]\nat = "soon"\naction = "link-up"\nlink = "wire"', "timeline[0].at", "bad duration 'soon'"),
    ('[[timeline]]\nat = "1s"\naction = "lnk-up"\nlink = "wire"', "timeline[0].action",
     "unknown action 'lnk-up' (a string) (did you mean 'link-up'?)"),
    ('[[timeline]]\nat = "1s"\nlink = "wire"', "timeline[0].action", "required key is missing: 'action'"),
    ('[[expectations]]\nkind = "app"\napp = "ghost"\nfield = "error"\nequals = 1', "expectations[0].app",
     "no app named 'ghost'"),
    ('[[expectations]]\nkind = "counter"\nhost = "server"\ncounter = "x"\nscope = "listener"\nequals = 1',
     "expectations[0].port", "needs the listening port"),
    ('[[expectations]]\nkind = "counter"\nhost = "server"\ncounter = "x"\nscope = "iface"\nequals = 1',
     "expectations[0].scope", "did you mean 'interface'?"),
    ('[[expectations]]\nkind = "state-count"\nhost = "server"\nstate = "established"\nsnapshot = "x"\nequals = 1',
     "expectations[0].snapshot", "no ss snapshot named 'x'"),
    ('[[expectations]]\nkind = "errno"\napp = "apps[0]"\nerrno = "ECONREFUSED"', "expectations[0].errno",
     "did you mean 'ECONNREFUSED'?"),
    ('[[expectations]]\nkind = "peer"\nhost = "server"\npeer_address = "1.2.3"', "expectations[0].peer_address",
     "not an IPv4 or IPv6 address"),
    ('[[expectations]]\nkind = "sometimes"', "expectations[0].kind", "unknown kind 'sometimes'"),
    ('[[apps]]\nkind = "tcp-client"\nnode = "client"\nconnect = "10.0.0.2:80"\nname = "x"\n'
     '[[apps]]\nkind = "tcp-client"\nnode = "client"\nconnect = "10.0.0.2:80"\nname = "x"', "apps[2].name",
     "duplicate app name 'x'"),
    ('[[apps]]\nkind = "tcp-client"\nnode = "client"\nconnect = "10.0.0.2:80"\nmessage = "a"\nsize = 3',
     "apps[1].size", "give a message or a size, not both"),
])
def test_bad_timeline_and_expectations(entry: str, path: str, message: str) -> None:
    text = two_hosts('[[apps]]\nkind = "tcp-echo-server"\nnode = "server"\nport = 80\n' + entry + "\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text)
    found = {p.path: p.message for p in info.value.problems}
    assert path in found, found
    assert message in found[path]


def test_the_bad_example_reports_everything_at_once() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(DATA / "bad" / "run.toml")
    paths = [p.path for p in info.value.problems]
    assert len(paths) >= 14
    assert {"timeline[0].link", "timeline[1].app", "timeline[2].node", "timeline[3].set.tcp_synack_retry",
            "timeline[4].action", "expectations[0].state", "expectations[0].snapshot", "apps[0].start",
            "hosts[0].settings.rto_min"} <= set(paths)
