"""The in-process transformers backend: generation in a thread, text streamed as events.

Contract: see :mod:`reasoner.backends.base`. ``HFBackend(model)`` loads any
``AutoModelForImageTextToText`` with its processor (Qwen2-VL family without torchvision
included) from a local directory or hub id, with an optional LoRA adapter, on CUDA+bf16 where
available, else CPU+float32. ``stream()`` runs ``model.generate`` in a worker thread that also
parses the text into events as it comes, handing the consumer one list of events about once a
step; generation stops at ``cancel`` (the streamer checks it at every token and unwinds
``generate``), and the thread is always joined before the generator returns. Generations
are serialised: one model, one generation at a time.
"""

from __future__ import annotations

import queue
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from reasoner.backends.base import BackendInfo, GenerationParams, ReasonRequest
from reasoner.backends.hf_loading import LoadedModel, load_model
from reasoner.errors import InputError
from reasoner.events import Answer, Error, Event, EventMapper, FinishReason, StepDone
from reasoner.prompts import ChatPrompt

COALESCE_S = 0.05  # longest that text or events without a possible step boundary wait for company
_BOUNDARY_CHARS = frozenset(".!?\n")
_BOUNDARY, _BLANK, _TAG_END = 1, 2, 4  # what a token's text can tell the streamer
_TOKEN_KINDS: weakref.WeakKeyDictionary[Any, dict[int, int]] = weakref.WeakKeyDictionary()


def _streamer_class():
    from transformers import TextIteratorStreamer

    class DeltaStreamer(TextIteratorStreamer):
        """TextIteratorStreamer whose generating-thread side releases text at decisive moments.

        ``put`` runs in the generating thread once a token. Text is decoded only when it can
        decide something: a step can only become certain on the first visible token *after* a
        possible boundary (".!?", a line break) or on a tag's ">", so such a token releases the
        text at once, stamped with its own time; other text waits for company for up to
        COALESCE_S, stamped with its first token's time. What a token can decide comes from its
        id (each id decoded alone once, memoised per tokenizer), so a token that decides nothing
        costs a dict lookup, not a decode. Decoding uses offsets as in text-generation-inference
        (tokenizers that drop a leading space when decoding alone still decode right) and holds
        back text that ends inside a multi-byte character.

        Cancellation: once one of the ``stop`` events is set, the next ``put`` raises
        :class:`GenerationStopped`, which unwinds ``generate`` at that token (a StoppingCriteria
        would cost a call and a tensor operation on every token).

        Iterating the streamer (in the consumer) yields lists. Without ``mapper`` they hold
        ``(text, monotonic time)`` deltas. With one, the parser runs here in the generating
        thread and the lists hold its events: a list is queued at once when it has a finished
        step, an answer or an error, otherwise after COALESCE_S, so the consumer wakes about once
        a step: each wake-up costs the generating thread a GIL hand-off (~0.3 ms on this CPU).
        """

        def __init__(
            self,
            tokenizer,
            mapper: EventMapper | None = None,
            stop: tuple[threading.Event, ...] = (),
            **decode_kwargs,
        ):
            super().__init__(tokenizer, skip_prompt=True, **decode_kwargs)
            self.stop = stop  # any set: the next put raises GenerationStopped
            self.text_queue = queue.SimpleQueue()  # same get/put, no Python-level Condition
            self.mapper = mapper
            self.tokens: list[int] = []
            self._prefix = self._read = 0
            self._hot = self._retry = self._closed = False
            self._first_at = self._last_out = self._last_queued = 0.0
            self._pending: list[Any] = []
            # The tokenizers backend decodes ~4x faster than the Python wrapper; same text when
            # the wrapper adds no clean-up of tokenization spaces.
            fast = getattr(tokenizer, "_tokenizer", None)
            plain = not getattr(tokenizer, "clean_up_tokenization_spaces", False)
            skip = bool(decode_kwargs.get("skip_special_tokens"))
            self._decode = (
                (lambda ids: fast.decode(ids, skip_special_tokens=skip))
                if fast and plain
                else (lambda ids: tokenizer.decode(ids, **decode_kwargs))
            )
            try:
                self._kinds = _TOKEN_KINDS.setdefault(tokenizer, {})
            except TypeError:  # not weak-referenceable: memoise per generation
                self._kinds = {}

        def _kind(self, token: int) -> int:
            text = self._decode([token])
            kind = _BOUNDARY if any(c in text for c in _BOUNDARY_CHARS) else 0
            kind |= (_BLANK if not text.strip() else 0) | (_TAG_END if ">" in text else 0)
            self._kinds[token] = kind
            return kind

        def put(self, value) -> None:
            for event in self.stop:
                if event.is_set():
                    raise GenerationStopped
            if self.skip_prompt and self.next_tokens_are_prompt:
                self.next_tokens_are_prompt = False
                return
            now = time.monotonic()
            ids = value.tolist()  # (batch,) from generate; a flat list without another torch op
            if ids and not isinstance(ids[0], int):
                ids = [i for row in ids for i in row]
            kinds, hot = self._kinds, self._hot
            for token in ids:
                if self._read == len(self.tokens):
                    self._first_at = now
                self.tokens.append(token)
                kind = kinds.get(token)
                if kind is None:
                    kind = self._kind(token)
                decisive = hot or kind & _TAG_END
                # whitespace alone decides nothing: stay hot until the next visible character
                hot = kind & _BOUNDARY or (hot and kind & _BLANK)
                if decisive or self._retry or now - self._last_out >= COALESCE_S:
                    self._release(now if decisive else self._first_at, final=False)
            self._hot = bool(hot)

        def end(self) -> None:
            if self._read < len(self.tokens):
                self._release(self._first_at, final=True)
            self.close()

        def close(self) -> None:
            """Queue what is held and the end of the stream (once; also after a failure)."""
            if not self._closed:
                self._closed = True
                if self._pending:
                    self.text_queue.put(self._pending)
                self.text_queue.put(self.stop_signal)

        def _release(self, stamp: float, *, final: bool) -> None:
            text = self._decode(self.tokens[self._prefix :])
            self._retry = not final and text.endswith("\ufffd")
            if self._retry:
                return
            head = self._decode(self.tokens[self._prefix : self._read])
            self._prefix, self._read = self._read, len(self.tokens)
            self._last_out = time.monotonic()
            if len(text) > len(head):
                self._deliver(text[len(head) :], stamp)

        def _deliver(self, text: str, stamp: float) -> None:
            if self.mapper is None:
                self.text_queue.put([(text, stamp)])
                return
            events = self.mapper.feed(text, stamp)
            self._pending += events
            urgent = any(isinstance(e, StepDone | Answer | Error) for e in events)
            if self._pending and (urgent or self._last_out - self._last_queued >= COALESCE_S):
                self.text_queue.put(self._pending)
                self._pending, self._last_queued = [], self._last_out

    return DeltaStreamer


class GenerationStopped(Exception):
    """Raised by the streamer inside ``generate`` when the generation is cancelled."""


def _as_rgb(image: Any) -> Any:
    """A PIL image in RGB (16-bit and float images scaled to 8 bits), or InputError."""
    import numpy as np
    from PIL import Image

    if not isinstance(image, Image.Image):
        raise InputError(f"an image must be a PIL image, not {type(image).__name__}")
    if image.mode in ("I", "I;16", "I;16B", "F"):
        a = np.asarray(image, dtype=np.float64)
        lo, hi = float(a.min()), float(a.max())
        a = (a - lo) / (hi - lo or 1.0) * 255.0
        image = Image.fromarray(a.astype(np.uint8))
    return image if image.mode == "RGB" else image.convert("RGB")


class HFBackend:
    """Reasoning with a local/hub transformers model (see the module docstring)."""

    name = "hf"

    def __init__(
        self,
        model: str | Path | LoadedModel,
        *,
        adapter: str | Path | None = None,
        device: str | None = None,
        dtype: str | None = None,
        cpu_threads: int | None = None,
        logits_processor: Callable[[], Any] | None = None,
    ) -> None:
        """``logits_processor``: a factory of a fresh ``LogitsProcessorList`` per generation
        (the offline demo uses it to script the tiny model's text; normally None)."""
        self.loaded = (
            model
            if isinstance(model, LoadedModel)
            else load_model(model, adapter=adapter, device=device, dtype=dtype, cpu_threads=cpu_threads)
        )
        self._logits_processor = logits_processor
        self._lock = threading.Lock()
        self.last_thread: threading.Thread | None = None  # the latest worker, for tests

    def describe(self) -> BackendInfo:
        import transformers

        lm = self.loaded
        return BackendInfo(
            self.name,
            lm.model_id,
            {
                "adapter": lm.adapter,
                "device": lm.device,
                "dtype": lm.dtype,
                "model_type": lm.model_type,
                "cpu_threads": lm.cpu_threads,
                "transformers": transformers.__version__,
            },  # fmt: skip
        )

    # -- pieces that the benchmark reuses for its bare-generate baseline -----------------------

    def prepare_inputs(self, chat: ChatPrompt) -> Any:
        """Tokenised inputs (with pixel values) on the model's device; InputError if rejected."""
        images = iter([_as_rgb(img) for img in chat.images])

        def part(p: dict[str, Any]) -> dict[str, Any]:
            return {"type": "image", "image": next(images)} if p.get("type") == "image" else p

        messages = [{**m, "content": [part(p) for p in m["content"]]} for m in chat.messages]
        try:
            inputs = self.loaded.processor.apply_chat_template(
                messages, tokenize=True, return_dict=True, add_generation_prompt=True, return_tensors="pt"
            )
        except (ValueError, TypeError, OSError, RuntimeError, IndexError) as exc:
            raise InputError(f"the processor rejected the input: {exc}") from exc
        return inputs.to(self.loaded.model.device)

    def generate_kwargs(self, params: GenerationParams) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"max_new_tokens": params.max_new_tokens, "do_sample": params.do_sample}
        if params.do_sample:
            kwargs |= {"temperature": params.temperature, "top_p": params.top_p}
        if params.repetition_penalty != 1.0:
            kwargs["repetition_penalty"] = params.repetition_penalty
        if self._logits_processor is not None:
            kwargs["logits_processor"] = self._logits_processor()
        return kwargs

    # -- streaming -------------------------------------------------------------------------

    def stream(self, request: ReasonRequest, *, cancel: threading.Event | None = None) -> Iterator[Event]:
        mapper = EventMapper(options=request.task.options or None)
        record = self._record(request.params)
        try:
            inputs = self.prepare_inputs(request.chat())
        except (InputError, ValueError) as exc:
            yield Error(str(exc), "input")
            yield from mapper.finish("error", params=record)
            return
        with self._lock:
            yield from self._generate(inputs, request.params, mapper, record, cancel)

    def _record(self, params: GenerationParams) -> dict[str, Any]:
        info = self.describe()
        return {"backend": info.name, "model": info.model_id, **params.as_dict(), **info.params}

    def _generate(
        self, inputs, params: GenerationParams, mapper: EventMapper, record, cancel
    ) -> Iterator[Event]:
        generation = Generation(self, inputs, params, cancel, mapper=mapper)
        for events in generation:
            yield from events
        if generation.error is not None:
            yield Error(f"generation failed: {generation.error}", "model")
        record["generated_tokens"] = generation.n_tokens
        yield from mapper.finish(generation.finish_reason, params=record)

    def generate_text(
        self, chat: ChatPrompt, params: GenerationParams, *, cancel: threading.Event | None = None
    ) -> Generation:
        """Lists of text deltas for ``chat``, no step parsing (the test HTTP server uses this)."""
        return Generation(self, self.prepare_inputs(chat), params, cancel)


class Generation:
    """One ``model.generate`` in a worker thread; iterate for what it streams, in lists: text
    deltas ``(text, monotonic time)``, or with ``mapper`` the events it made of them in the
    generating thread (see the streamer's docstring); the mapper is the consumer's again once
    iteration has ended. After iteration: ``finish_reason`` ("stop", "length", "cancelled",
    "error"), ``error`` and ``n_tokens``. The worker is joined when iteration ends, also when the
    consumer stops early.
    """

    def __init__(
        self,
        backend: HFBackend,
        inputs: Any,
        params: GenerationParams,
        cancel: threading.Event | None,
        *,
        mapper: EventMapper | None = None,
    ) -> None:
        self.backend, self.inputs, self.params, self.cancel = backend, inputs, params, cancel
        self.mapper = mapper
        self.error: Exception | None = None
        self.finish_reason: FinishReason = "error"
        self.n_tokens = 0

    def __iter__(self) -> Iterator[list[Any]]:
        import torch

        stop = threading.Event()
        loaded, params = self.backend.loaded, self.params
        events = (stop,) if self.cancel is None else (stop, self.cancel)
        tokenizer = loaded.processor.tokenizer
        streamer = _streamer_class()(tokenizer, self.mapper, events, skip_special_tokens=True)
        kwargs = self.backend.generate_kwargs(params) | {"streamer": streamer}
        result: dict[str, Any] = {}

        def work() -> None:
            try:
                if params.seed is not None:
                    torch.manual_seed(params.seed)
                with torch.inference_mode():
                    result["sequences"] = loaded.model.generate(**self.inputs, **kwargs)
            except GenerationStopped:
                result["cancelled"] = True
                streamer.end()  # what was generated before the cancel still goes out
            except Exception as exc:  # reported by the consumer; the stream must still end
                result["error"] = exc
            finally:
                streamer.close()

        worker = threading.Thread(target=work, name="reasoner-generate", daemon=True)
        self.backend.last_thread = worker
        worker.start()
        try:
            yield from streamer
        finally:  # also when the consumer closes the generator early
            stop.set()
            worker.join()
        self.n_tokens = len(streamer.tokens)
        self.error = result.get("error")
        self.finish_reason = self._finish_reason(result)

    def _finish_reason(self, result: dict[str, Any]) -> FinishReason:
        if "error" in result:
            return "error"
        if "cancelled" in result or (self.cancel is not None and self.cancel.is_set()):
            return "cancelled"
        generated = result["sequences"][0, self.inputs["input_ids"].shape[1] :].tolist()
        eos = self.backend.loaded.model.generation_config.eos_token_id
        eos = set(eos if isinstance(eos, list) else [eos])
        if len(generated) >= self.params.max_new_tokens and not eos & set(generated[-1:]):
            return "length"
        return "stop"
