"""``chestx eval radrscore FILE --out SCORES.jsonl``: RadRScore and accuracy of an evaluation file.

A thin wrapper over :func:`reasoner.radrscore.score_items`. FILE is in ChestX-Reasoner's
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

from chestx.cli.common import fail, settings

eval_app = typer.Typer(help="Evaluate reasoning: RadRScore and answer accuracy.", no_args_is_help=True)


class JudgeKind(enum.StrEnum):
    offline = "offline"
    llm = "llm"


def _judge(kind: JudgeKind, url: str | None, model: str | None, concurrency: int):  # noqa: ANN202
    """The judge the options and settings ask for (imports the heavy parts only when used)."""
    if kind is JudgeKind.offline:
        from reasoner.radrscore import OfflineJudge

        return OfflineJudge()
    from reasoner.radrscore import LLMJudge, LLMJudgeConfig

    s = settings()
    base_url, name = url or s.judge_base_url, model or s.judge_model
    if not base_url or not name:
        raise fail("the llm judge needs --judge-url and --judge-model (or CHESTX_JUDGE_BASE_URL/_MODEL)")
    key = s.openai_api_key.get_secret_value() if s.openai_api_key else None
    return LLMJudge(LLMJudgeConfig(base_url=base_url, model=name, api_key=key, concurrency=concurrency))


def _format_summary(summary: dict) -> str:
    lines = ["group            n  completeness  factuality  effectiveness  accuracy"]
    for group, row in summary.items():

        def cell(value: float | None) -> str:
            return f"{value:.3f}" if value is not None else "-"

        lines.append(
            f"{group:<14}{row['n']:>4}  {cell(row['completeness']['mean']):>12}  "
            f"{cell(row['factuality']['mean']):>10}  {cell(row['effectiveness']['mean']):>13}  "
            f"{cell(row['accuracy']):>8}"
        )
    return "\n".join(lines)


@eval_app.command("radrscore")
def radrscore(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="Evaluation file (JSON list or JSONL)."
    ),
    out: Path = typer.Option(..., "--out", help="Scores, one JSON line per item in file order."),
    judge: JudgeKind = typer.Option(JudgeKind.offline, "--judge", help="offline (default) or llm."),
    judge_url: str | None = typer.Option(None, help="LLM judge endpoint (OpenAI-compatible, .../v1)."),
    judge_model: str | None = typer.Option(None, help="LLM judge model name."),
    concurrency: int = typer.Option(4, min=1, help="Concurrent items for the llm judge."),
    batch_size: int = typer.Option(64, min=1, help="Items judged together (embeddings batch)."),
    summary: Path | None = typer.Option(None, help="Also write the summary as JSON here."),
) -> None:
    """Score every item of FILE with RadRScore and answer accuracy."""
    from tqdm import tqdm

    from reasoner.radrscore import read_items, score_items, summarise

    try:
        items = read_items(file)
    except (ValueError, UnicodeDecodeError) as exc:
        raise fail(f"{file}: {exc}") from None
    scorer = _judge(judge, judge_url, judge_model, concurrency)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    rows = []
    with (
        partial.open("w", encoding="utf-8") as sink,
        tqdm(total=len(items), desc="radrscore", unit="item", file=sys.stderr) as bar,
    ):
        for row in score_items(items, judge=scorer, batch_size=batch_size, on_batch=bar.update):
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")
            rows.append(row)
    os.replace(partial, out)  # a crash never leaves a short file under the final name
    result = summarise(rows)
    if summary is not None:
        summary.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    typer.echo(_format_summary(result))
    typer.echo(f"wrote {len(rows)} rows to {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
