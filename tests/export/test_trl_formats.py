"""Exports load with ``datasets.load_dataset`` and pass TRL's own data checks and collators.

TRL 1.13 offers no schema validator, so each kind goes through what its trainer does with a row:
SFT rows through ``is_conversational``, ``prepare_multimodal_messages`` and SFTTrainer's vision
collator; PRM rows through ``PRMTrainer.tokenize_row``; preference rows through
``apply_chat_template`` and DPOTrainer's vision collator. The processor is the reasoner's tiny
Qwen2-VL (random weights, real tokenizer and image processor), built offline.
"""

from __future__ import annotations

import os

import datasets
import pytest

from exports import build_export
from tests.export.helpers import KEY

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def processor(tmp_path_factory):  # noqa: ANN001, ANN201
    from reasoner.processors import load_processor
    from reasoner.tiny import build_tiny_qwen2vl

    path = build_tiny_qwen2vl(tmp_path_factory.mktemp("tiny"), max_pixels=56 * 56 * 4)
    return load_processor(path, "qwen2_vl")


def export_rows(image_db, tmp_path, kind: str, fmt: str, images: str | None = None) -> list[dict]:  # noqa: ANN001
    result = build_export(
        session_factory=image_db.factory,
        kind=kind,
        out_dir=tmp_path / f"{kind}-{fmt}",
        key=KEY,
        image_root=image_db.settings.image_dir,
        fmt=fmt,
        images=images,
    )
    loaded = datasets.load_dataset(str(result.out_dir))
    assert {s: n for s, n in result.rows.items() if n} == {s: d.num_rows for s, d in loaded.items()}
    return [row for split in loaded.values() for row in split]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_sft_rows_feed_sfttrainers_vision_collator(image_db, tmp_path, processor, fmt) -> None:  # noqa: ANN001
    from trl.data_utils import is_conversational, prepare_multimodal_messages
    from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

    rows = export_rows(image_db, tmp_path, "sft", fmt)
    assert len(rows) == 4
    temporal = next(r for r in rows if r["task_type"] == "temporal")
    assert len(temporal["images"]) == 2  # prior and current
    for row in rows:
        assert is_conversational(row)
        assert all(img.mode == "L" and img.size[0] > 0 for img in row["images"])
        prepared = prepare_multimodal_messages(row["messages"], row["images"])  # placeholders == images
        assert sum(p["type"] == "image" for m in prepared for p in m["content"]) == len(row["images"])
        think = row["messages"][-1]["content"][0]["text"]
        assert think.startswith("<think> ") and think.endswith("</answer>")
    batch = DataCollatorForVisionLanguageModeling(processor)(
        [{k: r[k] for k in ("images", "messages")} for r in rows]
    )
    assert batch["input_ids"].shape[0] == 4 and batch["pixel_values"].shape[0] > 0
    assert (batch["labels"] != -100).any()


def test_prm_rows_tokenize_with_prmtrainer(image_db, tmp_path, processor) -> None:  # noqa: ANN001
    from trl.experimental.prm import PRMTrainer

    rows = export_rows(image_db, tmp_path, "prm", "parquet")
    assert {r["source"] for r in rows} == {"model", "verified"}
    for row in rows:
        assert isinstance(row["prompt"], str) and len(row["completions"]) == len(row["labels"])
        out = PRMTrainer.tokenize_row(
            row,
            processor.tokenizer,
            "\n",
            max_length=None,
            max_completion_length=None,
            train_on_last_step_only=False,
            is_eval=False,
        )
        labelled = [label for label in out["labels"] if label != -100]
        assert labelled == [int(x) for x in row["labels"]]
    model_rows = [r for r in rows if r["source"] == "model"]
    assert all(r["labels"] == [True, False, False] for r in model_rows if len(r["labels"]) == 3)


def test_pair_rows_feed_dpotrainers_vision_collator(image_db, tmp_path, processor) -> None:  # noqa: ANN001
    from trl.data_utils import apply_chat_template, is_conversational
    from trl.trainer.dpo_trainer import DataCollatorForVisionPreference

    rows = export_rows(image_db, tmp_path, "pairs", "jsonl")
    assert rows and all(is_conversational(r) for r in rows)
    text_only = {k: rows[0][k] for k in ("prompt", "chosen", "rejected")}
    rendered = apply_chat_template(text_only, processor.tokenizer)
    assert "No pleural line" in rendered["chosen"] or "unchanged" in rendered["chosen"]
    assert rendered["chosen"] != rendered["rejected"]
    keys = ("images", "prompt", "chosen", "rejected")
    batch = DataCollatorForVisionPreference(processor)([{k: r[k] for k in keys} for r in rows])
    assert batch["input_ids"].shape[0] == 2 * len(rows)
    assert batch["completion_mask"].sum() > 0


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_records_load_table_by_table(image_db, tmp_path, fmt) -> None:  # noqa: ANN001
    result = build_export(
        session_factory=image_db.factory,
        kind="records",
        out_dir=tmp_path / "records",
        key=KEY,
        image_root=image_db.settings.image_dir,
        fmt=fmt,
        images="none",
    )
    configs = datasets.get_dataset_config_names(str(result.out_dir))
    assert set(configs) == {name for name, n in result.rows.items() if n}
    steps = datasets.load_dataset(str(result.out_dir), "steps", split="records")
    assert steps.num_rows == result.rows["steps"]
    assert set(steps.column_names) >= {"id", "chain_id", "position", "kind", "author", "text", "created_at"}
    reviews = datasets.load_dataset(str(result.out_dir), "reviews", split="records")
    assert all(r.startswith("R-") for r in reviews["reviewer"])


def test_reexport_is_not_served_from_the_datasets_cache(image_db, tmp_path) -> None:  # noqa: ANN001
    # With configs in README.md, `datasets` keys its cache by the configs only: each export's id
    # in the config description makes an overwritten or copied export load afresh.
    out = tmp_path / "again"
    kw = dict(session_factory=image_db.factory, out_dir=out, key=KEY, images="none", fmt="jsonl")
    build_export(kind="prm", **kw)
    first = sum(d.num_rows for d in datasets.load_dataset(str(out)).values())
    build_export(kind="sft", overwrite=True, **kw)
    second = datasets.load_dataset(str(out))
    assert "messages" in next(iter(second.values())).column_names
    assert sum(d.num_rows for d in second.values()) != first


@pytest.mark.parametrize("kind", ["prm", "sft"])
def test_splits_load_when_one_holds_only_chains_without_a_model_version(sqlite_db, tmp_path, kind) -> None:  # noqa: ANN001
    """A split whose chains all lack a model version once typed ``model_version`` as null there and
    as a string in the other split: ``datasets`` refused to load the export. Always a string."""
    from exports import SplitSpec
    from review_db.engine import session_scope
    from review_db.models import ModelVersion
    from tests import factories
    from tests.export.helpers import review

    with session_scope(sqlite_db.factory, actor="test") as s:
        version = ModelVersion(name="v-typed", base_model="tiny", status="candidate", metrics={}, notes="")
        s.add(version)
        s.flush()
        alice = factories.user(s, name="typed-alice")
        patients = []
        for model in (None, version.id):
            case, chain = factories.case(s)
            chain.model_version_id = model
            review(s, chain, alice, ["accept", ("correct", "No effusion."), "accept"])
            patients.append(case.study.patient_pseudonym)
    seed = next(n for n in range(500) if len({SplitSpec(seed=n).assign(p) for p in patients}) == 2)
    result = build_export(
        session_factory=sqlite_db.factory, kind=kind, out_dir=tmp_path / "out", key=KEY, images="none",
        split_seed=seed,
    )  # fmt: skip
    loaded = datasets.load_dataset(str(result.out_dir), cache_dir=str(tmp_path / "hf"))
    assert len(loaded) == 2
    assert sorted({r["model_version"] for split in loaded.values() for r in split}) == ["", "v-typed"]
