"""The one error the imaging layer raises on purpose.

Contract: every input the imaging layer refuses (unreadable, corrupt, too large, unsupported, outside
its folder) ends as :class:`ImageRejected`, whose message names the file and the reason. Anything
else escaping this package is a bug.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vocab.errors import ChestXError

# What must never be turned into a rejection: the user or the interpreter stopping us.
_NOT_INPUT_ERRORS = (KeyboardInterrupt, SystemExit, GeneratorExit)


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


@contextmanager
def rejecting(path: Path, reason: str) -> Iterator[None]:
    """Turn any failure of a library on bad input into ``ImageRejected(path, reason (Type))``.

    BaseException too: decoders written in Rust (pylibjpeg-rle) panic with pyo3's
    ``PanicException``, which is not an ``Exception``. Library messages are not quoted (they may
    echo PHI), and library warnings are silenced for the same reason (they quote tag values).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    except (ImageRejected, *_NOT_INPUT_ERRORS):
        raise
    except BaseException as exc:  # noqa: BLE001 - see the docstring
        raise ImageRejected(path, f"{reason} ({type(exc).__name__})") from None
