"""Display rendering benchmark of issue 2.

    python bench/bench_render.py [--rounds 80]

Baseline: ``pydicom.dcmread(path).pixel_array`` of RG1_UNCI.dcm (file to decoded array: the bare
decode of the same file). Measured: ``render_for_display(path)`` (file to 8-bit display pixels
with the file's window, MONOCHROME1 inversion and the default max_side 2048, which keeps RG1 at
full size). Both run interleaved in one loop after a warm-up, so machine load hits them alike.
Each call is timed twice: wall clock (what a reviewer waits; the verdict), and the CPU time of
the whole process (``time.process_time``, all threads: the work done, which waiting for a core on
a shared machine does not inflate). Figures are medians, plus the minimum wall time. Targets:
render <= 1.5x baseline; a cached re-render <= 5 ms. Also printed: other presets and sizes, the
cache hit, PNG / WebP / JPEG encoding, and JPEG 2000 decode (RG1_J2KR).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pydicom  # noqa: E402
from pydicom.data import get_testdata_file  # noqa: E402

from bench.common import machine  # noqa: E402
from review_db.imaging import (  # noqa: E402
    RenderCache,
    encode_jpeg,
    encode_png,
    encode_webp,
    render_for_display,
)


def median_ms(fn: Callable[[], object], rounds: int) -> float:
    fn()  # warm-up
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def interleaved(fns: dict[str, Callable[[], object]], rounds: int) -> dict[str, dict[str, float]]:
    """Per function: median and minimum wall ms, median process CPU ms; called in turn."""
    wall: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()  # warm-up: imports, the display LUT cache
    for _ in range(rounds):
        for name, fn in fns.items():
            start_cpu, start = time.process_time(), time.perf_counter()
            fn()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return {
        name: {
            "wall": statistics.median(wall[name]) * 1000,
            "min": min(wall[name]) * 1000,
            "cpu": statistics.median(cpu[name]) * 1000,
        }
        for name in fns
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=80)
    args = parser.parse_args()
    unci = Path(get_testdata_file("RG1_UNCI.dcm"))
    j2kr = Path(get_testdata_file("RG1_J2KR.dcm"))
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    print(f"pydicom {pydicom.__version__}; RG1_UNCI.dcm 1841 x 1955, 15-bit MONOCHROME1\n")

    parsed = [pydicom.dcmread(unci) for _ in range(args.rounds + 2)]
    times = interleaved(
        {
            "baseline dcmread(path).pixel_array": lambda: pydicom.dcmread(unci).pixel_array,
            "render_for_display(path)": lambda: render_for_display(unci),
            "  pixel_array alone, parsed ds": lambda: parsed.pop().pixel_array,
        },
        args.rounds,
    )
    print(f"{'':37s}{'wall p50':>10s}{'wall min':>10s}{'CPU p50':>10s}")
    for name, row in times.items():
        print(f"{name:37s}{row['wall']:10.2f}{row['min']:10.2f}{row['cpu']:10.2f}  ms")
    base, render = times["baseline dcmread(path).pixel_array"], times["render_for_display(path)"]
    for kind, label in (("wall", "wall p50"), ("min", "wall min"), ("cpu", "CPU p50")):
        ratio = render[kind] / base[kind]
        verdict = ("PASS" if ratio <= 1.5 else "FAIL") if kind == "wall" else "for information"
        print(f"ratio render / baseline, {label:12s}{ratio:8.2f}    (target <= 1.5: {verdict})")
    print()

    payload = unci.read_bytes()
    for label, fn in (
        ("render from bytes in memory", lambda: render_for_display(payload)),
        ("render preset lung", lambda: render_for_display(unci, preset="lung")),
        ("render max_side 1024", lambda: render_for_display(unci, max_side=1024)),
    ):
        print(f"{label:37s}{median_ms(fn, args.rounds // 2):8.2f} ms")

    cache = RenderCache(max_items=8)
    cache.render(sha256="0" * 64, data=unci)
    hit = median_ms(lambda: cache.render(sha256="0" * 64, data=unci), 1000)
    verdict = "PASS" if hit <= 5 else "FAIL"
    print(f"cached re-render (RenderCache hit)   {hit:8.4f} ms  (target <= 5: {verdict})\n")

    rendered = render_for_display(unci)
    for label, fn in (
        ("encode PNG fast (zlib 1)", lambda: encode_png(rendered)),
        ("encode PNG default (zlib 6)", lambda: encode_png(rendered, fast=False)),
        ("encode WebP q90 method 2", lambda: encode_webp(rendered)),
        ("encode JPEG q92", lambda: encode_jpeg(rendered)),
    ):
        size = len(fn())
        print(f"{label:37s}{median_ms(fn, 7):8.2f} ms  {size / 1024:8.0f} KiB")

    j2k = median_ms(lambda: pydicom.dcmread(j2kr).pixel_array, 3)
    j2k_render = median_ms(lambda: render_for_display(j2kr), 3)
    print(f"\nJPEG 2000 decode RG1_J2KR (pylibjpeg) {j2k:7.1f} ms; render {j2k_render:.1f} ms")


if __name__ == "__main__":
    main()
