"""Benchmark of the offline RadRScore judge (issues 7, 14): 1,000 chains scored, target <= 60 s.

Run: ``python bench/bench_radrscore.py [--chains 1000] [--write]`` (``--write`` updates the
"## RadRScore speed" section of bench/RESULTS.md). The baseline is the rule judge of issue 7
(``RuleJudge``, the offline default before issue 14), timed in the same run on the same items
with a cold phrase cache of its own, so the ratio holds on whatever machine runs it.

Workload: 1,000 distinct items in ChestX-Reasoner's evaluation format, generated from a seeded
radiology vocabulary (findings x modifiers x regions x sides; four options per question; a
reference chain, a model chain in the published model's style, right or wrong, and a report), so
the phrase cache starts cold and repeats only as much as real vocabulary does. Timed: everything
from the items in memory to the scores (parsing, finding extraction, embedding, matching), in
one process whose model is loaded first; model load is reported apart. Where ../shared/data is
present, the 102 real items are also scored cold (fresh embedder) for a per-item figure, and the
cost of one MiniLM pass per (model step, report) pair of them is timed: what a cross-encoder that
reads each step against the report would add (docs/RADRSCORE.md).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a benchmark never reaches for the hub

from bench.common import machine, write_section  # noqa: E402
from reasoner.radrscore import OfflineJudge, RuleJudge, score_items  # noqa: E402
from reasoner.radrscore.embedding import PhraseEmbedder  # noqa: E402

SECTION = "## RadRScore speed"
REAL = ROOT.parent / "shared" / "data" / "chestx_reasoner_openi_multi.json"
TARGET_S = 60.0

FINDINGS = (
    "opacity", "consolidation", "atelectasis", "pleural effusion", "pneumothorax", "nodule",
    "calcified granuloma", "scarring", "pleural thickening", "airspace disease", "infiltrate",
    "interstitial markings", "pulmonary edema", "emphysema", "hyperinflation", "hypoinflation",
    "cardiomegaly", "tortuous aorta", "aortic calcification", "hiatal hernia", "rib fracture",
    "degenerative changes", "osteophytes", "scoliosis", "mass", "bronchiectasis", "lymphadenopathy",
    "indwelling catheter", "surgical clips", "elevation of the hemidiaphragm", "pneumonia",
    "cicatrix", "lucency", "blunting of the costophrenic angle", "pulmonary congestion", "bulla",
    "cyst", "cavity", "ground-glass opacity", "reticulonodular pattern", "Kerley lines", "pleural plaque",
    "pericardial effusion", "mediastinal widening", "hilar enlargement", "air bronchogram",
    "fissural thickening", "subcutaneous emphysema", "pneumoperitoneum", "compression fracture",
    "clavicle fracture", "pacemaker leads", "endotracheal tube", "nasogastric tube", "sternotomy wires",
)  # fmt: skip
SEVERITY = ("mild", "moderate", "severe", "small", "large", "minimal", "")
DESCRIPTORS = (
    "patchy", "streaky", "focal", "diffuse", "linear", "reticular", "nodular", "hazy", "ill-defined",
    "rounded", "irregular", "chronic", "acute", "dense", "confluent", "scattered", "multiple",
    "subsegmental", "peripheral", "faint", "calcified", "cavitary", "wedge-shaped", "lobulated",
    "spiculated", "old", "healed", "postoperative", "early", "residual", "", "", "", "",
)  # fmt: skip
REGIONS = (
    "at the lung base", "in the upper lobe", "in the lower lobe", "in the middle lobe", "at the apex",
    "in the hilum", "in the lingula", "in the retrocardiac region", "in the perihilar region",
    "in the costophrenic angle", "in the subpleural region", "in the paratracheal region",
    "along the lateral chest wall", "in the anterior segment of the upper lobe",
    "in the posterior segment of the lower lobe", "in the superior segment of the lower lobe",
    "near the carina", "in the lung periphery", "in the mid lung zone", "", "", "", "",
)  # fmt: skip
SIDES = ("left", "right", "bilateral", "")
EXPLANATIONS = (
    "This finding is consistent with conditions such as infection or chronic disease.",
    "These changes are typically seen in older patients.",
    "This suggests a chronic process rather than an acute one.",
)


def _phrase(rng: random.Random) -> str:
    side, region = rng.choice(SIDES), rng.choice(REGIONS)
    mod = " ".join(x for x in (rng.choice(SEVERITY), rng.choice(DESCRIPTORS), rng.choice(DESCRIPTORS)) if x)
    lung = f"of the {side} lung" if side in ("left", "right") and not region else ""
    prefix = "bilateral " if side == "bilateral" else ""
    region = region.replace("the ", f"the {side} ") if side in ("left", "right") and region else region
    return " ".join(x for x in (mod, prefix + rng.choice(FINDINGS), region, lung) if x)


def synthetic_item(rng: random.Random) -> dict:
    """One evaluation item: four options, a reference chain, a model chain, a report."""
    options = [[_phrase(rng) for _ in range(rng.randint(2, 3))] for _ in range(4)]
    truth, chosen = rng.randrange(4), rng.randrange(4) if rng.random() < 0.4 else None
    chosen = truth if chosen is None else chosen
    letters = "ABCD"
    question = (
        "Which findings are in this chest X-ray? Options:\n"
        + "\n".join(f"{letters[i]}) {', '.join(o)}" for i, o in enumerate(options))
        + "\nLet's think step by step. Enclose the reasoning within <think></think> and the answer within "
        "<answer></answer>."
    )
    reference = []
    for i, opt in enumerate(options):
        for f in opt:
            reference.append(
                f"The image shows {f}, which supports option {letters[i]}."
                if i == truth
                else f"There is no evidence of {f}, which excludes this finding."
            )
    reference.append(f"In conclusion, the final answer is {letters[truth]}) {', '.join(options[truth])}.")
    think = []
    for i, opt in enumerate(options):
        if i == chosen:
            think += [f"The chest X-ray reveals {f}." for f in opt] + [rng.choice(EXPLANATIONS)]
        else:
            think.append(f"There are no signs of {', '.join(opt[:-1])} or {opt[-1]}.")
    think.append(f"In conclusion, the final answer is {', '.join(options[chosen])}.")
    report = " ".join(
        [f"{f.capitalize()}." for f in options[truth]]
        + ["Heart size is normal.", "No pneumothorax or pleural effusion.", "Lungs are otherwise clear."]
    )
    return {
        "question": question,
        "answer": f"<answer> {letters[truth]} </answer>",
        "pred": f"<think> {' '.join(think)} </think><answer> {letters[chosen]} </answer>",
        "reason_steps": reference,
        "original_report": report,
    }


def timed_run(items: list[dict], judge: OfflineJudge | RuleJudge) -> tuple[float, float, list[dict]]:
    wall, cpu = time.perf_counter(), time.process_time()
    rows = list(score_items(items, judge=judge, batch_size=256))
    return time.perf_counter() - wall, time.process_time() - cpu, rows


def pair_cost(items: list[dict], embedder: PhraseEmbedder, *, limit: int = 512) -> tuple[float, float, float]:
    """(ms wall per pair, ms CPU per pair, model steps per item): all-MiniLM-L6-v2 run once over
    each (model step, report) pair of ``items`` (the first ``limit``), batches of 32, as a
    cross-encoder built from it would run."""
    import torch

    from reasoner.radrscore import sample_from_item

    samples = [sample_from_item(item)[0] for item in items]
    pairs = [(step, s.report) for s in samples for step in s.model_steps][:limit]
    model = embedder.model
    encoder, tokenizer = model[0].auto_model, model.tokenizer
    wall, cpu = time.perf_counter(), time.process_time()
    with torch.inference_mode():
        for k in range(0, len(pairs), 32):
            batch = pairs[k : k + 32]
            encoded = tokenizer(
                [a for a, _ in batch],
                [b for _, b in batch],
                padding=True,
                truncation=True,
                max_length=256,
                return_tensors="pt",
            )
            encoder(**encoded)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    steps = sum(len(s.model_steps) for s in samples) / len(samples)
    return 1000 * wall / len(pairs), 1000 * cpu / len(pairs), steps


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chains", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--dtype", default="float32", help="embedding dtype: float32, bfloat16 or auto")
    ap.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    items = [synthetic_item(rng) for _ in range(args.chains)]
    t = time.perf_counter()
    embedder = PhraseEmbedder(dtype=args.dtype)
    embedder.encode(["warm up"])
    load_s = time.perf_counter() - t
    wall, cpu, rows = timed_run(items, OfflineJudge(embedder=embedder))
    assert len(rows) == args.chains and all(r["completeness"] is not None for r in rows)
    phrases = embedder.cache_info()["phrases"]
    baseline_embedder = PhraseEmbedder(dtype=args.dtype)
    baseline_embedder.encode(["warm up"])
    b_wall, b_cpu, _ = timed_run(items, RuleJudge(embedder=baseline_embedder))
    lines = [
        SECTION,
        "",
        f"Command: `python bench/bench_radrscore.py --write`. Measured {time.strftime('%Y-%m-%d')} on "
        f"{machine()}, torch threads {_threads()}, embeddings in {embedder.model_dtype}, load average "
        f"{os.getloadavg()[0]:.1f} at the start.",
        "",
        "| measure | value | target |",
        "| --- | ---: | --- |",
        f"| {args.chains:,} synthetic chains, offline judge, cold phrase cache: wall | {wall:.1f} s | "
        f"<= {TARGET_S:.0f} s: **{'met' if wall <= TARGET_S else 'not met'}** |",
        f"| same, process CPU time (both threads) | {cpu:.1f} s | <= {TARGET_S:.0f} s: "
        f"**{'met' if cpu <= TARGET_S else 'not met'}** (see below) |",
        f"| ratio wall / target | {wall / TARGET_S:.2f} | <= 1 |",
        f"| baseline: the rule judge (issue 7) on the same chains, cold cache: wall / CPU | {b_wall:.1f} s / "
        f"{b_cpu:.1f} s | |",
        f"| ratio to the baseline: wall / CPU | {wall / b_wall:.2f} / {cpu / b_cpu:.2f} | |",
        f"| distinct phrases embedded | {phrases:,} | |",
        f"| model load (once per process, not in the wall time) | {load_s:.1f} s | |",
    ]
    if REAL.exists():
        real = json.loads(REAL.read_text())
        fresh = PhraseEmbedder(dtype=args.dtype)
        fresh.encode(["warm up"])
        r_wall, r_cpu, _ = timed_run(real, OfflineJudge(embedder=fresh))
        lines.append(
            f"| {len(real)} real items (../shared/data), cold cache: wall / CPU | {r_wall:.1f} s / "
            f"{r_cpu:.1f} s ({1000 * r_wall / len(real):.0f} ms per item) | |"
        )
        pair_wall, pair_cpu, steps = pair_cost(real, fresh)
        lines.append(
            f"| not built: a MiniLM cross-encoder, one pass per (model step, report) pair of these items: "
            f"wall / CPU per pair; x {steps:.1f} steps x {args.chains:,} chains | {pair_wall:.1f} ms / "
            f"{pair_cpu:.1f} ms; {pair_wall * steps * args.chains / 1000:.0f} s wall | "
            f"<= {TARGET_S:.0f} s for the whole judge |"
        )
    lines += [
        "",
        "The run is CPU-bound (items in memory, no I/O), so on an otherwise idle machine its wall "
        "time is at most its CPU time (less where torch's two threads overlap): the CPU figure is "
        "the one to hold against the target on this shared machine, whose other jobs inflate the "
        "wall time by the load average.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        write_section(SECTION, text, keep_notes=True)
    return 0


def _threads() -> int:
    import torch

    return torch.get_num_threads()


if __name__ == "__main__":
    raise SystemExit(main())
