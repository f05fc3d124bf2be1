"""Test generators: counterexamples and coverage goals become pytest suites replayed through an adapter.

adapter (the interface and the abstract state), refimpl_adapter (the reference implementation
behind it), replay (step-by-step comparison), counterexamples (reproductions and guards),
coverage (trap-property goals), oracle (Hypothesis with the model as oracle), plan and suite
(what a suite holds, and writing it), mutants (seeded refimpl faults and mutation analysis).
"""
