"""Precomputed SFT rows: the same batch and the same loss as TRL's on-the-fly vision collator."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch

from tests.training.helpers import sft_row, write_export, xray

STEPS = ("The costophrenic angles are sharp.", "No pleural fluid is seen.")


@pytest.fixture(scope="module")
def setup(tiny_vlm: Path, tmp_path_factory: pytest.TempPathFactory):
    from training.data import prompt_completion, read_rows
    from training.modeling import load_processor, load_vlm

    tmp = tmp_path_factory.mktemp("precompute")
    rows = [
        sft_row(0, steps=STEPS, answer="B"),
        sft_row(1, steps=STEPS[:1], answer="A", question="Is the heart enlarged on this frontal radiograph?"),
        sft_row(2, steps=(*STEPS, "There is no effusion."), answer="B"),
    ]
    export = write_export(tmp / "export", kind="sft", splits={"train": rows, "test": rows[:1]}, image_size=97)
    rows = read_rows(export, "train")
    buffer = io.BytesIO()
    # A Parquet export's embedded image, grayscale like the export's radiographs (resized in one band).
    xray(7, 300).convert("L").crop((0, 0, 300, 251)).save(buffer, format="PNG")
    rows[2]["images"] = [{"bytes": buffer.getvalue(), "path": None}]
    rows = [prompt_completion(r) for r in rows]
    processor = load_processor(str(tiny_vlm), max_pixels=56 * 56 * 4)
    model = load_vlm(str(tiny_vlm)).eval()
    return tmp, rows, processor, model


def _trl_batch(rows, processor):
    """What training.sft did before precomputing: datasets' lazy images + TRL's vision collator."""
    from datasets import Dataset, Image, List
    from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

    # One Arrow column cannot mix paths and embedded bytes: both as {"bytes", "path"}.
    rows = [
        {**r, "images": [i if isinstance(i, dict) else {"bytes": None, "path": i} for i in r["images"]]}
        for r in rows
    ]
    dataset = Dataset.from_list(rows).cast_column("images", List(Image()))
    collator = DataCollatorForVisionLanguageModeling(processor=processor, completion_only_loss=True)
    return collator([dataset[i] for i in range(len(dataset))])


def _precomputed_batch(rows, processor, cache: Path, **kw):
    from training.precompute import PaddingCollator, precompute

    dataset, stats = precompute(rows, processor=processor, cache_dir=cache, **kw)
    items = [dataset[i] for i in range(len(dataset))]
    return PaddingCollator(processor.tokenizer.pad_token_id)(items), stats


def test_same_batch_and_same_loss_as_trls_collator(setup, tmp_path: Path) -> None:
    _, rows, processor, model = setup
    old = _trl_batch(rows, processor)
    new, stats = _precomputed_batch(rows, processor, tmp_path / "cache")

    assert stats["processed"] == 3 and stats["cached"] == 0
    assert set(new) == set(old)
    real = old["attention_mask"] == 1
    assert torch.equal(new["attention_mask"], old["attention_mask"])
    for name in ("input_ids", "labels", "mm_token_type_ids"):  # padding values may differ, not tokens
        assert torch.equal(new[name][real], old[name][real]), name
    assert (new["labels"][~real] == -100).all()
    assert torch.equal(new["pixel_values"], old["pixel_values"])
    assert torch.equal(new["image_grid_thw"], old["image_grid_thw"])
    assert (new["labels"] != -100).sum() < real.sum()  # the prompt is masked: loss on the chain only
    with torch.no_grad():
        assert model(**new).loss.item() == pytest.approx(model(**old).loss.item(), abs=1e-6)


def test_bf16_pixels_are_what_a_bf16_model_sees(setup, tmp_path: Path) -> None:
    import copy

    _, rows, processor, model = setup
    half = copy.deepcopy(model).to(torch.bfloat16)
    old = _trl_batch(rows[:2], processor)
    new, _ = _precomputed_batch(rows[:2], processor, tmp_path / "cache", pixel_dtype=torch.bfloat16)

    assert new["pixel_values"].dtype == torch.bfloat16
    with torch.no_grad():
        assert half(**new).loss.item() == half(**old).loss.item()


def test_the_cache_is_keyed_by_content(setup, tiny_vlm: Path, tmp_path: Path) -> None:
    from training.modeling import load_processor
    from training.precompute import image_digest, precompute, processor_fingerprint

    _, rows, processor, _ = setup
    fresh = load_processor(str(tiny_vlm), max_pixels=56 * 56 * 4)
    # Using a processor (padding on) does not change its key; its image size does.
    assert processor_fingerprint(fresh) == processor_fingerprint(processor)
    assert processor_fingerprint(load_processor(str(tiny_vlm), max_pixels=56 * 56)) != processor_fingerprint(
        fresh
    )
    cache = tmp_path / "cache"
    precompute(rows, processor=processor, cache_dir=cache)
    again = precompute(rows, processor=processor, cache_dir=cache)[1]
    assert again["processed"] == 0 and again["cached"] == 3
    changed = [rows[0], {**rows[1], "completion": [{"role": "assistant", "content": "<answer> B </answer>"}]}]
    assert precompute(changed, processor=processor, cache_dir=cache)[1]["processed"] == 1
    # A digest the export's manifest already holds is used as it is (the file is not read again).
    assert image_digest("/no/such/file.png", {"/no/such/file.png": "abc"}) == "abc"
    longer = precompute(rows[:1], processor=processor, cache_dir=cache, max_length=64)
    assert longer[1]["processed"] == 1  # different settings, different key
