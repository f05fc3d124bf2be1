"""Equivalence arguments for derived mutants, checked on the reference implementation's source.

A mutant is *equivalent* when no run of the system can tell it from the original. One kind is
decided here mechanically: a mutant whose only change is a side-effect-free value (a string, a
name, an attribute of a name, an f-string over those; never a call, a subscript or a property)
replaced by other text or ``None``, or a keyword argument (or ``**`` mapping) dropped where the
callee has a default or a ``**`` parameter, at a place from which the value reaches nothing but

- a party's log (``self._log(...)``: only the demo's display reads the log back),
- an exception's message (refimpl's decisions and replies depend on a rejection's type, never on
  its text: withdrawn if any code reads a caught exception's text, see
  :attr:`Source.reads_exception_text`),
- a free-text field of a message (:data:`FREE_TEXT`; ``None`` there breaks the wire rules), or
- an attribute nothing reads,

through f-strings, joins, ``self`` methods' parameters (every method of the name), ``**details``
and comprehensions over its items, tuple unpacking and attributes (every read, in the refimpl and
the adapter that observes it). :meth:`TextOnly.argument` returns the path it followed ("where the
value goes"), which is the argument a reviewer checks; anything it cannot follow is not equivalent.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

FREE_TEXT = frozenset({"reason"})  # message fields whose wording carries no protocol meaning
FREE_FIELD = "the free-text field"  # such a field must hold text (wire rules): None is not a rewording
_LOGGERS = frozenset({"_log"})
OBSERVERS = ("refimpl_adapter.py", "wire.py")  # generators modules that read the refimpl's state
_TEXT_METHODS = frozenset({"strip", "rstrip", "lstrip"})
_ITEMS = frozenset({"items", "values", "keys"})


@dataclass(frozen=True)
class Source:
    """The reference implementation's modules and the adapter that observes them (everything that
    can read a value the refimpl computes), parsed once, with parent links for upward walks."""

    package: Path  # the otaproof package directory

    @cached_property
    def modules(self) -> dict[str, ast.Module]:
        files = [*sorted((self.package / "refimpl").glob("*.py")),
                 *(self.package / "generators" / f for f in OBSERVERS)]
        return {p.stem: ast.parse(p.read_text(encoding="utf-8")) for p in files}

    @cached_property
    def reads_exception_text(self) -> bool:
        """True if the code reads a caught exception's text other than by formatting it into text
        (``err.args``, ``str(err)``, ``repr(err)`` for any name an ``except`` binds): then an
        exception's message is not a text-only sink."""
        caught = {h.name for t in self.modules.values() for h in ast.walk(t)
                  if isinstance(h, ast.ExceptHandler) and h.name}
        for tree in self.modules.values():
            for n in ast.walk(tree):
                if isinstance(n, ast.Attribute) and n.attr == "args":
                    return True
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in ("str", "repr") \
                        and any(isinstance(a, ast.Name) and a.id in caught for a in n.args):
                    return True
        return False

    @cached_property
    def parents(self) -> dict[int, ast.AST]:
        out: dict[int, ast.AST] = {}
        for tree in self.modules.values():
            for node in ast.walk(tree):
                for child in ast.iter_child_nodes(node):
                    out[id(child)] = node
        return out

    @cached_property
    def functions(self) -> dict[str, list[ast.FunctionDef]]:
        """Every method and function by its plain name (a name may belong to several classes)."""
        out: dict[str, list[ast.FunctionDef]] = {}
        for tree in self.modules.values():
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef):
                    out.setdefault(node.name, []).append(node)
        return out

    @cached_property
    def properties(self) -> frozenset[str]:
        """Names of the properties the code defines (reading one runs code)."""
        return frozenset(f.name for fs in self.functions.values() for f in fs
                         if any(ast.unparse(d) in ("property", "cached_property") for d in f.decorator_list))

    @cached_property
    def classes(self) -> dict[str, ast.ClassDef]:
        """Every class by name."""
        return {n.name: n for t in self.modules.values() for n in ast.walk(t) if isinstance(n, ast.ClassDef)}

    @cached_property
    def exceptions(self) -> frozenset[str]:
        """Names of the exception classes defined in refimpl (transitively from an Exception)."""
        bases = {n.name: [ast.unparse(b) for b in n.bases] for t in self.modules.values()
                 for n in ast.walk(t) if isinstance(n, ast.ClassDef)}
        known = {"Exception", "ValueError", "RuntimeError"}
        grew = True
        while grew:
            new = {name for name, bs in bases.items() if name not in known and any(b in known for b in bs)}
            known |= new
            grew = bool(new)
        return frozenset(known)

    def function(self, module: str, qualname: str) -> ast.FunctionDef:
        """The function ``Class.method`` (or ``function``) of refimpl's ``module``."""
        owner, _, name = qualname.rpartition(".")
        for node in ast.walk(self.modules[module]):
            if (isinstance(node, ast.ClassDef) and node.name == owner) or (not owner and node is self.modules[module]):
                for child in node.body:
                    if isinstance(child, ast.FunctionDef) and child.name == name:
                        return child
        raise KeyError(f"{module}.{qualname}")


class _Walk:
    """The text-only analysis: follows a value upward and through calls and attributes."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self._params: dict[tuple[int, str], list[str] | None] = {}
        self._attrs: dict[str, list[str] | None] = {}

    def value(self, node: ast.AST, depth: int = 0) -> list[str] | None:
        """Where the value of ``node`` goes, if only to text sinks (else None)."""
        if depth > 12:
            return None
        parent = self.source.parents.get(id(node))
        if isinstance(parent, (ast.FormattedValue, ast.JoinedStr)):
            return self.value(parent, depth + 1)
        if isinstance(parent, ast.Attribute) and parent.attr in _TEXT_METHODS and isinstance(node, ast.JoinedStr):
            call = self.source.parents.get(id(parent))  # f"...".rstrip(): still the same text
            return self.value(call, depth + 1) if isinstance(call, ast.Call) and call.func is parent else None
        if isinstance(parent, ast.Attribute) and parent.attr in _ITEMS:  # details.items() in a comprehension
            return self._iterated(parent, depth)
        if isinstance(parent, (ast.GeneratorExp, ast.ListComp)) and parent.elt is node:
            return self.value(parent, depth + 1)  # the collection's elements are this text
        if isinstance(parent, ast.Call) and node in parent.args and _is_join(parent):
            return self.value(parent, depth + 1)  # " ".join(texts) is text
        if isinstance(parent, ast.keyword):
            call = self.source.parents.get(id(parent))
            if isinstance(call, ast.Call):
                return self._argument(call, parent.arg, None, depth)
            return None
        if isinstance(parent, ast.Call) and node in parent.args:
            return self._argument(parent, None, parent.args.index(node), depth)
        if isinstance(parent, ast.Tuple) and isinstance(assign := self.source.parents.get(id(parent)), ast.Assign) \
                and assign.value is parent and len(assign.targets) == 1 and isinstance(assign.targets[0], ast.Tuple) \
                and len(assign.targets[0].elts) == len(parent.elts):  # a, b = x, y: follow the matching name
            target = assign.targets[0].elts[next(k for k, e in enumerate(parent.elts) if e is node)]
            return self._local(assign, target.id, depth) if isinstance(target, ast.Name) else None
        if isinstance(parent, ast.Assign) and parent.value is node and len(parent.targets) == 1:
            target = parent.targets[0]
            if isinstance(target, ast.Attribute):
                return self._attribute(target.attr, depth)
            if isinstance(target, ast.Name):
                return self._local(parent, target.id, depth)
        return None

    def _iterated(self, attribute: ast.Attribute, depth: int) -> list[str] | None:
        """``for k, v in x.items()`` in a comprehension: where the names bound from ``x`` go (a use
        in its condition only decides what the collection holds)."""
        call = self.source.parents.get(id(attribute))
        generator = self.source.parents.get(id(call))
        comprehension = self.source.parents.get(id(generator))
        if not (isinstance(call, ast.Call) and call.func is attribute and isinstance(generator, ast.comprehension)
                and generator.iter is call and isinstance(comprehension, (ast.GeneratorExp, ast.ListComp))):
            return None
        names = {n.id for n in ast.walk(generator.target) if isinstance(n, ast.Name)}
        conditions = {id(n) for cond in generator.ifs for n in ast.walk(cond)}
        paths: list[str] = []
        for n in ast.walk(comprehension.elt):
            if isinstance(n, ast.Name) and n.id in names and id(n) not in conditions:
                path = self.value(n, depth + 1)
                if path is None:
                    return None
                paths += path
        return sorted(set(paths))

    def _argument(self, call: ast.Call, keyword: str | None, index: int | None, depth: int) -> list[str] | None:
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name is None:
            return None
        on_self = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self"
        if on_self and name in _LOGGERS:
            return [f"self.{name}(...) (a log line)"]
        if name in self.source.exceptions and keyword is None and index == 0 \
                and not self.source.reads_exception_text:
            return [f"{name}(...)'s message"]
        if on_self and name == "_send" and keyword in FREE_TEXT:
            return [f"{FREE_FIELD} {keyword!r} of a message"]
        if on_self:
            methods = self.source.functions.get(name, [])
        elif name in self.source.classes:  # a constructor call: the class's __init__
            methods = [n for n in self.source.classes[name].body
                       if isinstance(n, ast.FunctionDef) and n.name == "__init__"]
        else:
            methods = []
        if not methods:
            return None
        paths: list[str] = []
        for method in methods:
            params = [a.arg for a in method.args.args]
            extra = method.args.kwarg.arg if method.args.kwarg else None  # the **details parameter
            if keyword is not None:
                param = keyword if keyword in params else extra
            elif index is None:  # a **mapping passed on: the callee's **parameter
                param = extra
            else:
                param = params[index + 1] if index + 1 < len(params) else None
            if param is None:
                return None
            path = self._parameter(method, param, depth)
            if path is None:
                return None
            paths += [f"{name}({param}) -> {p}" for p in path]
        return sorted(set(paths)) or None

    def _parameter(self, method: ast.FunctionDef, param: str, depth: int) -> list[str] | None:
        key = (id(method), param)
        if key not in self._params:
            self._params[key] = None  # a cycle is not followed: it proves nothing
            self._params[key] = self._uses(method, param, depth)
        return self._params[key]

    def _local(self, assign: ast.Assign, name: str, depth: int) -> list[str] | None:
        scope = self.source.parents.get(id(assign))
        while scope is not None and not isinstance(scope, ast.FunctionDef):
            scope = self.source.parents.get(id(scope))
        return self._uses(scope, name, depth) if isinstance(scope, ast.FunctionDef) else None

    def _uses(self, function: ast.FunctionDef, name: str, depth: int) -> list[str] | None:
        stores = [n for n in ast.walk(function) if isinstance(n, ast.Name) and n.id == name
                  and isinstance(n.ctx, ast.Store)]
        if len(stores) > 1:
            return None  # rebound: the value at a use may come from elsewhere
        paths: list[str] = []
        for n in ast.walk(function):
            if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load):
                path = self.value(n, depth + 1)
                if path is None:
                    return None
                paths += path
        return sorted(set(paths))

    def _attribute(self, attr: str, depth: int) -> list[str] | None:
        if attr not in self._attrs:
            self._attrs[attr] = None
            paths: list[str] = []
            for tree in self.source.modules.values():
                for n in ast.walk(tree):
                    if isinstance(n, ast.Attribute) and n.attr == attr:
                        if isinstance(n.ctx, ast.Store):
                            continue
                        path = self.value(n, depth + 1)
                        if path is None:
                            return None
                        paths += path
            self._attrs[attr] = [f".{attr} -> {p}" for p in sorted(set(paths))] or [f".{attr}, which nothing reads"]
        return self._attrs[attr]


def _pairs(a: ast.AST, b: ast.AST) -> Iterator[tuple[ast.AST, ast.AST]]:
    """The outermost differing (original, mutant) node pairs of two trees of the same shape;
    a pair of differing types or field lengths is yielded whole."""
    if type(a) is not type(b):
        yield a, b
        return
    for field in a._fields:
        x, y = getattr(a, field, None), getattr(b, field, None)
        if isinstance(x, list) and isinstance(y, list):
            if len(x) != len(y):
                yield a, b
                return
            for u, v in zip(x, y, strict=True):
                if isinstance(u, ast.AST) and isinstance(v, ast.AST):
                    yield from _pairs(u, v)
                elif u != v:
                    yield a, b
                    return
        elif isinstance(x, ast.AST) and isinstance(y, ast.AST):
            yield from _pairs(x, y)
        elif x != y:
            yield a, b
            return


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def _is_join(call: ast.Call) -> bool:
    """``"sep".join(...)``: text from texts."""
    f = call.func
    return isinstance(f, ast.Attribute) and f.attr == "join" and isinstance(f.value, ast.Constant) \
        and isinstance(f.value.value, str)


def _is_pure(node: ast.AST) -> bool:
    """A value whose evaluation has no effect and cannot fail: a constant, a name, an attribute of
    a name, or an f-string over those (no calls, no subscripts; attributes that are properties are
    refused by :meth:`TextOnly.argument`)."""
    if isinstance(node, (ast.Constant, ast.Name)):
        return True
    if isinstance(node, ast.Attribute):
        return isinstance(node.value, ast.Name)
    if isinstance(node, ast.JoinedStr):
        return all(isinstance(v, ast.Constant) or (isinstance(v, ast.FormattedValue)
                   and all(isinstance(x, (ast.Name, ast.Attribute, ast.Constant, ast.Load,
                                          ast.FormattedValue, ast.JoinedStr))
                           for x in ast.walk(v.value))) for v in node.values)
    return False


class TextOnly:
    """Decides "this mutant only rewords text" for mutants of refimpl functions."""

    def __init__(self, package: Path) -> None:
        self.source = Source(package)
        self._walk = _Walk(self.source)

    def argument(self, module: str, qualname: str, mutant: ast.FunctionDef) -> str | None:
        """The reviewer's argument that ``mutant`` (of ``module.qualname``) is equivalent, or None."""
        original = self.source.function(module, qualname)
        pairs = list(_pairs(_body(original), _body(mutant)))
        if len(pairs) != 1:
            return None
        before, after = pairs[0]
        if any(isinstance(n, ast.Attribute) and n.attr in self.source.properties for n in ast.walk(before)):
            return None  # a property runs code: dropping it may drop an effect
        if isinstance(before, ast.Call) and isinstance(after, ast.Call):
            return self._dropped(before, after)
        if not _is_pure(before):
            return None
        is_none = isinstance(after, ast.Constant) and after.value is None
        if not (_is_text(after) or is_none):
            return None
        path = self._walk.value(before)
        if not path or (is_none and any(FREE_FIELD in p for p in path)):
            return None
        return f"only the value {ast.unparse(before)} changes, and it reaches only " + "; ".join(path)

    def _dropped(self, before: ast.Call, after: ast.Call) -> str | None:
        """A call that loses one keyword argument (or ``**`` mapping) whose value reaches only text."""
        if ast.dump(before.func) != ast.dump(after.func) or ast.dump(ast.List(before.args)) != \
                ast.dump(ast.List(after.args)) or len(before.keywords) != len(after.keywords) + 1:
            return None
        kept = [ast.dump(k) for k in after.keywords]
        lost = [k for k in before.keywords if ast.dump(k) not in kept]
        if len(lost) != 1 or not _is_pure(lost[0].value):
            return None
        path = self._walk.value(lost[0].value)
        if not path or any(FREE_FIELD in p for p in path) or not self._optional(before, lost[0].arg):
            return None
        shown = f"{lost[0].arg}=" if lost[0].arg else "**"
        return (f"only the argument {shown}{ast.unparse(lost[0].value)} is dropped, and it reaches only "
                + "; ".join(path))

    def _optional(self, call: ast.Call, keyword: str | None) -> bool:
        """Dropping ``keyword`` (None: a ``**`` mapping) leaves a valid call to every method of that
        name: the argument went to a parameter with a default, or to the method's ``**`` parameter."""
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        methods = self.source.functions.get(name, [])
        for method in methods:
            a = method.args
            named = {p.arg for p in a.args + a.kwonlyargs}
            defaulted = {p.arg for p in a.args[len(a.args) - len(a.defaults):]} | {
                k.arg for k, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d is not None}
            if keyword is None or keyword not in named:
                if a.kwarg is None:
                    return False
            elif keyword not in defaulted:
                return False
        return bool(methods)


def _body(function: ast.FunctionDef) -> ast.Module:
    """The function's statements without its docstring, as one tree."""
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return ast.Module(body=body, type_ignores=[])

