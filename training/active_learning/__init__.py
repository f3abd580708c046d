"""Active learning on reasoning steps (issue 17): which case a reviewer should see next.

- :mod:`.strategy`: the interface (a :class:`~.strategy.Strategy` maps one chain's PRM scores to
  a :class:`~.strategy.Priority`), apart from its implementations;
- :mod:`.strategies`: ``fifo``, ``lowest``, ``uncertain``, ``disagreement`` (pure functions);
- :mod:`.scoring`: the PRM scores every step of every open model chain and the strategy sets
  each case's priority, in the database (what the loop's end and ``chestx prioritize`` run);
- :mod:`.judged`, :mod:`.simulation`: the measurement on GPT-4o-judged chains
  (``bench/bench_active_learning.py``, docs/ACTIVE_LEARNING.md).

Nothing is re-exported here: importing the package costs nothing, and the simulation (which
trains heads with scikit-learn) loads only where it is used.
"""
