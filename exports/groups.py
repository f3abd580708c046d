"""Split groups: patients linked by a shared radiograph land in one split together.

Contract: :func:`load_split_groups` reads, over the whole database (not only the selection, so
that a filter never moves anyone), the cases whose prior study belongs to another split unit than
the case itself (:func:`~exports.ids.patient_group`): that prior radiograph is seen in
both units, so they must share a split. :class:`SplitGroups` joins such links into connected
groups (union-find) and answers ``assign(unit)`` like :meth:`~exports.ids.SplitSpec.assign`.

A study is one image (``studies.image_sha256`` is unique) of one patient, so a case's current
image never links two units; only a prior under another pseudonym does (the demo's temporal case
compares a PNG rendering filed under another pseudonym with the DICOM it came from).

Why "most held-out wins": a unit linked to nobody keeps the split :class:`SplitSpec` always gave
it (the seed decides, as before), and a group goes where its most held-out member would go alone
(test before validation before train), so a patient once in test stays in test when a later case
links it to others. Read-only.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from exports.ids import SplitSpec, patient_group
from review_db.models import Case, Study

_HELD_OUT = {"train": 0, "validation": 1, "test": 2}


class SplitGroups:
    """:class:`SplitSpec` over connected groups of split units (patients, or lone cases)."""

    def __init__(self, spec: SplitSpec, links: Iterable[tuple[str, str]] = ()) -> None:
        self.spec = spec
        parent: dict[str, str] = {}

        def root(unit: str) -> str:
            parent.setdefault(unit, unit)
            while parent[unit] != unit:
                parent[unit] = parent[parent[unit]]  # path halving keeps the trees flat
                unit = parent[unit]
            return unit

        for a, b in links:
            ra, rb = root(a), root(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
        members: dict[str, list[str]] = {}
        for unit in parent:
            members.setdefault(root(unit), []).append(unit)
        self._split: dict[str, str] = {}
        for group in members.values():
            split = max((spec.assign(u) for u in group), key=_HELD_OUT.__getitem__)
            self._split.update(dict.fromkeys(group, split))

    @property
    def seed(self) -> int:
        return self.spec.seed

    def linked(self) -> int:
        """How many split units share a split with another unit through an image."""
        return len(self._split)

    def assign(self, unit: str) -> str:
        """``train``, ``validation`` or ``test`` for a split unit (see the module docstring)."""
        found = self._split.get(unit)
        return found if found is not None else self.spec.assign(unit)


def load_split_groups(session: Session, spec: SplitSpec) -> SplitGroups:
    """The split groups of the whole database under ``spec``."""
    current, prior = aliased(Study), aliased(Study)
    query = (
        select(Case.id, current.patient_pseudonym, prior.patient_pseudonym)
        .join(prior, prior.id == Case.prior_study_id)
        .outerjoin(current, current.id == Case.study_id)
        .where(or_(current.id.is_(None), current.patient_pseudonym != prior.patient_pseudonym))
    )
    links = [
        (patient_group(mine, case_id), theirs) for case_id, mine, theirs in session.execute(query).tuples()
    ]
    return SplitGroups(spec, links)
