"""The one error the imaging layer raises on purpose.

Contract: every input the imaging layer refuses (unreadable, corrupt, too large, unsupported, outside
its folder) ends as :class:`ImageRejected`, whose message names the file and the reason. Anything
else escaping this package is a bug.
"""

from __future__ import annotations

from pathlib import Path

from review_db.errors import ChestXError


class ImageRejected(ChestXError, ValueError):
    """An image file that cannot be imported; nothing was written for it.

    ``path`` is the file as the caller named it and ``reason`` a sentence meant for a person. The
    reason never quotes values read from the file: a corrupt DICOM's values may be PHI.
    """

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):  # keep it picklable (process pools) despite the two-argument __init__
        return (type(self), (self.path, self.reason))
