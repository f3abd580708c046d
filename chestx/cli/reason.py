"""``chestx reason CASE_ID``: run a reasoner on a case, stream its steps, store the chain.

The chain is stored whole when generation ends normally, or visibly flagged (incomplete,
malformed) when it stopped early or did not follow the format; when nothing at all was
generated (the model path is wrong, the server refused) nothing is stored and the command exits 1.
Ctrl-C cancels generation; what was generated so far is stored, flagged incomplete.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Any

import typer

from chestx.cli.common import clean_errors, database, fail, settings

SOURCES = {"hf": "model", "openai": "endpoint", "report": "report"}


def _case_request(session, case_id: int, params) -> tuple[Any, str | None]:  # noqa: ANN001
    """The ReasonRequest for a case (images rendered from the store), and its options."""
    from imaging.render import render_for_display
    from reasoner.backends.base import ReasonRequest
    from reasoner.prompts import Task
    from review_db.errors import NotFound
    from review_db.models import Case

    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case with id {case_id}")
    studies = [s for s in (case.prior_study, case.study) if s is not None]
    image_dir = settings().image_dir
    images = tuple(render_for_display(image_dir / s.stored_path).to_pil() for s in studies)
    task = Task(case.task_type.value, case.question, tuple(case.options or ()))
    request = ReasonRequest(
        task,
        images,
        system_prompt=settings().system_prompt,
        params=params,
        report=case.report,
        reference_answer=case.reference_answer,
        request_id=case.external_id,
    )
    return request, case.reference_answer


def _backend(kind: str, model: str | None, adapter: Path | None, demo_text: bool, llm: bool):  # noqa: ANN202
    s = settings()
    if kind == "hf":
        from reasoner.backends.hf import HFBackend

        path = model or s.model_path
        if not path:
            raise fail("no model: give --model PATH_OR_ID or set CHESTX_MODEL_PATH")
        backend = HFBackend(path, adapter=adapter)
        if demo_text:
            from reasoner.tiny import scripted_logits

            backend = HFBackend(
                backend.loaded, logits_processor=scripted_logits(backend.loaded.processor.tokenizer)
            )
        return backend
    if kind in ("openai", "report"):
        from reasoner.backends.openai import ChatClient, OpenAIBackend
        from reasoner.backends.report import ReportBackend

        if kind == "report" and not llm:
            return ReportBackend()
        if not s.openai_base_url:
            raise fail("no endpoint: set CHESTX_OPENAI_BASE_URL (e.g. http://gpu-host:8000/v1)")
        name = model or s.openai_model
        if not name:
            raise fail("no model name: give --model or set CHESTX_OPENAI_MODEL")
        key = s.openai_api_key.get_secret_value() if s.openai_api_key else None
        if kind == "report":
            return ReportBackend(ChatClient(s.openai_base_url, model=name, api_key=key))
        return OpenAIBackend(s.openai_base_url, model=name, api_key=key)
    raise fail(f"unknown backend {kind!r}: use hf, openai or report")


def _stream_to_terminal(backend, request):  # noqa: ANN001, ANN202
    """Print steps as they form; return the Finished event. Ctrl-C cancels and keeps the rest."""
    from reasoner.events import Answer, Error, Finished, StepDone, StepStarted, TextDelta

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
        from reasoner.backends.base import GenerationParams
        from reasoner.errors import ReasonerError
        from review_db.engine import read_session, session_scope
        from review_db.store.cases import add_chain

        kind = backend or settings().reasoner_backend
        params = GenerationParams(max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
        with clean_errors():
            factory = database()
            with read_session(factory) as session:
                request, _ = _case_request(session, case_id, params)
            try:
                engine = _backend(kind, model, adapter, demo_text, llm)
            except ReasonerError as exc:
                raise fail(str(exc)) from None
            fin = _stream_to_terminal(engine, request)
            if not fin.raw:  # zero tokens: nothing to review (whitespace alone is stored, flagged)
                raise fail(f"nothing was generated ({fin.finish_reason}); no chain stored")
            info = engine.describe()
            answer, flags = fin.chain.answer, set(fin.flags)
            with session_scope(factory, actor="cli:reason") as session:
                chain = add_chain(
                    session=session,
                    case_id=case_id,
                    steps=fin.chain.steps,
                    final_answer=answer,
                    source=SOURCES[kind],
                    raw_output=fin.raw,
                    source_detail=info.model_id,
                    status=fin.status,
                    flags=sorted(flags),
                    generation_params=fin.params,
                )
                chain_id = chain.id
            shown = ", ".join(sorted(flags)) or "none"
            steps = len(fin.chain.steps)
            typer.echo(
                f"stored chain {chain_id} for case {case_id}: {fin.status} ({steps} steps; flags: {shown})"
            )
