"""The one error the imaging layer raises on purpose, and what a library's failure means in words.

Contract: every input the imaging layer refuses (unreadable, corrupt, too large, unsupported, outside
its folder) ends as :class:`ImageRejected`, whose message names the file and says what is wrong
with it. A failure of a decoding library becomes, through :func:`rejecting`, the stage that failed
and :func:`explain`'s sentence (a truncated file, corrupt compressed data, a missing element...),
never only the exception's class. Anything else escaping this package is a bug.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vocab.errors import ChestXError

# What must never be turned into a rejection: the user or the interpreter stopping us.
_NOT_INPUT_ERRORS = (KeyboardInterrupt, SystemExit, GeneratorExit)
# DICOM element names (the standard's words, never a value read from the file) in library messages.
_MISSING = re.compile(
    r"(?:Missing required element: \([0-9A-Fa-f,]+\) |has no attribute )'([A-Za-z][A-Za-z ]{1,40})'"
)
_INVALID = re.compile(r"'([A-Za-z][A-Za-z ]{1,40})' value of .* is invalid")
_TRUNCATED = "the file ends too early (it is truncated)"
_CORRUPT_STREAM = "its compressed image data is corrupt"
# (words in the library's message, lower case) -> what they mean; the first match wins.
_BY_MESSAGE = (
    (("truncated",), _TRUNCATED),
    (
        ("pixel data is less than expected",),
        "the pixel data is shorter than its rows, columns and bits declare",
    ),
    (("not a transfer syntax",), "its transfer syntax UID names no transfer syntax"),
    (
        ("basic offset table", "fragment", "encapsulated"),
        "its compressed pixel data is not framed as DICOM requires",
    ),
    (("value representation",), "an element has an unknown value representation (a damaged header)"),
    (("even multiple of bytes per value",), "an element's length does not fit its value representation"),
    (("could not convert", "invalid literal"), "a numeric element holds something that is not a number"),
    (
        ("no pixel data decoders", "missing dependencies"),
        "it is compressed in a form no installed decoder reads",
    ),
    (
        ("unable to decode", "unable to decompress"),
        "its compressed pixel data is corrupt: no decoder could read it",
    ),
    (("broken data stream", "unrecognized data stream", "decoder error"), _CORRUPT_STREAM),
    (("cannot identify image file",), "its header is damaged: no image could be recognised in it"),
)
# Exception class -> what it means, when the message said nothing recognisable.
_BY_CLASS = (
    ((MemoryError,), "decoding it needs more memory than is available"),
    ((EOFError,), _TRUNCATED),
    ((UnicodeError,), "a text element is not valid in its declared character set"),
    ((KeyError, AttributeError), "a required element is missing or damaged"),
    ((TypeError,), "an element holds a value of the wrong kind (a damaged header)"),
    ((ValueError,), "an element holds a value the format does not allow (a damaged file)"),
    ((OSError,), "its image data is damaged"),
)


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


def explain(exc: BaseException) -> str:
    """What a decoding library's exception says is wrong with the file, as a sentence.

    The library's message is read, never quoted (it may echo tag values, i.e. PHI); only the
    names of DICOM elements it complains about are repeated.
    """
    text = str(exc)
    kind = f"{type(exc).__module__}.{type(exc).__name__}"
    if kind in ("struct.error", "zlib.error"):
        return _TRUNCATED if kind == "struct.error" else "its compressed data is corrupt"
    if type(exc).__name__ == "PanicException":  # pyo3's, from a decoder written in Rust
        return "its compressed pixel data is corrupt (the decoder stopped)"
    if found := _MISSING.search(text):
        return f"the required element {found.group(1)} is missing"
    if found := _INVALID.search(text):
        return f"the element {found.group(1)} has a value the standard does not allow"
    lowered = text.lower()
    for needles, words in _BY_MESSAGE:
        if any(needle in lowered for needle in needles):
            return words
    for classes, words in _BY_CLASS:
        if isinstance(exc, classes):
            return words
    return "its content is damaged in a way the reader cannot handle"


@contextmanager
def rejecting(path: Path, reason: str) -> Iterator[None]:
    """Turn any failure of a library on bad input into ``ImageRejected(path, "reason: what")``,
    ``what`` being :func:`explain`'s sentence.

    BaseException too: decoders written in Rust (pylibjpeg-rle) panic with pyo3's
    ``PanicException``, which is not an ``Exception``. Library warnings are silenced (they quote
    tag values).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    except (ImageRejected, *_NOT_INPUT_ERRORS):
        raise
    except BaseException as exc:  # noqa: BLE001 - see the docstring
        raise ImageRejected(path, f"{reason}: {explain(exc)}") from None
