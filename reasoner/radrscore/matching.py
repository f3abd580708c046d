"""How the offline judge compares findings: similarity of cores, hard constraints, unit matching.

Pure functions over findings and an embedding table (``vectors[index[core]]`` is the unit vector
of a core phrase). Three relations between two findings, from strict to loose:

- *same fact* (:func:`relations`, first matrix): the cores are similar (cosine at or above a
  threshold, the best over each finding's aliases), the sides do not conflict (left vs right) and
  the statuses agree in polarity (present vs absent/normal; improved vs worsened conflict too).
  "no pneumothorax" and "pneumothorax" are never the same fact.
- *contradiction* (second matrix): similar cores, compatible sides, opposite polarity.
- *same topic* (:func:`same_topic`): similar cores and compatible sides, whatever the statuses:
  both chains speak about the same observation. Completeness (recall of the reference's
  observations) uses it; factuality and effectiveness never do.

:func:`matched_units` counts how many units (a chain's steps) of one side can be paired, one to
one, with units of the other through such relations (a maximum bipartite matching).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from reasoner.radrscore.types import Finding, Status

_SIDE_CODE = {"left": 1, "right": 2}
_COURSE_CODE = {Status.IMPROVED: 1, Status.WORSENED: 2}


def best_similarity(
    left: Sequence[Finding], right: Sequence[Finding], vectors: np.ndarray, index: dict[str, int]
) -> np.ndarray:
    """(len(left), len(right)) cosine similarities, the maximum over each finding's cores."""
    if not left or not right:
        return np.zeros((len(left), len(right)), dtype=np.float32)
    left_rows = [index[c] for f in left for c in f.cores]
    right_rows = [index[c] for f in right for c in f.cores]
    sim = vectors[left_rows] @ vectors[right_rows].T
    left_starts = np.cumsum([0] + [len(f.cores) for f in left[:-1]])
    right_starts = np.cumsum([0] + [len(f.cores) for f in right[:-1]])
    sim = np.maximum.reduceat(sim, left_starts, axis=0)
    return np.maximum.reduceat(sim, right_starts, axis=1)


def constraints(left: Sequence[Finding], right: Sequence[Finding]) -> tuple[np.ndarray, np.ndarray]:
    """(sides compatible, statuses compatible) as boolean matrices, vectorised.

    Sides conflict only left against right; statuses must share polarity, and improved
    against worsened conflicts too (see :func:`compatible`).
    """

    def codes(fs: Sequence[Finding]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        side = np.array([_SIDE_CODE.get(f.laterality or "", 0) for f in fs], dtype=np.int8)
        positive = np.array([f.status.positive for f in fs], dtype=bool)
        course = np.array([_COURSE_CODE.get(f.status, 0) for f in fs], dtype=np.int8)
        return side, positive, course

    ls, lp, lc = codes(left)
    rs, rp, rc = codes(right)
    sides = ls[:, None] * rs[None, :] != 2  # 1 * 2: left against right
    courses = lc[:, None] * rc[None, :] != 2  # 1 * 2: improved against worsened
    return sides, (lp[:, None] == rp[None, :]) & courses


def compatible(a: Status, b: Status) -> bool:
    """Hard constraint on statuses: same polarity, and not improved against worsened."""
    if a.positive != b.positive:
        return False
    return {a, b} != {Status.IMPROVED, Status.WORSENED}


def relations(
    left: Sequence[Finding],
    right: Sequence[Finding],
    vectors: np.ndarray,
    index: dict[str, int],
    *,
    match_threshold: float,
    conflict_threshold: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean (len(left), len(right)) matrices: which pairs state the same fact, which contradict."""
    if not left or not right:
        empty = np.zeros((len(left), len(right)), dtype=bool)
        return empty, empty
    sim = best_similarity(left, right, vectors, index)
    sides, agree = constraints(left, right)
    return (sim >= match_threshold) & sides & agree, (sim >= conflict_threshold) & sides & ~agree


def same_topic(
    left: Sequence[Finding],
    right: Sequence[Finding],
    vectors: np.ndarray,
    index: dict[str, int],
    *,
    threshold: float,
    require_status: bool = False,
) -> np.ndarray:
    """Boolean matrix: which pairs speak about the same observation (statuses aside, by default).

    ``require_status`` adds the status constraint, which makes it the same-fact relation.
    """
    if not left or not right:
        return np.zeros((len(left), len(right)), dtype=bool)
    sides, agree = constraints(left, right)
    ok = (best_similarity(left, right, vectors, index) >= threshold) & sides
    return ok & agree if require_status else ok


def matched_units(
    related: np.ndarray, left_units: Sequence[int], right_units: Sequence[int]
) -> dict[int, int]:
    """A maximum one-to-one pairing of units, given which findings are related.

    ``related[i, j]`` says whether finding i (of unit ``left_units[i]``) and finding j (of unit
    ``right_units[j]``) are related; two units can be paired when any of their findings are.
    Returns ``{left unit: right unit}`` for the paired units.
    """
    lu = sorted(set(left_units))
    ru = sorted(set(right_units))
    if not lu or not ru or not related.any():
        return {}
    li = {u: k for k, u in enumerate(lu)}
    ri = {u: k for k, u in enumerate(ru)}
    graph = np.zeros((len(lu), len(ru)), dtype=np.int8)
    rows, cols = np.nonzero(related)
    graph[[li[left_units[r]] for r in rows], [ri[right_units[c]] for c in cols]] = 1
    pairs = maximum_bipartite_matching(csr_matrix(graph), perm_type="column")
    return {lu[k]: ru[int(c)] for k, c in enumerate(pairs) if c >= 0}
