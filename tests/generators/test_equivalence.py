"""The text-only equivalence argument: granted only where the changed text reaches nothing but logs,
exception messages and free-text fields, and refused for any text a decision reads."""

from __future__ import annotations

import ast
import copy
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import otaproof
from otaproof.generators.equivalence import TextOnly

PACKAGE = Path(otaproof.__file__).parent


@pytest.fixture(scope="module")
def text_only() -> TextOnly:
    return TextOnly(PACKAGE)


def mutant(checker: TextOnly, module: str, qualname: str, old: str, new: str | None, nth: int = 0) -> ast.FunctionDef:
    """A copy of the function with its ``nth`` string constant ``old`` replaced by ``new``."""
    function = copy.deepcopy(checker.source.function(module, qualname))
    hits = [n for n in ast.walk(function) if isinstance(n, ast.Constant) and n.value == old]
    assert len(hits) > nth, f"{old!r} not in {qualname}"
    hits[nth].value = new
    return function


@pytest.mark.parametrize(("module", "qualname", "old", "new", "goes"), [
    ("devices", "HanDevice._on_cs02b", "CS02b", "XXCS02bXX", "_attempt(what) -> self._log(...)"),
    ("devices", "HanDevice._on_cs02b", "CS02b", None, "_attempt(what) -> self._log(...)"),
    ("dsp", "DSP.submit_sr11_1", "SR 11.1 Update Firmware", "sr 11.1 update firmware",
     "_handle(service) -> _new_request(service) -> ServiceRequest(service) -> .service -> "),
    ("hub", "CommsHub._on_cs05c", "another transfer is in progress", "XX", "the free-text field 'reason'"),
    ("dsp", "DSP._check_targets", "empty DeviceIDList", None, "UnknownDevice(...)'s message"),
])
def test_rewording_text_that_only_reaches_logs_messages_or_free_text_is_equivalent(
        text_only: TextOnly, module: str, qualname: str, old: str, new: str | None, goes: str) -> None:
    argument = text_only.argument(module, qualname, mutant(text_only, module, qualname, old, new))
    assert argument is not None and goes in argument


@pytest.mark.parametrize(("module", "qualname", "old", "new"), [
    ("dsp", "DSP.submit_sr11_4", "transfer", "XXtransferXX"),      # a key of the DSP's open requests
    ("dsp", "DSP.receive", "success", "SUCCESS"),                  # compared with a CS02b response's result
    ("devices", "HCALCS._execute_scheduled", "unschedule", "XX"),  # a lifecycle event
    ("hub", "CommsHub._on_cs05c", "another transfer is in progress", None),  # a free-text field must hold text
])
def test_text_that_a_decision_reads_is_not_equivalent(text_only: TextOnly, module: str, qualname: str, old: str,
                                                     new: str | None) -> None:
    assert text_only.argument(module, qualname, mutant(text_only, module, qualname, old, new)) is None


def test_two_changes_or_a_changed_call_are_not_equivalent(text_only: TextOnly) -> None:
    two = mutant(text_only, "devices", "HanDevice._on_cs02b", "CS02b", "x")
    hits = [n for n in ast.walk(two) if isinstance(n, ast.Constant) and n.value == "success"]
    hits[0].value = "SUCCESS"
    assert text_only.argument("devices", "HanDevice._on_cs02b", two) is None
    unchanged = copy.deepcopy(text_only.source.function("devices", "HanDevice._on_cs02b"))
    assert text_only.argument("devices", "HanDevice._on_cs02b", unchanged) is None


def test_a_label_that_a_decision_also_reads_is_not_equivalent(tmp_path: Path) -> None:
    """The same label parameter, once also compared in the callee, no longer counts as text only."""
    package = tmp_path / "otaproof"
    shutil.copytree(PACKAGE / "refimpl", package / "refimpl", ignore=shutil.ignore_patterns("__pycache__"))
    (package / "generators").mkdir()
    for name in ("refimpl_adapter.py", "wire.py"):
        shutil.copy(PACKAGE / "generators" / name, package / "generators" / name)
    devices = package / "refimpl" / "devices.py"
    source = devices.read_text()
    anchor = "        try:\n            action()\n"
    assert anchor in source
    devices.write_text(source.replace(anchor, "        if what == 'CS02b':\n            return None\n" + anchor, 1))
    edited = TextOnly(package)
    argument = edited.argument("devices", "HanDevice._on_cs02b",
                               mutant(edited, "devices", "HanDevice._on_cs02b", "CS02b", "XX"))
    assert argument is None


def test_reading_an_exceptions_text_withdraws_the_message_sink(tmp_path: Path) -> None:
    package = tmp_path / "otaproof"
    shutil.copytree(PACKAGE / "refimpl", package / "refimpl", ignore=shutil.ignore_patterns("__pycache__"))
    (package / "generators").mkdir()
    (package / "generators" / "wire.py").write_text("")
    (package / "generators" / "refimpl_adapter.py").write_text(
        "def outcome(action):\n    try:\n        action()\n    except Exception as err:\n        return str(err)\n")
    edited = TextOnly(package)
    assert edited.source.reads_exception_text
    assert edited.argument("dsp", "DSP._check_targets",
                           mutant(edited, "dsp", "DSP._check_targets", "empty DeviceIDList", None)) is None


def _edited(checker: TextOnly, module: str, qualname: str, edit: Callable[[ast.FunctionDef], None]) -> ast.FunctionDef:
    function = copy.deepcopy(checker.source.function(module, qualname))
    edit(function)
    return function


def _call(function: ast.FunctionDef, name: str) -> ast.Call:
    return next(n for n in ast.walk(function) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                and n.func.attr == name)


def _drop_keyword(name: str | None, call: str) -> Callable[[ast.FunctionDef], None]:
    def edit(function: ast.FunctionDef) -> None:
        c = _call(function, call)
        c.keywords = [k for k in c.keywords if k.arg != name]
    return edit


def _none_for_keyword(name: str, call: str) -> Callable[[ast.FunctionDef], None]:
    def edit(function: ast.FunctionDef) -> None:
        next(k for k in _call(function, call).keywords if k.arg == name).value = ast.Constant(None)
    return edit


def _none_assigned(attr: str) -> Callable[[ast.FunctionDef], None]:
    def edit(function: ast.FunctionDef) -> None:
        next(n for n in ast.walk(function) if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Attribute)
             and n.targets[0].attr == attr).value = ast.Constant(None)
    return edit


@pytest.mark.parametrize(("module", "qualname", "edit", "goes"), [
    ("dsp", "DSP.submit_sr11_3", _none_for_keyword("execution_time", "_handle"), "_handle(details)"),
    ("dsp", "DSP.submit_sr11_1", _drop_keyword("firmware_version", "_handle"), "dropped"),
    ("dsp", "DSP._handle", _drop_keyword(None, "_new_request"), "only the argument **details is dropped"),
    ("dsp", "DSP._handle", _none_assigned("error"), ".error, which nothing reads"),
])
def test_a_detail_only_logged_or_a_field_nothing_reads_is_equivalent(
        text_only: TextOnly, module: str, qualname: str, edit: Callable[[ast.FunctionDef], None], goes: str) -> None:
    argument = text_only.argument(module, qualname, _edited(text_only, module, qualname, edit))
    assert argument is not None and goes in argument, argument


def test_the_service_name_unpacked_from_a_tuple_is_followed(text_only: TextOnly) -> None:
    argument = text_only.argument("dsp", "DSP.submit_sr11_3",
                                  mutant(text_only, "dsp", "DSP.submit_sr11_3", "SR 11.3 Activate Firmware", "x"))
    assert argument is not None and "_handle(service)" in argument


@pytest.mark.parametrize(("module", "qualname", "edit"), [
    ("dsp", "DSP.submit_sr11_3", _none_for_keyword("error", "_handle")),   # raised by _handle: a decision
    ("hub", "CommsHub._on_cs05c", _drop_keyword("payload_type", "_send")),  # a message field
])
def test_a_value_a_decision_or_a_message_needs_is_not_equivalent(
        text_only: TextOnly, module: str, qualname: str, edit: Callable[[ast.FunctionDef], None]) -> None:
    assert text_only.argument(module, qualname, _edited(text_only, module, qualname, edit)) is None
