"""GPU bench (issue 6): LoRA SFT samples/s of a full-size Qwen2-VL-2B architecture (random weights,
bf16) through the loop's entry point (``training.sft.main``) vs TRL's own SFT example
(``trl/scripts/sft.py``'s ``main``) with the same settings. Target: ratio >= 0.95.

    python bench/bench_training_gpu.py [--steps 40] [--warmup 10] [--batch 4] [--out DIR]

NOT RUN in the session that wrote it (no GPU there): the figures in bench/RESULTS.md say so.

What it does, all offline:
1. builds Qwen2-VL-2B's architecture from its published dimensions with random weights (bf16), a
   byte-level tokenizer with the Qwen special tokens (reasoner.tiny), and the image processor;
2. writes an SFT export (the export's layout: ImageFolder JSON lines, 448 px PNGs, verified chains);
3. trains LoRA (r 16, q/v projections, lr 1e-4, bf16, no gradient checkpointing) for
   ``--steps`` steps twice: through ``training.sft.main`` and through TRL's example ``main``
   (patched only to record step times); samples/s is measured over the steps after ``--warmup``;
4. prints both, the ratio and the device.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Qwen2-VL-2B-Instruct's config.json dimensions (published), so no download is needed.
TEXT_2B = {
    "hidden_size": 1536,
    "intermediate_size": 8960,
    "num_hidden_layers": 28,
    "num_attention_heads": 12,
    "num_key_value_heads": 2,
    "max_position_embeddings": 32768,
    "vocab_size": 151936,
    "rope_parameters": {"rope_type": "default", "rope_theta": 1_000_000.0, "mrope_section": [16, 24, 24]},
}
VISION_2B = {
    "depth": 32,
    "embed_dim": 1280,
    "hidden_size": 1536,
    "num_heads": 16,
    "mlp_ratio": 4,
    "patch_size": 14,
    "spatial_merge_size": 2,
    "temporal_patch_size": 2,
    "in_chans": 3,
}


def build_model(out: Path) -> Path:
    import torch
    from transformers import AutoModelForImageTextToText, Qwen2VLConfig, Qwen2VLImageProcessorPil

    from reasoner.processors import image_only_processor_classes
    from reasoner.tiny import CHAT_TEMPLATE, SPECIAL_TOKENS, _tokenizer

    tokenizer = _tokenizer()
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    text = {
        **TEXT_2B,
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
    }
    config = Qwen2VLConfig(
        text_config=text,
        vision_config=VISION_2B,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = AutoModelForImageTextToText.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(out)
    processor = image_only_processor_classes()["qwen2_vl"](
        image_processor=Qwen2VLImageProcessorPil(size={"shortest_edge": 56 * 56, "longest_edge": 448 * 448}),
        tokenizer=tokenizer,
        chat_template=CHAT_TEMPLATE,
    )
    processor.save_pretrained(out)
    return out


def build_export(root: Path, rows: int) -> Path:
    from tests.training.helpers import sft_row, write_export

    steps = (
        "The cardiac silhouette is within normal limits.",
        "Blunting of the right costophrenic angle suggests a small right pleural effusion.",
        "There is no pneumothorax.",
        "No focal consolidation is seen.",
    )
    data = [sft_row(i, steps=steps, answer="A") for i in range(rows)]
    return write_export(root / "export", kind="sft", splits={"train": data, "test": data[:1]}, image_size=448)


class StepClock:
    """A TrainerCallback recording the wall time at each step end (CUDA synchronised)."""

    def __new__(cls, *args, **kwargs):
        from transformers import TrainerCallback

        class _Clock(TrainerCallback):
            def __init__(self) -> None:
                self.times: list[float] = []

            def on_step_end(self, args, state, control, **kw):  # noqa: ANN001
                import torch

                torch.cuda.synchronize()
                self.times.append(time.perf_counter())

        return _Clock()


def samples_per_s(clock, batch: int, warmup: int) -> float:
    t = clock.times
    return batch * (len(t) - 1 - warmup) / (t[-1] - t[warmup])


COMMON = {
    "bf16": True,
    "learning_rate": 1e-4,
    "report_to": "none",
    "save_strategy": "no",
    "logging_steps": 10,
    "gradient_checkpointing": False,
    "max_length": None,
    "seed": 0,
    "dataloader_num_workers": 2,
}
LORA = {
    "use_peft": True,
    "lora_r": 16,
    "lora_alpha": 32,
    "lora_target_modules": ["q_proj", "v_proj"],
    "dtype": "bfloat16",
}


def run_ours(model: Path, export: Path, out: Path, steps: int, batch: int) -> object:
    from training import sft
    from training.arguments import parse_config

    clock = StepClock()
    args = {
        **COMMON,
        **LORA,
        "model_name_or_path": str(model),
        "dataset_dir": str(export),
        "output_dir": str(out),
        "max_steps": steps,
        "per_device_train_batch_size": batch,
        "max_pixels": 448 * 448,
        "eval_strategy": "no",
        "resume_from_checkpoint": "never",
    }
    sft.main(*parse_config(sft.make_parser(), args), callbacks=[clock])
    return clock


def run_trl_example(model: Path, export: Path, out: Path, steps: int, batch: int) -> object:
    """TRL's own example script, unchanged but for a subclass that adds the clock."""
    import trl
    from trl.scripts import sft as example

    clock = StepClock()
    original = trl.SFTTrainer

    class ClockedSFTTrainer(original):
        def __init__(self, *a, **kw):
            kw["callbacks"] = [*(kw.get("callbacks") or []), clock]
            if kw.get("processing_class") is None:  # no torchvision: give it the image-only processor
                from training.modeling import load_processor

                kw["processing_class"] = load_processor(str(model), max_pixels=448 * 448)
            super().__init__(*a, **kw)

    trl.SFTTrainer = ClockedSFTTrainer
    try:
        parser = example.make_parser()
        argv = [
            "--model_name_or_path",
            str(model),
            "--dataset_name",
            str(export),
            "--output_dir",
            str(out),
            "--max_steps",
            str(steps),
            "--per_device_train_batch_size",
            str(batch),
            "--use_peft",
            "--lora_r",
            "16",
            "--lora_alpha",
            "32",
            "--lora_target_modules",
            "q_proj",
            "v_proj",
            "--dtype",
            "bfloat16",
            "--bf16",
            "--learning_rate",
            "1e-4",
            "--report_to",
            "none",
            "--save_strategy",
            "no",
            "--logging_steps",
            "10",
            "--gradient_checkpointing",
            "false",
            "--seed",
            "0",
            "--dataloader_num_workers",
            "2",
            "--eval_strategy",
            "no",
        ]
        script_args, training_args, model_args, dataset_args = parser.parse_args_and_config(argv)
        training_args.max_length = None
        example.main(script_args, training_args, model_args, dataset_args)
    finally:
        trl.SFTTrainer = original
    return clock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--rows", type=int, default=256)
    parser.add_argument("--out", type=Path, default=None, help="work folder (default: a temporary one)")
    args = parser.parse_args()

    import torch

    if not torch.cuda.is_available():
        raise SystemExit(
            "no CUDA device: this bench needs a GPU (see bench/bench_training.py for the CPU one)"
        )
    with tempfile.TemporaryDirectory(dir=args.out) as tmp:
        root = Path(tmp)
        model = build_model(root / "qwen2vl-2b-random")
        export = build_export(root, args.rows)
        ours = samples_per_s(
            run_ours(model, export, root / "ours", args.steps, args.batch), args.batch, args.warmup
        )
        torch.cuda.empty_cache()
        theirs = samples_per_s(
            run_trl_example(model, export, root / "trl", args.steps, args.batch), args.batch, args.warmup
        )
    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    print(f"loop entry point (training.sft.main): {ours:8.2f} samples/s")
    print(f"TRL example (trl/scripts/sft.py)    : {theirs:8.2f} samples/s")
    print(f"ratio: {ours / theirs:.3f}  (target >= 0.95)  {'PASS' if ours / theirs >= 0.95 else 'FAIL'}")


if __name__ == "__main__":
    main()
