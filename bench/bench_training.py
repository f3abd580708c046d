"""CPU bench: data building and collation vs a training step, LoRA SFT on the tiny VLM (issue 6).

    python bench/bench_training.py [--rows 32] [--batch 2] [--steps 10] [--image-side 512]

Builds an SFT export in the export's layout (PNG radiograph-sized images, verified chains), then
measures, per batch of ``--batch`` rows:

- data building: reading the export's rows, resizing each image once to the processor's target
  size (``training.images.prepare_images``, cached on disk) and making the trainer's dataset
  (``training.data.sft_dataset``), amortised per batch over one epoch;
- collation: what the trainer's data collator does for one batch (image decode from the dataset,
  chat template, image processor, tokenisation, padding, labels);
- a training step: forward, backward and optimiser step of SFTTrainer on a collated batch.

Prints the three times and the ratio (building + collation) / step. Target: <= 10%.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _export(root: Path, rows: int, side: int) -> Path:
    from tests.training.helpers import sft_row, write_export

    steps = (
        "The cardiac silhouette is within normal limits.",
        "Blunting of the right costophrenic angle suggests a small right pleural effusion.",
        "There is no pneumothorax.",
        "No focal consolidation is seen.",
    )
    data = [sft_row(i, steps=steps, answer="A") for i in range(rows)]
    return write_export(
        root / "export", kind="sft", splits={"train": data, "test": data[:1]}, image_size=side
    )


def _timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=32)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--image-side", type=int, default=1024, help="side of the exported PNGs")
    parser.add_argument("--max-pixels", type=int, default=200_704, help="processor's pixel bound (448 x 448)")
    args = parser.parse_args()

    import torch
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    from reasoner.tiny import build_tiny_qwen2vl
    from training.data import read_rows, sft_dataset
    from training.images import prepare_images
    from training.modeling import load_processor, load_vlm

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model_dir = build_tiny_qwen2vl(root / "tiny", max_pixels=args.max_pixels)
        export = _export(root, args.rows, args.image_side)
        processor = load_processor(str(model_dir), max_pixels=args.max_pixels)
        caches = iter(range(100))

        def build_dataset():  # a fresh image cache each time: the first epoch's full cost
            rows = read_rows(export, "train")
            cache = root / f"image-cache-{next(caches)}"
            return sft_dataset(prepare_images(rows, processor=processor, cache_dir=cache))

        build = _timed(build_dataset, 3)
        dataset = build_dataset()
        trainer = SFTTrainer(
            model=load_vlm(str(model_dir)),
            args=SFTConfig(
                output_dir=str(root / "out"),
                use_cpu=True,
                max_length=None,
                report_to="none",
                per_device_train_batch_size=args.batch,
                gradient_checkpointing=False,
                max_steps=1,
                save_strategy="no",
                logging_steps=1_000_000,
            ),
            train_dataset=dataset,
            processing_class=processor,
            peft_config=LoraConfig(r=16, lora_alpha=32, target_modules=["q_proj", "v_proj"]),
        )
        collate_times, collated = [], []
        for i in range(args.steps):
            t0 = time.perf_counter()
            rows = [
                dataset[(i * args.batch + j) % len(dataset)] for j in range(args.batch)
            ]  # decodes the PNGs
            collated.append(trainer.data_collator(rows))
            collate_times.append(time.perf_counter() - t0)
        model = trainer.model
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
        model.train()

        def step(batch: dict) -> None:
            out = model(**batch)
            out.loss.backward()
            optimizer.step()
            optimizer.zero_grad()

        step(collated[0])  # warm-up
        step_times = []
        for batch in collated:
            t0 = time.perf_counter()
            step(batch)
            step_times.append(time.perf_counter() - t0)
        tokens = int(collated[0]["input_ids"].numel())

    build_per_batch = statistics.median(build) / (args.rows / args.batch)
    collate = statistics.median(collate_times)
    train_step = statistics.median(step_times)
    ratio = (build_per_batch + collate) / train_step
    verdict = "PASS" if ratio <= 0.10 else "FAIL"
    shape = f"{args.batch} rows, {tokens} tokens, images {args.image_side}px -> max_pixels {args.max_pixels}"
    print(f"device: CPU ({torch.get_num_threads()} threads), torch {torch.__version__}")
    print(f"batch: {shape}")
    print(f"data building per batch : {build_per_batch * 1e3:8.2f} ms  (rows, resize once, dataset)")
    print(
        f"collation per batch     : {collate * 1e3:8.2f} ms  (image decode + processor + template + padding)"
    )
    print(f"training step           : {train_step * 1e3:8.2f} ms  (forward + backward + AdamW, LoRA r=16)")
    print(f"ratio (building + collation) / step: {ratio:.1%}  (target <= 10%)  {verdict}")


if __name__ == "__main__":
    main()
