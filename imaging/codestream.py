"""Remove comment and application segments from compressed pixel data (JPEG, JPEG-LS, JPEG 2000).

Contract: :func:`strip_metadata_segments` returns the codestream without the segments a decoder
may ignore and that may carry text: JPEG COM and APPn (EXIF, JFIF, vendor blocks; APP14 "Adobe"
stays, it tells the colour transform), and COM in the JPEG 2000 main header. Everything else is
kept byte for byte, so the decoded pixels do not change. Real files carry such text: pydicom-data's
RG1_J2KR names its encoder in a COM marker; a JPEG's may hold anything a modality wrote.
A stream this module cannot parse is returned unchanged (the caller still stores de-identified
header attributes; the pixels are what they are). JPEG 2000 tile-part headers are left alone:
removing a segment there would mean rewriting Psot.
"""

from __future__ import annotations

import struct

_JPEG_APP14 = 0xEE
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RSTn: markers without a length


def strip_metadata_segments(frame: bytes) -> bytes:
    """``frame`` without JPEG COM/APPn or JPEG 2000 main-header COM segments."""
    try:
        if frame[:2] == b"\xff\xd8":
            return _strip_jpeg(frame)
        if frame[:4] == b"\xff\x4f\xff\x51":
            return _strip_j2k(frame)
    except (struct.error, IndexError):
        pass
    return frame


def _strip_jpeg(frame: bytes) -> bytes:
    kept = [frame[:2]]
    pos = 2
    while pos + 4 <= len(frame):
        if frame[pos] != 0xFF:
            return frame  # not a marker where one must be: leave the stream alone
        marker = frame[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE:
            kept.append(frame[pos : pos + 2])
            pos += 2
            continue
        if marker == 0xDA:  # start of scan: entropy-coded data and the rest follow unchanged
            kept.append(frame[pos:])
            return b"".join(kept)
        (length,) = struct.unpack(">H", frame[pos + 2 : pos + 4])
        end = pos + 2 + length
        if length < 2 or end > len(frame):
            return frame
        is_app = 0xE0 <= marker <= 0xEF and marker != _JPEG_APP14
        if not (is_app or marker == 0xFE):
            kept.append(frame[pos:end])
        pos = end
    return frame


def _strip_j2k(frame: bytes) -> bytes:
    kept = [frame[:2]]
    pos = 2
    while pos + 4 <= len(frame):
        marker = frame[pos : pos + 2]
        if marker[0] != 0xFF:
            return frame
        if marker == b"\xff\x90":  # first tile-part (SOT): the main header is over
            kept.append(frame[pos:])
            return b"".join(kept)
        (length,) = struct.unpack(">H", frame[pos + 2 : pos + 4])
        end = pos + 2 + length
        if length < 2 or end > len(frame):
            return frame
        if marker != b"\xff\x64":  # COM
            kept.append(frame[pos:end])
        pos = end
    return frame
