"""Scenario files: the TOML format, loading with every problem reported at once, and building.

>>> scenario = load_scenario("lab.toml")          # raises ScenarioError(problems) on any mistake
>>> network, built = build_network(scenario)
>>> network.run()

New node kinds and app kinds register attrs classes (:func:`register_node_kind`,
:func:`register_app`); the loader, the schema and the reference pick them up.
"""

from __future__ import annotations

from netsim.scenario.build import BuiltScenario, build_network
from netsim.scenario.load import load_scenario, load_scenario_data, load_scenario_text
from netsim.scenario.model import (
    AppSpec,
    HostSpec,
    NodeSpec,
    PortInfo,
    RouterSpec,
    Scenario,
    SwitchSpec,
    meta,
    register_app,
    register_node_kind,
    register_section,
)
from netsim.scenario.problems import Problem, ScenarioError
from netsim.scenario.schema import format_reference, scenario_json_schema

__all__ = [
    "AppSpec", "BuiltScenario", "HostSpec", "NodeSpec", "PortInfo", "Problem", "RouterSpec", "Scenario",
    "ScenarioError", "SwitchSpec", "build_network", "format_reference", "load_scenario", "load_scenario_data",
    "load_scenario_text", "meta", "register_app", "register_node_kind", "register_section",
    "scenario_json_schema",
]
