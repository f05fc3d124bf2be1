"""Variants from outside the package: variant files given by path (``--variant-file``) and
installed plugins (entry-point group ``otaproof.variants``), checked, then registered next to
the built-in ones for the run.

Every mistake is one ``VariantFileError`` naming the file and line: a syntax error, an error
while the file runs, a missing or ill-typed constant, a parameter the model does not have, a
name already taken, and any error of ``apply(m)`` or of grounding the actions it declared
(``trial_build``: an unknown handle, a guard that is not boolean, a write to another machine's
variable, an unknown action). The line is the innermost one of the file in the error's
traceback, else the line of the ``Machine.action`` / ``replace_action`` / ``strengthen_guard``
call that declared or changed the failing action, else the ``def apply`` line.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import hashlib
import re
import sys
import traceback
import types
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path

from otaproof.model.config import Parameters, Scenario
from otaproof.model.lang import ModelError
from otaproof.model.state import Secmp0007State
from otaproof.model.system import GroundingError
from otaproof.model.variants import REGISTRY, describe, get_variant, register
from otaproof.model.variants.api import BUILDER, HANDLES
from otaproof.model.variants.registry import Variant, build_variant, variant_of

ENTRY_POINT_GROUP = "otaproof.variants"
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,47}\Z")
CONSTANTS = {"NAME": "the variant's name, as commands and traces use it",
             "DOC": "the design change in one sentence", "SOURCE": "the public document it comes from"}
PUBLIC_HANDLES = tuple(name for group in HANDLES.values() for name in group)


class VariantFileError(ModelError):
    """A mistake in a variant file (or a plugin's module), located: ``PATH:LINE: message``."""

    def __init__(self, message: str, path: str, line: int) -> None:
        super().__init__(message, f"{path}:{line}")
        self.path, self.line = path, line


def load_variant_file(path: str | Path) -> Variant:
    """Run a variant file and read its variant, checked; ``VariantFileError`` on any mistake.
    Its ``apply`` runs only when the variant is built (``trial_build`` does it first)."""
    shown, file = str(path), Path(path)
    if file.suffix != ".py":
        raise ModelError(f"{shown}: a variant file is a Python file whose name ends in .py")
    try:
        source = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelError(f"{shown}: no such variant file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ModelError(f"{shown}: cannot read the variant file: {e}") from None
    code_name = str(file.resolve())
    try:
        tree = ast.parse(source, code_name)
        code = compile(tree, code_name, "exec")
    except SyntaxError as e:
        raise VariantFileError(f"syntax error: {e.msg}", shown, e.lineno or 1) from None
    lines = _definition_lines(tree)
    module = types.ModuleType(f"otaproof_variant_file_{hashlib.sha256(code_name.encode()).hexdigest()[:12]}")
    module.__file__ = code_name
    sys.modules[module.__name__] = module  # as an import would (dataclasses and pickling look it up)
    try:
        exec(code, module.__dict__)
        return _checked(module, shown, lines)
    except VariantFileError:
        del sys.modules[module.__name__]
        raise
    except Exception as e:
        del sys.modules[module.__name__]
        raise VariantFileError(_message(e, vars(module)), shown, _line_of(e, code_name) or 1) from None


def plugin_variants() -> tuple[Variant, ...]:
    """The variants installed packages provide: each entry point of ``ENTRY_POINT_GROUP`` names a
    module of the variant shape (e.g. ``my-change = "mypackage.my_change"``)."""
    out = []
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: (ep.name, ep.value)):
        dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist is not None else "an installed package"
        where = f"entry point {ep.name} = {ep.value} ({dist})"
        try:
            module = ep.load()
        except Exception as e:
            file = _innermost_file(e)
            if file is None:
                raise ModelError(f"{where}: {_message(e, None)}") from None
            raise VariantFileError(f"{_message(e, None)} (loading {where})", file, _line_of(e, file) or 1) from None
        if not isinstance(module, types.ModuleType):
            raise ModelError(f"{where}: names a {type(module).__name__}, not a module of the variant shape")
        file = getattr(module, "__file__", None) or where
        lines = _definition_lines(ast.parse(Path(file).read_text(encoding="utf-8"))) if Path(file).is_file() else {}
        checked = _checked(module, file, lines)
        out.append(Variant(checked.name, checked.doc, checked.source, checked.parameters, checked.apply, "plugin",
                           where, checked.file))
    return tuple(out)


def load_variants(files: Sequence[str | Path]) -> tuple[Variant, ...]:
    """The installed plugins' variants, then those of ``files`` (the same file named twice counts
    once), with every name checked against the built-in ones and each other."""
    out = list(plugin_variants())
    seen: set[Path] = set()
    for f in files:
        if Path(f).resolve() in seen:
            continue
        seen.add(Path(f).resolve())
        v = load_variant_file(f)
        taken = next((o for o in (*REGISTRY.values(), *out) if o.name == v.name), None)
        if taken is not None:
            line = _definition_lines(ast.parse(Path(v.file).read_text(encoding="utf-8"))).get("NAME", 1)
            raise VariantFileError(f"NAME {v.name!r} is taken by {describe(taken)}; choose another name",
                                   v.location, line)
        out.append(v)
    for i, v in enumerate(out):  # plugins among themselves and against the built-in ones
        taken = next((o for o in (*REGISTRY.values(), *out[:i]) if o.name == v.name), None)
        if taken is not None:
            raise ModelError(f"variant {v.name!r} is defined twice: {describe(taken)} and {describe(v)}")
    return tuple(out)


def use_variants(files: Sequence[str | Path]) -> tuple[Variant, ...]:
    """Load and register the plugins' and these files' variants for the rest of the process (a
    generated suite's conftest does this with the files copied into it)."""
    variants = load_variants(files)
    register(variants)
    return variants


def trial_build(scenarios: Iterable[Scenario]) -> None:
    """Build every scenario whose variant comes from a file or a plugin, as the checks will (it
    takes milliseconds), so that a mistake in ``apply`` or in an action it declared is reported
    with its file and line before any work; built-in variants are left alone."""
    done: set[Scenario] = set()
    for sc in scenarios:
        variant = get_variant(sc.variant)
        if variant.origin == "built-in" or sc in done:
            continue
        done.add(sc)
        try:
            build_variant(variant, sc)
        except Exception as e:
            raise located(variant, e, sc) from None


def located(variant: Variant, error: Exception, scenario: Scenario | None = None) -> VariantFileError:
    """``error``, raised while building ``variant``, as one message naming its file and line."""
    shown = variant.location if variant.origin == "file" else variant.file
    line = _line_of(error, variant.file)
    if line is None and isinstance(error, GroundingError):
        mine = [s for s in error.sites if s.rpartition(":")[0] == variant.file]
        line = int(mine[-1].rpartition(":")[2]) if mine else None
    if line is None:
        apply = variant.apply
        line = apply.__code__.co_firstlineno if isinstance(apply, types.FunctionType) else 1
    context = f" (building {scenario.describe()})" if scenario is not None else ""
    namespace = variant.apply.__globals__ if isinstance(variant.apply, types.FunctionType) else None
    return VariantFileError(_message(error, namespace) + context, shown, line)


# ---- helpers -----------------------------------------------------------------------------------

def _checked(module: types.ModuleType, shown: str, lines: dict[str, int]) -> Variant:
    """The module's variant after checking every constant, each error at its line."""
    def fail(message: str, name: str) -> VariantFileError:
        return VariantFileError(message, shown, lines.get(name, 1))

    for const, meaning in CONSTANTS.items():
        value = getattr(module, const, None)
        if not isinstance(value, str) or not value.strip():
            got = "" if value is None else f", got {type(value).__name__} {value!r}"
            raise fail(f"a variant file needs {const}, a non-empty string: {meaning}{got}", const)
    if not NAME_PATTERN.match(module.NAME):
        raise fail(f"NAME {module.NAME!r} must be 1-48 lower-case letters, digits and hyphens (it names the "
                   "variant in commands, traces and file names)", "NAME")
    _check_parameters(getattr(module, "PARAMETERS", {}), shown, lines)
    apply = getattr(module, "apply", None)
    if not isinstance(apply, types.FunctionType):
        raise fail("a variant file needs a function apply(m) that edits the model m (docs/variants.md)", "apply")
    if apply.__code__.co_argcount != 1 or apply.__code__.co_kwonlyargcount:
        raise fail(f"apply takes exactly one argument, the model m; it takes {apply.__code__.co_argcount}", "apply")
    return variant_of(module, "file", shown)


def _check_parameters(parameters: object, shown: str, lines: dict[str, int]) -> None:
    """PARAMETERS: a dict from model parameter names to values of their type, within limits."""
    line = lines.get("PARAMETERS", 1)
    if not isinstance(parameters, dict):
        raise VariantFileError("PARAMETERS must be a dict from model parameter names to values, e.g. {'ppmids': 2}",
                               shown, line)
    defaults, names = Parameters(), Parameters.names()
    for key, value in parameters.items():
        at = lines.get(f"PARAMETERS[{key}]", line)
        if key not in names:
            hint = _did_you_mean(str(key), names)
            raise VariantFileError(f"PARAMETERS: {key!r} is not a model parameter{hint}; known: {', '.join(names)}",
                                   shown, at)
        wanted = bool if isinstance(getattr(defaults, key), bool) else int
        if type(value) is not wanted:
            raise VariantFileError(f"PARAMETERS: {key} takes {'true or false' if wanted is bool else 'an integer'}, "
                                   f"got {value!r}", shown, at)
        try:
            defaults.with_values({key: value})
        except ModelError as e:
            raise VariantFileError(f"PARAMETERS: {e}", shown, at) from None


def _definition_lines(tree: ast.Module) -> dict[str, int]:
    """The line of each top-level name a variant file defines, and of each PARAMETERS key."""
    out: dict[str, int] = {}
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            out.setdefault(node.name, node.lineno)
        for t in targets:
            if isinstance(t, ast.Name):
                out[t.id] = node.lineno
                value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
                if t.id == "PARAMETERS" and isinstance(value, ast.Dict):
                    for k in value.keys:
                        if isinstance(k, ast.Constant) and isinstance(k.value, str):
                            out[f"PARAMETERS[{k.value}]"] = k.lineno
    return out


def _line_of(error: BaseException, file: str) -> int | None:
    """The innermost line of ``file`` in the traceback of ``error`` or of the error it replaced."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        lines = [n for frame, n in traceback.walk_tb(current.__traceback__) if frame.f_code.co_filename == file]
        if lines:
            return lines[-1]
        current = current.__cause__ or current.__context__
    return None


def _innermost_file(error: BaseException) -> str | None:
    """The innermost file of the traceback that is a real file other than this module's (not
    the import machinery's ``<frozen ...>``)."""
    files = [frame.f_code.co_filename for frame, _ in traceback.walk_tb(error.__traceback__)]
    real = [f for f in files if not f.startswith("<") and f != __file__]
    return real[-1] if real else None


def _message(error: BaseException, namespace: Mapping[str, object] | None) -> str:
    """What went wrong, in one line: a model error as it is, an unknown handle with a suggestion,
    any other exception with its type."""
    if isinstance(error, ModelError):
        return str(error)
    if isinstance(error, AttributeError) and error.name:
        if isinstance(error.obj, Secmp0007State):
            return (f"unknown handle m.{error.name}{_did_you_mean(error.name, PUBLIC_HANDLES)} (the handles are "
                    "listed in docs/variants.md)")
        if error.obj is not None:
            known = [n for n in dir(error.obj) if not n.startswith("_")]
            if type(error.obj).__name__ == "SystemBuilder":
                known = [n for n in BUILDER if "." not in n]
            return f"AttributeError: {error}{_did_you_mean(error.name, known)}"
    if isinstance(error, NameError) and error.name and namespace is not None:
        return f"NameError: {error}{_did_you_mean(error.name, [*namespace, *dir(builtins)])}"
    return f"{type(error).__name__}: {error}"


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
