"""Generating a fresh chain for a case: one home for the app's "Ask the model" and ``chestx reason``.

Contract: :class:`ReasonerConfig` is the plain configuration the composition root (the CLI, the
web app) builds from its settings; :func:`make_backend` turns it into a reasoner backend (the
heavy model libraries load only then); :func:`case_request` builds the request for a case (its
images rendered, prior first); :func:`store_chain` stores what a backend finished with. Streaming
the events to a person (a terminal, a page) is the caller's. Functions taking a session never
commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from imaging.render import render_for_display
from imaging.storage import load_payload
from reasoner.backends.base import BackendInfo, GenerationParams, ReasonRequest
from reasoner.backends.openai import ChatClient, OpenAIBackend
from reasoner.backends.report import ReportBackend
from reasoner.errors import ReasonerError
from reasoner.events import Finished
from reasoner.prompts import make_task
from review_db.errors import NotFound
from review_db.models import Case, Chain, Study
from review_db.store.cases import add_chain
from review_db.types import ChainSource

BACKENDS = ("hf", "openai", "report")
SOURCES = {"hf": ChainSource.model, "openai": ChainSource.endpoint, "report": ChainSource.report}


@dataclass(frozen=True)
class ReasonerConfig:
    """Which reasoner to ask and how (the deploy settings, with a command's overrides)."""

    backend: str = "hf"  # hf | openai | report
    model_path: str | None = None  # hf: local model dir or hub id
    adapter: Path | None = None  # hf: a LoRA adapter directory
    openai_base_url: str | None = None
    openai_model: str | None = None
    openai_api_key: str | None = None
    system_prompt: str | None = None
    report_by_llm: bool = False  # report: mine through the OpenAI-compatible endpoint
    demo_text: bool = False  # hf with a tiny demo model: script a sample chain


def configured(config: ReasonerConfig) -> bool:
    """Whether ``config`` names a model to ask (without loading it)."""
    if config.backend == "openai":
        return bool(config.openai_base_url and config.openai_model)
    return config.backend == "hf" and bool(config.model_path)


def make_backend(config: ReasonerConfig) -> Any:
    """The backend ``config`` names; ReasonerError (with what to set) when it names none."""
    if config.backend == "hf":
        if not config.model_path:
            raise ReasonerError("no model: give --model PATH_OR_ID or set CHESTX_MODEL_PATH")
        from reasoner.backends.hf import HFBackend  # lazy: pulls in torch and transformers

        backend = HFBackend(config.model_path, adapter=config.adapter)
        if config.demo_text:
            from reasoner.tiny import scripted_logits  # lazy: pulls in torch

            backend = HFBackend(
                backend.loaded, logits_processor=scripted_logits(backend.loaded.processor.tokenizer)
            )
        return backend
    if config.backend not in BACKENDS:
        raise ReasonerError(f"unknown backend {config.backend!r}: use {', '.join(BACKENDS)}")
    if config.backend == "report" and not config.report_by_llm:
        return ReportBackend()
    if not config.openai_base_url:
        raise ReasonerError("no endpoint: set CHESTX_OPENAI_BASE_URL (e.g. http://gpu-host:8000/v1)")
    if not config.openai_model:
        raise ReasonerError("no model name: give --model or set CHESTX_OPENAI_MODEL")
    if config.backend == "report":
        return ReportBackend(
            ChatClient(config.openai_base_url, model=config.openai_model, api_key=config.openai_api_key)
        )
    return OpenAIBackend(config.openai_base_url, model=config.openai_model, api_key=config.openai_api_key)


# How a study becomes the image a model sees: the default renders its stored payload whole.
Render = Callable[[Study], Any]


def render_stored(image_dir: Path, *, max_side: int = 1024) -> Render:
    """A :data:`Render` of studies stored under ``image_dir`` with their default window."""

    def render(study: Study) -> Any:
        data = load_payload(root=image_dir, relative_path=study.stored_path)
        return render_for_display(data, max_side=max_side).to_pil().convert("RGB")

    return render


def case_request(
    session: Session,
    *,
    case_id: int,
    render: Render,
    system_prompt: str | None = None,
    params: GenerationParams | None = None,
) -> ReasonRequest:
    """The request for a case: its task, its images (prior first, as ``render`` gives them; a
    missing image file is left out for the backend to report) and its report for the miner."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case with id {case_id}")
    images = []
    for study in (case.prior_study, case.study):
        if study is None:
            continue
        try:
            images.append(render(study))
        except FileNotFoundError:
            continue
    extra = {} if system_prompt is None else {"system_prompt": system_prompt}
    return ReasonRequest(
        task=make_task(case.task_type.value, case.question, case.options or None),
        images=tuple(images),
        params=params or GenerationParams(),
        report=case.report,
        reference_answer=case.reference_answer,
        request_id=case.external_id,
        **extra,
    )


def store_chain(session: Session, *, case_id: int, finished: Finished, info: BackendInfo) -> Chain:
    """Store the chain a backend finished with (flagged as the parser flagged it)."""
    return add_chain(
        session=session,
        case_id=case_id,
        steps=list(finished.chain.steps),
        final_answer=finished.chain.answer,
        source=SOURCES.get(info.name, ChainSource.model),
        source_detail=info.model_id,
        raw_output=finished.raw,
        status=finished.status,
        flags=sorted(finished.flags),
        generation_params={**info.params, **finished.params},
    )
