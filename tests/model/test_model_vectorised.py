"""The vectorised evaluator means what the explicit semantics means, on every state of a sample."""

from __future__ import annotations

import numpy as np
import pytest

from otaproof.model.config import Scenario
from otaproof.model.explicit import compile_expr
from otaproof.model.lang import Arith, Const, IntSort, Next
from otaproof.model.variants import build
from otaproof.model.vectorised import evaluate
from otaproof.properties.templates import sample


@pytest.mark.parametrize("threats", [frozenset(), frozenset({"han_mitm"})])
def test_every_design_lemma_has_the_explicit_value_on_every_sampled_state(threats: frozenset[str]) -> None:
    built = build(Scenario(threats=threats))
    rows = sample(built.system, 300, 2, 60, 0).states
    states = [tuple(int(x) for x in row) for row in rows]
    false_somewhere = 0
    for lm in built.lemmas:
        value = evaluate(lm.expr, rows)
        assert value is not None, lm.name
        f = compile_expr(lm.expr)
        assert value.tolist() == [f(s, s, -1) for s in states], lm.name
        false_somewhere += not value.all()
    assert false_somewhere  # the sample refutes some candidates (under han_mitm and without)


def test_a_step_expression_or_a_value_below_zero_has_no_vectorised_value() -> None:
    built = build(Scenario())
    v = next(x for x in built.system.variables if isinstance(x.sort, IntSort))
    rows = np.zeros((3, len(built.system.variables)), dtype=np.int64)
    assert evaluate(Next(v), rows) is None
    assert evaluate(Arith("-", v, Const(v.sort, 1)), rows) is None
    assert evaluate(Arith("+", v, Const(v.sort, 1)), rows) is not None
