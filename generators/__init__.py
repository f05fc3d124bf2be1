"""Test generators (counterexample replays, conformance suites): see the issue tracker; not built yet."""
