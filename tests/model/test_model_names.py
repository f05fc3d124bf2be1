"""The model's names: every action declared whatever the threat and fault model, handles named
as their variables are in traces, outcome families with distinct names, and modules without
import cycles."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

from otaproof.model.config import FAULTS, THREATS, Scenario
from otaproof.model.lang import Var
from otaproof.model.variants import REGISTRY, BuiltModel, build
from otaproof.model.vocabulary import (
    ACTION_CATEGORIES,
    CCS08_OUTCOME,
    CS06_OUTCOME,
    DEVICE_REFUSAL,
    FW_DISTRIBUTION_RECEIPT_RESULT,
    HCALCS_REPORT_OUTCOMES,
    UPGRADE_END_STATUS,
    outcome_sort,
)

MODEL = Path(__file__).resolve().parents[2] / "otaproof" / "model"


@pytest.mark.parametrize("variant", sorted(REGISTRY))
def test_every_action_is_declared_whatever_the_threat_and_fault_model(variant: str) -> None:
    bare = build(Scenario(variant=variant))
    full = build(Scenario(variant=variant, threats=frozenset(THREATS), faults=frozenset(FAULTS)))
    assert list(bare.system.actions) == list(full.system.actions)
    assert any(a.threat and not bare.system.instances_of(n) for n, a in bare.system.actions.items())
    assert any(a.fault and not bare.system.instances_of(n) for n, a in bare.system.actions.items())


def _handles(built: BuiltModel) -> dict[int, str]:
    """Every state variable a public handle of the model holds, with the handle's name (for a
    record of variables such as ``m.smi[d]``, the record's field)."""
    out: dict[int, str] = {}

    def visit(name: str, value: object) -> None:
        if isinstance(value, Var):
            out[value.index] = name
        elif isinstance(value, dict):
            for v in value.values():
                visit(name, v)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for f in dataclasses.fields(value):
                visit(f.name, getattr(value, f.name))

    for name, value in vars(built.model).items():
        if not name.startswith("_"):
            visit(name, value)
    return out


@pytest.mark.parametrize("threats", [frozenset(), frozenset({"han_mitm"})])
def test_state_handles_are_named_as_their_variables_in_traces(threats: frozenset[str]) -> None:
    built = build(Scenario(threats=threats))
    handles = _handles(built)
    own = [v for v in built.system.variables if not v.owner.startswith("channel:")]
    assert own and {v.index for v in own} <= set(handles), "every machine variable has a handle"
    for v in own:  # PPMID.P1.held_validated is m.held_validated[d]; CH.ota_image[P1] is m.ota_image[d]
        last = re.fullmatch(r".*\.([A-Za-z_0-9]+)(\[[^\]]*\])?", v.name)
        assert last and last.group(1) == handles[v.index], (v.name, handles[v.index])


def test_smi_fields_are_named_as_sr_8_2_names_them() -> None:
    m = build(Scenario()).model
    assert m.smi["P1"].DeviceFirmwareVersion.name == "DSP.SMI[P1].DeviceFirmwareVersion"
    assert m.smi["H1"].DeviceFirmwareVersionStatus.name == "DSP.SMI[H1].DeviceFirmwareVersionStatus"


def test_outcome_families_carry_their_codes_and_never_share_a_name_on_a_link() -> None:
    assert CCS08_OUTCOME.codes == {"success": 0, "image_discarded": 1, "hardware_version_mismatch": 2,
                                   "file_transfer_failure": 3}
    assert FW_DISTRIBUTION_RECEIPT_RESULT.outcome_of(0x8F1C) == "verification_failed"
    assert UPGRADE_END_STATUS.outcome_of(0x96) == "invalid_image"
    assert CS06_OUTCOME.outcome_of(3) == "unmodelled code 0x3"  # GBCS's Activation Failure: not modelled
    assert DEVICE_REFUSAL.success is None
    assert outcome_sort("HcalcsReport", HCALCS_REPORT_OUTCOMES).values[0] == "none"
    with pytest.raises(Exception, match="'success' of CS06"):
        outcome_sort("mixed", (CCS08_OUTCOME, CS06_OUTCOME))


def test_each_link_carries_the_outcome_family_of_its_messages() -> None:
    m = build(Scenario()).model
    assert m.han_up["P1"].fields["outcome"].values == ("none", "success", "invalid_image")  # type: ignore[attr-defined]
    assert "hardware_version_mismatch" in m.wan_up["P1"].fields["outcome"].values  # type: ignore[attr-defined]
    assert "counter_failure" in m.wan_up["H1"].fields["outcome"].values  # type: ignore[attr-defined]
    assert "activation_failure" not in m.wan_up["H1"].fields["outcome"].values  # type: ignore[attr-defined]


def test_every_action_category_is_a_known_one() -> None:
    for variant in REGISTRY:
        actions = build(Scenario(variant=variant)).system.actions.values()
        assert {a.category for a in actions} - {None} <= set(ACTION_CATEGORIES)


def _imports(path: Path) -> set[str]:
    """The otaproof.model modules a module imports, anywhere in it (TYPE_CHECKING blocks too)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("otaproof.model"):
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("otaproof.model"))
    return out


def test_the_model_modules_import_each_other_without_cycles() -> None:
    modules = {}
    for path in MODEL.rglob("*.py"):
        parts = path.relative_to(MODEL.parent.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {name: {i for i in _imports(path) if i in modules and i != name} for name, path in modules.items()}
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, "import cycle: " + " -> ".join((*path[path.index(name):], name))
        if name not in done:
            for other in sorted(graph[name]):
                visit(other, (*path, name))
            done.add(name)

    for name in sorted(graph):
        visit(name, ())
    assert "otaproof.model.secmp0007" not in graph["otaproof.model.environment"]
    registry = {"otaproof.model.variants", "otaproof.model.variants.registry"}
    assert not any(graph[v] & registry for v in graph if v.startswith("otaproof.model.variants.") and v not in registry)
