"""CPU bench: data building and collation vs a training step, LoRA SFT on the tiny VLM (issue 6).

    python bench/bench_training.py [--rows 32] [--batch 2] [--rounds 3] [--image-side 1024]

Builds an SFT export in the export's layout (radiograph-sized PNGs, verified chains), then times,
per batch of ``--batch`` rows, the two data paths of ``training.sft`` and a training step:

- on the fly (``precompute: false``, what training.sft did before): data building = read the rows,
  resize each image once to the processor's size (``training.images.prepare_images``) and make
  the dataset, amortised over one epoch; collation = TRL's vision collator on every step (image
  decode, image processor, chat template, tokenisation, padding);
- precomputed (the default): data building = read the rows and process each one once
  (``training.precompute.precompute``: decode, image processor, template, tokens, labels, written
  to a content-addressed cache), amortised over one epoch, with a cold cache (a first run) and a
  warm one (a later run on the same cases: hashing and lookups only); per step = reading the
  batch's tensors from the cache and padding them (``PaddingCollator``);
- a training step: forward, backward and AdamW on a collated batch (LoRA r=16 on q/v).

The machine is shared: the three per-batch timings are interleaved batch by batch over
``--rounds`` rounds, and the builds repeated once per round; medians are reported, wall and CPU
time (process CPU, all threads). Prints each figure and the ratios to the step. Target: data
building + collation <= 10% of a step.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _radiograph_png() -> bytes:
    """The real chest radiograph of pydicom-data (RG1, 1955 x 1841) as an export writes it."""
    from pydicom.data import get_testdata_file

    from exports.images import export_png

    return export_png(Path(get_testdata_file("RG1_UNCI.dcm")).read_bytes())


def _export(root: Path, rows: int, side: int, image: str) -> Path:
    from tests.training.helpers import sft_row, write_export

    data = [
        sft_row(
            i,
            steps=(
                f"Study {i}: the cardiac silhouette is within normal limits.",
                "Blunting of the right costophrenic angle suggests a small right pleural effusion.",
                "There is no pneumothorax.",
                "No focal consolidation is seen.",
            ),
            answer="A",
        )
        for i in range(rows)
    ]
    splits = {"train": data, "test": data[:1]}
    if image == "noise":  # synthetic RGB noise PNGs of side x side (incompressible: slow to decode)
        return write_export(root / "export", kind="sft", splits=splits, image_size=side)
    png = _radiograph_png()
    export = write_export(root / "export", kind="sft", splits=splits, image_size=8)
    for path in export.glob("*/images/*.png"):
        path.write_bytes(png)
    manifest = json.loads((export / "manifest.json").read_text())
    digest = {"sha256": hashlib.sha256(png).hexdigest(), "bytes": len(png)}
    manifest["files"].update({k: digest for k in manifest["files"] if k.endswith(".png")})
    (export / "manifest.json").write_text(json.dumps(manifest))
    return export


class Clock:
    """Wall and process-CPU seconds of timed calls, by name."""

    def __init__(self) -> None:
        self.wall: dict[str, list[float]] = defaultdict(list)
        self.cpu: dict[str, list[float]] = defaultdict(list)

    def __call__(self, name: str, fn, *args, per: float = 1.0):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn(*args)
        self.wall[name].append((time.perf_counter() - w0) / per)
        self.cpu[name].append((time.process_time() - c0) / per)
        return out

    def median(self, name: str) -> tuple[float, float]:
        return statistics.median(self.wall[name]), statistics.median(self.cpu[name])


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=32)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds over the epoch's batches")
    parser.add_argument("--epochs", type=int, default=2, help="epochs a run trains (sft.yaml: 2)")
    parser.add_argument(
        "--image",
        choices=("radiograph", "noise"),
        default="radiograph",
        help="radiograph: pydicom-data's RG1 chest X-ray exported as the export does (8-bit grayscale "
        "PNG, 1955 x 1841); noise: RGB noise PNGs of --image-side",
    )
    parser.add_argument("--image-side", type=int, default=1024, help="side of the noise PNGs")
    parser.add_argument("--max-pixels", type=int, default=200_704, help="processor's pixel bound (448 x 448)")
    return parser.parse_args()


def _builders(root: Path, export: Path, processor, clock: Clock, per_batch: float):
    from training.data import prompt_completion, read_rows, sft_dataset
    from training.images import prepare_images
    from training.precompute import manifest_digests, precompute

    fresh = iter(range(1_000))

    def on_the_fly():  # a fresh image cache each time: the first epoch's full cost
        rows = read_rows(export, "train")
        cache = root / f"image-cache-{next(fresh)}"
        return sft_dataset(prepare_images(rows, processor=processor, cache_dir=cache))

    def precomputed(cache: Path):
        rows = [prompt_completion(r) for r in read_rows(export, "train")]
        known = manifest_digests(export)
        return precompute(rows, processor=processor, cache_dir=cache, known_digests=known)[0]

    def build_round() -> tuple:
        cold_cache = root / f"row-cache-{next(fresh)}"
        old = clock("build: on the fly", on_the_fly, per=per_batch)
        new = clock("build: precompute, cold cache", precomputed, cold_cache, per=per_batch)
        clock("build: precompute, warm cache", precomputed, cold_cache, per=per_batch)
        return old, new

    return build_round


def _report(clock: Clock, args: argparse.Namespace, tokens: int) -> None:
    import torch

    step_w, step_c = clock.median("step")

    def line(name: str, what: str) -> tuple[float, float]:
        w, c = clock.median(name)
        print(f"{name:<34}: {w * 1e3:8.2f} ms wall {c * 1e3:8.2f} ms CPU  ({what})")
        return w, c

    print(f"device: CPU ({torch.get_num_threads()} threads), torch {torch.__version__}")
    images = "RG1 radiograph 1955x1841 L" if args.image == "radiograph" else f"noise {args.image_side}px RGB"
    print(
        f"batch: {args.batch} rows, {tokens} tokens, images {images} -> max_pixels "
        f"{args.max_pixels}; {args.rows} rows; {args.rounds} interleaved rounds; medians"
    )
    old_b = line("build: on the fly", "rows, resize once, dataset; per batch over one epoch")
    old_c = line("collate: on the fly", "TRL vision collator: decode, processor, template, tokens")
    cold = line("build: precompute, cold cache", "process every row once; per batch over one epoch")
    warm = line("build: precompute, warm cache", "a later run: hashes and lookups; per batch")
    new_c = line("collate: precomputed", "read the batch's tensors, pad, concatenate")
    line("step", "forward + backward + AdamW, LoRA r=16")

    def ratio(label: str, parts: list[tuple[float, float]]) -> None:
        w = sum(p[0] for p in parts) / step_w
        c = sum(p[1] for p in parts) / step_c
        verdict = "PASS" if w <= 0.10 else "FAIL"
        print(f"  {label:<58}: {w:7.1%} wall {c:7.1%} CPU  {verdict}")

    print("ratio (data building + collation) / step, target <= 10%:")
    ratio("on the fly (before), first epoch", [old_b, old_c])
    ratio("precomputed, per step (collation only)", [new_c])
    ratio("precomputed, warm cache (a later run), one epoch", [warm, new_c])
    ratio(
        f"precomputed, cold cache, over {args.epochs} epochs",
        [(cold[0] / args.epochs, cold[1] / args.epochs), new_c],
    )
    ratio("precomputed, cold cache, first epoch alone", [cold, new_c])


def main() -> None:
    args = _parse()

    import torch
    from peft import LoraConfig, get_peft_model
    from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

    from reasoner.tiny import build_tiny_qwen2vl
    from training.modeling import load_processor, load_vlm
    from training.precompute import PaddingCollator

    torch.manual_seed(0)
    clock = Clock()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model_dir = build_tiny_qwen2vl(root / "tiny", max_pixels=args.max_pixels)
        export = _export(root, args.rows, args.image_side, args.image)
        processor = load_processor(str(model_dir), max_pixels=args.max_pixels)
        build_round = _builders(root, export, processor, clock, per_batch=args.rows / args.batch)
        old_collate = DataCollatorForVisionLanguageModeling(processor=processor, completion_only_loss=True)
        new_collate = PaddingCollator(processor.tokenizer.pad_token_id)
        model = get_peft_model(
            load_vlm(str(model_dir)), LoraConfig(r=16, lora_alpha=32, target_modules=["q_proj", "v_proj"])
        )
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
        model.train()

        def step(batch: dict) -> None:
            model(**batch).loss.backward()
            optimizer.step()
            optimizer.zero_grad()

        batches = [list(range(i, i + args.batch)) for i in range(0, args.rows - args.batch + 1, args.batch)]
        tokens = 0
        for r in range(args.rounds):
            old_ds, new_ds = build_round()
            if r == 0:
                step(new_collate(new_ds.__getitems__(batches[0])))  # warm-up
            for idx in batches:
                clock("collate: on the fly", lambda ds, i: old_collate(ds.__getitems__(i)), old_ds, idx)
                batch = clock(
                    "collate: precomputed", lambda ds, i: new_collate(ds.__getitems__(i)), new_ds, idx
                )
                clock("step", step, batch)
                tokens = int(batch["input_ids"].numel())
    _report(clock, args, tokens)


if __name__ == "__main__":
    main()
