"""Active learning on steps (issue 17): wrong steps found per 100 reviewed, per strategy vs fifo.

Run: ``python bench/bench_active_learning.py [--write-results]`` (``--write-results`` replaces the
"## Active learning on steps" section of bench/RESULTS.md, with the machine). Needs
../shared/data (the five GPT-4o-judged files); exits with a message where it is absent.

Design, fixed before any figure was seen (docs/ACTIVE_LEARNING.md):

- Cases: every judged item (``training.active_learning.judged``): the model's steps as the
  project's parser splits ``pred``, a step "wrong" unless GPT-4o quoted it as effective.
- Held apart by source file, two folds by the model that wrote the chains: the PRM is seeded on
  GPT-4o's three files and the worklist comes from ChestX-Reasoner's two, then the other way round.
  Within the worklist's files, reports are dealt by the parity of their hash into the worklist
  (even) and the evaluation rows (odd) on which AUROC is measured; seed items whose report is
  among the evaluation rows are dropped, so no report is both trained on and evaluated.
- PRM: the text PRM's features (all-MiniLM-L6-v2 + RadRScore's extractor,
  ``training.prm_features``) and its logistic head (``training.prm_text.fit``), as the app trains.
- Review: 5 rounds of 100 steps; after each, the head is refitted with the reviewed steps added
  and the waiting cases re-ordered (``training.active_learning.simulation``).
- Reference rows (not strategies): a random order (mean of 20) and the ceiling (cases by their
  true share of wrong steps: the most any case order can find).

Features are cached per file (numbers and labels only, no text) under ``--cache``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a benchmark never reaches for the hub

from bench.common import machine, write_section  # noqa: E402
from training.active_learning.judged import JudgedCase, judged_cases  # noqa: E402
from training.active_learning.simulation import (  # noqa: E402
    SimCase,
    ceiling_order,
    random_orders,
    replay,
    simulate,
    wrong_per,
)
from training.active_learning.strategies import STRATEGIES  # noqa: E402
from training.prm_features import FEATURES, Encoder, EvidenceFeaturizer  # noqa: E402
from vocab.priority import PriorityStrategy  # noqa: E402

SECTION = "## Active learning on steps"
DATA = ROOT.parent / "shared" / "data"
FILES = (
    "chestx_reasoner_openi_multi.json",
    "chestx_reasoner_openi_single.json",
    "gpt4o_openi_single.json",
    "gpt4o_openi_multi.json",
    "gpt4o_openi_multi_no_option.json",
)
FOLDS = (("gpt4o", "chestx_reasoner"), ("chestx_reasoner", "gpt4o"))  # (seed PRM on, worklist from)
ROUND_STEPS, ROUNDS, TARGET = 100, 5, 1.5
BUDGET = ROUND_STEPS * ROUNDS


def _features(path: Path, cases: list[JudgedCase], cache: Path) -> list[np.ndarray]:
    """Each case's step features, computed once per file version and feature set."""
    digest = hashlib.sha256(path.read_bytes() + "|".join(FEATURES).encode()).hexdigest()[:16]
    cached = cache / f"{path.stem}-{digest}.npz"
    if cached.exists():
        data = np.load(cached)
        return [data[f"c{i}"] for i in range(len(cases))]
    featurizer = EvidenceFeaturizer(Encoder())
    t0 = time.perf_counter()
    featurizer.prepare([(c.context, c.steps) for c in cases])
    blocks = [featurizer.features(c.context, c.steps) for c in cases]
    print(f"  features of {path.name}: {sum(map(len, blocks))} steps in {time.perf_counter() - t0:.0f} s")
    cache.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cached, **{f"c{i}": b for i, b in enumerate(blocks)})
    return blocks


def load(cache: Path) -> list[tuple[JudgedCase, np.ndarray]]:
    out = []
    for name in FILES:
        cases, skipped = judged_cases(DATA / name)
        print(f"{name}: {len(cases)} judged cases ({skipped} left out)", flush=True)
        out += zip(cases, _features(DATA / name, cases, cache), strict=True)
    return out


def _rows(pairs: list[tuple[JudgedCase, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([x for _, x in pairs]), np.concatenate([np.asarray(c.wrong) for c, _ in pairs])


def _steps(pairs: list[tuple[JudgedCase, np.ndarray]]) -> int:
    return sum(len(c.steps) for c, _ in pairs)


def fold(data: list[tuple[JudgedCase, np.ndarray]], seed_model: str, pool_model: str) -> dict:
    """One fold: every strategy's simulated review, the reference rows and their AUROCs."""
    pool = [(c, x) for c, x in data if c.source.startswith(pool_model)]
    held = [(c, x) for c, x in pool if int(c.group, 16) % 2 == 1]
    evaluation = {c.group for c, _ in held}
    seed = [(c, x) for c, x in data if c.source.startswith(seed_model) and c.group not in evaluation]
    work = [(c, x) for c, x in pool if int(c.group, 16) % 2 == 0]  # file order: fifo's
    worklist = [SimCase(x, np.asarray(c.wrong), c.answer_correct) for c, x in work]
    runs = {}
    for strategy in PriorityStrategy:
        t0 = time.perf_counter()
        runs[strategy.value] = simulate(
            seed=_rows(seed),
            worklist=worklist,
            evaluation=_rows(held),
            strategy=STRATEGIES[strategy],
            round_steps=ROUND_STEPS,
            rounds=ROUNDS,
        )
        print(
            f"  {seed_model} -> {pool_model} {strategy.value}: {time.perf_counter() - t0:.1f} s", flush=True
        )
    randoms = [replay(o, worklist, limit=BUDGET) for o in random_orders(len(worklist), repeats=20)]
    return {
        "name": f"PRM seeded on {seed_model}, worklist from {pool_model}",
        "sizes": tuple(v for part in (seed, work, held) for v in (len(part), _steps(part))),
        "base_rate": float(np.mean(np.concatenate([np.asarray(c.wrong) for c, _ in work]))),
        "runs": runs,
        "random": [statistics.mean(b) for b in zip(*(wrong_per(r) for r in randoms), strict=True)],
        "ceiling": wrong_per(replay(ceiling_order(worklist), worklist, limit=BUDGET)),
    }  # fmt: skip


def _auc(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def table(result: dict) -> str:
    fifo = sum(wrong_per(result["runs"]["fifo"].wrong))
    lines = [
        f"### {result['name']}",
        "",
        "Seed: {} cases ({} steps); worklist: {} cases ({} steps); evaluation: {} cases ({} steps). "
        "Wrong steps in the worklist: {:.1%}.".format(*result["sizes"], result["base_rate"]),
        "",
        "| order | wrong in steps 1-100 | 101-200 | 201-300 | 301-400 | 401-500 | per 100 (first 500) "
        "| vs fifo | AUROC after rounds 0-5 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, run in result["runs"].items():
        blocks = wrong_per(run.wrong)
        aucs = " → ".join(_auc(a) for a in run.auroc)
        lines.append(
            f"| {name} | " + " | ".join(map(str, blocks)) + f" | {sum(blocks) / 5:.1f} | "
            f"{sum(blocks) / fifo:.2f}x | {aucs} |"
        )
    for name, blocks in (
        ("random order (mean of 20)", result["random"]),
        ("ceiling (labels known)", result["ceiling"]),
    ):
        lines.append(
            f"| *{name}* | " + " | ".join(f"{b:.1f}" if isinstance(b, float) else str(b) for b in blocks)
            + f" | {sum(blocks) / 5:.1f} | {sum(blocks) / fifo:.2f}x | |"
        )  # fmt: skip
    return "\n".join(lines)


def verdict(results: list[dict]) -> tuple[str, float]:
    """The best strategy over both folds (wrong steps in the first 500, summed) and its ratio to fifo."""
    totals = {
        s.value: sum(sum(wrong_per(r["runs"][s.value].wrong)) for r in results)
        for s in PriorityStrategy
        if s is not PriorityStrategy.fifo
    }
    best = max(totals, key=totals.__getitem__)
    fifo = sum(sum(wrong_per(r["runs"]["fifo"].wrong)) for r in results)
    return best, totals[best] / fifo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write-results", action="store_true", help="write the section of bench/RESULTS.md")
    parser.add_argument(
        "--cache", type=Path, default=Path.home() / ".cache" / "chestx" / "bench-active-learning"
    )
    args = parser.parse_args()
    if not all((DATA / name).exists() for name in FILES):
        raise SystemExit(f"needs the five judged files in {DATA} (see its README); not found")
    t0 = time.perf_counter()
    data = load(args.cache)
    results = [fold(data, seed_model, pool_model) for seed_model, pool_model in FOLDS]
    best, ratio = verdict(results)
    met = "met" if ratio >= TARGET else "NOT met"
    summary = (
        f"Best strategy over both folds: **{best}**, {ratio:.2f}x the wrong steps fifo finds in the first "
        f"{BUDGET} steps reviewed (target {TARGET}x: {met})."
    )
    text = "\n\n".join(
        [
            SECTION,
            f"`python bench/bench_active_learning.py` on {machine()}; {time.perf_counter() - t0:.0f} s "
            "(features cached).",
            *(table(r) for r in results),
            summary,
        ]
    )
    print("\n" + text)
    if args.write_results:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
