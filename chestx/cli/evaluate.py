"""``chestx eval radrscore FILE --out SCORES.jsonl``: RadRScore and accuracy of an evaluation file;
``chestx eval fit-judge DATA_DIR...``: refit the offline judge's parameters.

``radrscore`` is a thin wrapper over :func:`reasoner.radrscore.score_items`; ``fit-judge`` over
:func:`reasoner.radrscore.refit.fit_judge`. FILE is in ChestX-Reasoner's
evaluation format (a JSON list or JSON Lines of items with ``question``, ``answer``, ``pred``,
``reason_steps``, ``original_report``); the output has one JSON line per item, in file order,
with ``index``, ``task_type``, ``completeness``, ``factuality``, ``effectiveness``, ``correct``
(``answer_f1`` for open questions) and ``flags`` (why a value is undefined). The summary (per task
type and overall) goes to stdout, a progress bar to stderr.

The ``eval`` sub-app is :data:`eval_app`; later commands (``chestx eval run --model VERSION``
against the database) attach to it with ``@eval_app.command(...)`` in this module.
"""

from __future__ import annotations

import enum
import json
import os
import sys
from pathlib import Path

import typer
from tqdm import tqdm

from chestx.cli.common import fail, settings

eval_app = typer.Typer(help="Evaluate reasoning: RadRScore and answer accuracy.", no_args_is_help=True)


class JudgeKind(enum.StrEnum):
    offline = "offline"
    rules = "rules"
    llm = "llm"


def _judge(kind: JudgeKind, url: str | None, model: str | None, concurrency: int, params: Path | None = None):  # noqa: ANN202
    """The judge the options and settings ask for (imports the heavy parts only when used)."""
    from reasoner import radrscore  # lazy: scipy, scikit-learn and the embeddings (~2 s)

    if kind is JudgeKind.offline:
        try:
            return radrscore.OfflineJudge(params=params)
        except (OSError, ValueError, KeyError) as exc:
            raise fail(f"cannot read the offline judge's parameters: {exc}") from None
    if kind is JudgeKind.rules:
        return radrscore.RuleJudge()
    s = settings()
    base_url, name = url or s.judge_base_url, model or s.judge_model
    if not base_url or not name:
        raise fail("the llm judge needs --judge-url and --judge-model (or CHESTX_JUDGE_BASE_URL/_MODEL)")
    key = s.judge_api_key.get_secret_value() if s.judge_api_key else None  # never the reasoner's key
    config = radrscore.LLMJudgeConfig(base_url=base_url, model=name, api_key=key, concurrency=concurrency)
    return radrscore.LLMJudge(config)


def _format_summary(summary: dict) -> str:
    """The summary table: each mean with its 95% bootstrap interval over the items."""
    lines = [
        f"{'group':<14}{'n':>5}  {'completeness':>20}  {'factuality':>20}  {'effectiveness':>20}  accuracy"
    ]

    def cell(entry: dict) -> str:
        if entry.get("mean") is None:
            return "-"
        low, high = entry.get("ci95") or (None, None)
        interval = f" [{low:.2f}, {high:.2f}]" if low is not None else ""
        return f"{entry['mean']:.3f}{interval}"

    for group, row in summary.items():
        accuracy = f"{row['accuracy']:.3f}" if row["accuracy"] is not None else "-"
        lines.append(
            f"{group:<14}{row['n']:>5}  {cell(row['completeness']):>20}  {cell(row['factuality']):>20}  "
            f"{cell(row['effectiveness']):>20}  {accuracy}"
        )
    lines.append("[a, b]: 95% bootstrap interval of the mean over the items where it is defined")
    return "\n".join(lines)


def _describe(scorer) -> str:  # noqa: ANN001
    """Which judge scored, and where its parameters came from."""
    provenance = getattr(scorer, "provenance", None)
    if not provenance:
        return f"judge: {scorer.name}"
    files = ", ".join(f"{d['name']} (sha256 {d['sha256'][:12]})" for d in provenance.get("data", []))
    return (
        f"judge: {scorer.name}, parameters fitted by `{provenance.get('command')}` "
        f"on {provenance.get('date')} "
        f"at commit {provenance.get('git_commit') or 'unknown'} from {files}"
    )


@eval_app.command("radrscore")
def radrscore(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="Evaluation file (JSON list or JSONL)."
    ),
    out: Path = typer.Option(..., "--out", help="Scores, one JSON line per item in file order."),
    judge: JudgeKind = typer.Option(
        JudgeKind.offline, "--judge", help="offline (learned, default), rules (issue 7's) or llm."
    ),
    params: Path | None = typer.Option(
        None, "--params", exists=True, dir_okay=False, help="Offline judge parameters (default: shipped)."
    ),
    judge_url: str | None = typer.Option(None, help="LLM judge endpoint (OpenAI-compatible, .../v1)."),
    judge_model: str | None = typer.Option(None, help="LLM judge model name."),
    concurrency: int = typer.Option(4, min=1, help="Concurrent items for the llm judge."),
    batch_size: int = typer.Option(64, min=1, help="Items judged together (embeddings batch)."),
    summary: Path | None = typer.Option(None, help="Also write the summary as JSON here."),
) -> None:
    """Score every item of FILE with RadRScore and answer accuracy."""
    from reasoner import radrscore  # lazy: scipy, scikit-learn and the embeddings (~2 s)

    try:
        items = radrscore.read_items(file)
    except (ValueError, UnicodeDecodeError) as exc:
        raise fail(f"{file}: {exc}") from None
    scorer = _judge(judge, judge_url, judge_model, concurrency, params)
    typer.echo(_describe(scorer))
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    rows = []
    with (
        partial.open("w", encoding="utf-8") as sink,
        tqdm(total=len(items), desc="radrscore", unit="item", file=sys.stderr) as bar,
    ):
        for row in radrscore.score_items(items, judge=scorer, batch_size=batch_size, on_batch=bar.update):
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")
            rows.append(row)
    os.replace(partial, out)  # a crash never leaves a short file under the final name
    result = radrscore.summarise(rows)
    if summary is not None:
        summary.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    typer.echo(_format_summary(result))
    typer.echo(f"wrote {len(rows)} rows to {out}")


@eval_app.command("fit-judge")
def fit_judge(
    data: list[Path] = typer.Argument(
        ..., exists=True, help="Evaluation files, or directories of them, with GPT-4o's verdicts."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Where to write the parameters (default: the shipped file)."
    ),
    combine: str = typer.Option(
        "average",
        "--models",
        help="average: every candidate model, averaged; select: one pair chosen by inner folds; "
        "first: the first candidates.",
    ),
) -> None:
    """Refit the offline judge's parameters from judged evaluation files (GPT-4o's verdicts)."""
    from reasoner.radrscore import fit, offline, refit  # lazy: scipy and scikit-learn (~2 s)

    if combine not in fit.COMBINE:
        raise fail(f"--models must be one of {', '.join(fit.COMBINE)}, not {combine!r}")
    files = refit.judged_files(data)
    if not files:
        raise fail("no evaluation file with GPT-4o's verdicts (gt_key_finding, recall_res, ...) found")
    command = "chestx eval fit-judge " + " ".join(str(p) for p in data)
    if combine != "average":
        command += f" --models {combine}"
    params = refit.fit_judge(
        files, command=command, combine=combine, progress=lambda m: typer.echo(m, err=True)
    )
    target = out or offline.DEFAULT_PARAMS
    refit.write_params(params, target)
    for name, component in params["components"].items():
        members = component["members"]
        typer.echo(
            f"{name}: weights {', '.join(fit.describe_spec(w) for w in members['weights'])}; "
            f"probabilities {', '.join(fit.describe_spec(p) for p in members['probabilities'])}"
        )
    typer.echo(f"wrote {target} ({len(files)} files)")


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
