"""The model's lemmas are candidates, never assumptions: a false one is dropped and changes no verdict."""

from __future__ import annotations

import dataclasses

from otaproof.model.config import Scenario
from otaproof.model.invariants import Lemma
from otaproof.model.variants import BuiltModel, build
from otaproof.properties.catalogue import CATALOGUE, get_property
from otaproof.properties.check import run_engine
from otaproof.properties.engines import pdr
from otaproof.properties.engines.problem import Problem
from otaproof.properties.engines.strengthen import inductive_subset, inductive_subset_and_step, model_lemmas
from otaproof.properties.jobs import parts
from otaproof.properties.solver import Deadline
from otaproof.properties.templates import screened
from otaproof.properties.verdict import Budget, Proved, Violated

BUDGET = Budget(timeout=1800, depth=12)  # the budget is the Z3 resource limit; the seconds only a cap


def with_false_lemmas(threats: frozenset[str] = frozenset()) -> tuple[BuiltModel, set[str]]:
    built = build(Scenario(threats=threats))
    m = built.model
    never_listed = ~m.listed["PPMID_v2"] & ~m.listed["HCALCS_v2"]
    bogus = (Lemma("bogus-no-cs05c-ever", "false: the DSP never sends CS05c", m.wan_down["P1"].length == 0),
             Lemma("bogus-no-new-versions", "false: version 2 is never listed (assumed, it would hide the "
                   "P-CPL-NOW counterexample)", never_listed))
    return dataclasses.replace(built, lemmas=built.lemmas + bogus), {lm.name for lm in bogus}


def test_houdini_drops_false_lemmas_and_keeps_the_true_ones() -> None:
    built, bogus = with_false_lemmas()
    found = model_lemmas(built.system, built.lemmas, Deadline(BUDGET.timeout, BUDGET.rlimit))
    assert not bogus & set(found.names)
    assert "held-certified[P1]" in found.names and "listed-was-listed[PPMID_v1]" in found.names


def test_a_false_lemma_neither_proves_a_violated_property_nor_blocks_a_proof() -> None:
    built, bogus = with_false_lemmas()
    known = model_lemmas(built.system, built.lemmas, Deadline(BUDGET.timeout, BUDGET.rlimit))
    violated = run_engine(built, get_property("P-CPL-NOW"), "bmc", BUDGET, known)
    assert isinstance(violated, Violated)  # pruning by the (true) lemmas loses no real path
    lemma_proof = run_engine(built, get_property("P-CPL-NOW"), "lemmas", BUDGET, known)
    assert not isinstance(lemma_proof, Proved)
    proved = run_engine(built, get_property("P-CPL"), "lemmas", BUDGET, known)
    assert isinstance(proved, Proved) and proved.certificate.checked
    assert not bogus & set(proved.certificate.lemmas)
    assert "held-certified[P1]" in proved.certificate.lemmas


def test_generic_message_lemmas_keep_the_channel_facts_and_drop_the_false_ones() -> None:
    """A slot past the queue's length is blank (the channels clear what they remove); a report
    queue does carry the images a device can run, so 'never carries PPMID_v2' is dropped."""
    built = build(Scenario())
    found = model_lemmas(built.system, built.lemmas, Deadline(BUDGET.timeout, BUDGET.rlimit))
    kept = set(found.names)
    assert {"CH->DSP[P1][0].img-blank-when-empty", "P1->CH[0].outcome-blank-when-empty"} <= kept
    assert "CH->DSP[P1][0].img-never-PPMID_v2" not in kept
    assert "CH->DSP[P1][0].img-never-PPMID_rogue" in kept  # an unsigned image is never reported running


def test_screening_on_a_sample_leaves_out_refuted_candidates_and_changes_no_inductive_subset() -> None:
    """Under han_mitm about half the design's candidates are false in a sampled state; Houdini
    without them keeps exactly what it keeps with them (and the two false ones above are gone)."""
    built, bogus = with_false_lemmas(frozenset({"han_mitm"}))
    left = screened(built.system, built.lemmas, 0)
    assert len(left) < 0.6 * len(built.lemmas) and not bogus & {lm.name for lm in left}
    every = inductive_subset(built.system, [(lm.name, lm.expr) for lm in built.lemmas],
                             Deadline(BUDGET.timeout, BUDGET.rlimit))
    assert model_lemmas(built.system, built.lemmas, Deadline(BUDGET.timeout, BUDGET.rlimit)).names == every.names


def test_the_row_solver_and_the_own_lemma_solver_answer_as_a_fresh_solver() -> None:
    """The lemma stage asks its relative-induction query on one solver per row (``_RowStep``) or
    on its own-lemma search's solver (``inductive_subset_and_step``): on every safety part of the
    approved design under han_mitm (proved and not) the answer is a fresh solver's."""
    built = build(Scenario(threats=frozenset({"han_mitm"})))
    deadline, budget = Deadline(300, 0), Budget()
    known = model_lemmas(built.system, built.lemmas, deadline)
    answers = []
    for prop in CATALOGUE:
        for job in parts(built, prop):
            if not isinstance(job, Problem):
                continue
            task = job.task
            own = [(lm.name, lm.expr) for lm in task.lemmas if pdr._reads_monitor(task, lm.expr)]
            local = inductive_subset(task.system, own, deadline, 0, known, at_once=True)
            fresh = pdr.relatively_inductive(task, known + local, budget, deadline) is not None
            assert (pdr.relatively_inductive(task, local, budget, deadline, row=known) is not None) == fresh, prop.id
            if own:
                again, inductive = inductive_subset_and_step(task.system, own, deadline, 0, known, task.bad)
                assert again.names == local.names and inductive == fresh, prop.id
            answers.append(fresh)
    assert True in answers and False in answers  # both kinds of answer were compared
