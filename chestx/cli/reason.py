"""``chestx reason CASE_ID``: run a reasoner on a case, stream its steps, store the chain.

What to ask and how to store it is :mod:`services.generation` (shared with the app's "Ask the
model for a fresh chain"); here is the terminal's side: options, the stream printed, Ctrl-C.

The chain is stored whole when generation ends normally, or visibly flagged (incomplete,
malformed) when it stopped early or did not follow the format; when nothing at all was
generated (the model path is wrong, the server refused) nothing is stored and the command exits 1.
Ctrl-C cancels generation; what was generated so far is stored, flagged incomplete.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import typer

from chestx.cli.common import clean_errors, database, fail, settings
from chestx.compose import reasoner_config
from reasoner.backends.base import GenerationParams
from reasoner.errors import ReasonerError
from reasoner.events import Answer, Error, Finished, StepDone, StepStarted, TextDelta
from review_db.engine import read_session, session_scope
from services import generation


def _stream_to_terminal(backend, request):  # noqa: ANN001, ANN202
    """Print steps as they form; return the Finished event. Ctrl-C cancels and keeps the rest."""
    events: queue.Queue = queue.Queue()
    cancel = threading.Event()

    def pump() -> None:  # generation runs here so that Ctrl-C reaches the main thread
        for event in backend.stream(request, cancel=cancel):
            events.put(event)

    worker = threading.Thread(target=pump, daemon=True)
    worker.start()
    while True:
        try:
            event = events.get(timeout=0.2)
        except queue.Empty:
            continue
        except KeyboardInterrupt:
            cancel.set()
            typer.echo("\ncancelling...", err=True)
            continue
        if isinstance(event, StepStarted):
            typer.echo(f"{event.index + 1}. ", nl=False)
        elif isinstance(event, TextDelta):
            typer.echo(event.text, nl=False)
        elif isinstance(event, StepDone):
            typer.echo("")
        elif isinstance(event, Answer):
            typer.echo(f"Answer: {event.answer or event.text}")
        elif isinstance(event, Error):
            typer.echo(f"error ({event.kind}): {event.message}", err=True)
        elif isinstance(event, Finished):
            worker.join()
            return event


def register(app: typer.Typer) -> None:
    @app.command("reason")
    def reason(
        case_id: int = typer.Argument(..., help="The case to reason about."),
        backend: str = typer.Option(None, help="hf | openai | report (default: CHESTX_REASONER_BACKEND)."),
        model: str | None = typer.Option(None, help="hf: model dir or hub id; openai: served model name."),
        adapter: Path | None = typer.Option(None, help="hf: a LoRA adapter directory (peft)."),
        max_new_tokens: int = typer.Option(1024, min=1),
        temperature: float = typer.Option(0.0, min=0.0, help="0: greedy."),
        seed: int = typer.Option(0),
        llm: bool = typer.Option(False, help="report: mine through the OpenAI-compatible endpoint."),
        demo_text: bool = typer.Option(False, help="hf with a tiny demo model: script a sample chain."),
    ) -> None:
        """Stream a chain of reasoning steps for CASE_ID to the terminal and store it."""
        s = settings()
        config = reasoner_config(
            s, backend=backend, model=model, adapter=adapter, report_by_llm=llm, demo_text=demo_text
        )
        params = GenerationParams(max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
        with clean_errors():
            factory = database()
            with read_session(factory) as session:
                request = generation.case_request(
                    session,
                    case_id=case_id,
                    render=generation.render_stored(s.image_dir, max_side=2048),
                    system_prompt=s.system_prompt,
                    params=params,
                )
            try:
                engine = generation.make_backend(config)
            except ReasonerError as exc:
                raise fail(str(exc)) from None
            fin = _stream_to_terminal(engine, request)
            if not fin.raw:  # zero tokens: nothing to review (whitespace alone is stored, flagged)
                raise fail(f"nothing was generated ({fin.finish_reason}); no chain stored")
            with session_scope(factory, actor="cli:reason") as session:
                chain = generation.store_chain(session, case_id=case_id, finished=fin, info=engine.describe())
                chain_id = chain.id
            shown = ", ".join(sorted(fin.flags)) or "none"
            steps = len(fin.chain.steps)
            typer.echo(
                f"stored chain {chain_id} for case {case_id}: {fin.status} ({steps} steps; flags: {shown})"
            )
