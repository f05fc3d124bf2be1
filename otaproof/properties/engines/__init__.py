"""Model-checking engines; each maps (Problem, Budget) to one Verdict.

``bmc`` (shortest counterexamples), ``kind`` (k-induction), ``pdr`` (Spacer, and the cheap lemma
proof), ``tail`` (bounded-response counterexamples found tail first), ``explicit`` (state graph,
also REACH), ``swarm`` (compiled explicit states: enumeration and random walkers) and
``recovery`` (REACH by one-step recovery); ``problem`` is what they check and
``strengthen`` the inductive lemmas (Houdini) they share. This package imports none of them, so
no engine module imports its own package.
"""
