"""The in-process transformers backend: generation in a thread, text streamed as events.

Contract: see :mod:`reasoner.backends.base`. ``HFBackend(model)`` loads any
``AutoModelForImageTextToText`` with its processor (Qwen2-VL family without torchvision
included) from a local directory or hub id, with an optional LoRA adapter, on CUDA+bf16 where
available, else CPU+float32. ``stream()`` runs ``model.generate`` in a worker thread and maps
the streamed text to events as it comes; generation stops at ``cancel`` (a StoppingCriteria
checks it between tokens), and the thread is always joined before the generator returns.
Generations are serialised: one model, one generation at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from reasoner.backends.base import BackendInfo, GenerationParams, ReasonRequest
from reasoner.backends.hf_loading import LoadedModel, load_model
from reasoner.errors import InputError
from reasoner.events import Error, Event, EventMapper, FinishReason
from reasoner.prompts import ChatPrompt

COALESCE_S = 0.05  # longest that text without a possible step boundary waits for company
_BOUNDARY_CHARS = frozenset(".!?\n")


def _streamer_class():
    from transformers import TextIteratorStreamer

    class DeltaStreamer(TextIteratorStreamer):
        """TextIteratorStreamer that releases text after every token, with its time.

        The stock streamer holds text back until the next space, which would delay the end of
        every step by a token; here each token's text goes out as soon as it decodes to whole
        characters (offsets as in text-generation-inference, so tokenizers that drop a leading
        space when decoding alone still decode right). Queue items are ``(text, monotonic)``.
        """

        def __init__(self, tokenizer, **decode_kwargs):
            super().__init__(tokenizer, skip_prompt=True, **decode_kwargs)
            self.tokens: list[int] = []
            self._prefix = self._read = 0
            self._prefix_len = 0  # len(decode(tokens[_prefix:_read])), kept to decode once a token
            self._held, self._held_at, self._last_put, self._hot = "", 0.0, 0.0, False
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

        def put(self, value):
            if self.skip_prompt and self.next_tokens_are_prompt:
                self.next_tokens_are_prompt = False
                return
            self.tokens.extend(value.reshape(-1).tolist())
            self._release(final=False)

        def end(self):
            self._release(final=True)
            if self._held:
                self.text_queue.put((self._held, self._held_at))
            self.text_queue.put(self.stop_signal)

        def _release(self, *, final: bool) -> None:
            text = self._decode(self.tokens[self._prefix :])
            if len(text) > self._prefix_len and (final or not text.endswith("\ufffd")):
                self._put(text[self._prefix_len :])
                self._prefix, self._read = self._read, len(self.tokens)
                tail = self._decode(self.tokens[self._prefix : self._read])
                self._prefix_len = len(tail)

        def _put(self, text: str) -> None:
            """Queue text, coalescing for up to COALESCE_S: every wake-up of the consumer costs
            the generating thread a GIL hand-off (milliseconds on a loaded machine). A step can
            only become certain on the text right *after* a possible boundary (".!?", a line
            break) or on a tag's ">", so such text goes out at once, stamped with its own time
            (the time the step was decided); other text waits for company, stamped with the
            oldest held piece's time."""
            now = time.monotonic()
            if not self._held:
                self._held_at = now
            self._held += text
            decisive = self._hot or ">" in text
            if decisive or now - self._last_put >= COALESCE_S:
                self.text_queue.put((self._held, now if decisive else self._held_at))
                self._held, self._last_put = "", now
            # whitespace alone decides nothing: stay hot until the next visible character
            self._hot = any(c in text for c in _BOUNDARY_CHARS) or (self._hot and not text.strip())

    return DeltaStreamer


def _cancel_criteria(events: tuple[threading.Event, ...]):
    import torch
    from transformers import StoppingCriteria

    class Cancelled(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            stop = any(e.is_set() for e in events)
            return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)

    return Cancelled()


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
        generation = Generation(self, inputs, params, cancel)
        for text, produced_at in generation.batched():
            yield from mapper.feed(text, produced_at)
        if generation.error is not None:
            yield Error(f"generation failed: {generation.error}", "model")
        record["generated_tokens"] = generation.n_tokens
        yield from mapper.finish(generation.finish_reason, params=record)

    def generate_text(
        self, chat: ChatPrompt, params: GenerationParams, *, cancel: threading.Event | None = None
    ) -> Generation:
        """Text deltas for ``chat`` without step parsing (the test HTTP server uses this)."""
        return Generation(self, self.prepare_inputs(chat), params, cancel)


class Generation:
    """One ``model.generate`` in a worker thread; iterate for ``(text, monotonic time)`` deltas.

    After iteration: ``finish_reason`` ("stop", "length", "cancelled", "error"), ``error`` and
    ``n_tokens``. The worker is joined when iteration ends, also when the consumer stops early.
    """

    def __init__(self, backend: HFBackend, inputs: Any, params: GenerationParams, cancel) -> None:
        self.backend, self.inputs, self.params, self.cancel = backend, inputs, params, cancel
        self.error: Exception | None = None
        self.finish_reason: FinishReason = "error"
        self.n_tokens = 0

    def __iter__(self) -> Iterator[tuple[str, float]]:
        import torch

        stop = threading.Event()
        loaded, params = self.backend.loaded, self.params
        streamer = _streamer_class()(loaded.processor.tokenizer, skip_special_tokens=True)
        self._queue = streamer.text_queue
        kwargs = self.backend.generate_kwargs(params)
        kwargs |= {"streamer": streamer, "stopping_criteria": [_cancel_criteria((stop, self.cancel or stop))]}
        result: dict[str, Any] = {}

        def work() -> None:
            try:
                if params.seed is not None:
                    torch.manual_seed(params.seed)
                with torch.inference_mode():
                    result["sequences"] = loaded.model.generate(**self.inputs, **kwargs)
            except Exception as exc:  # reported by the consumer; the stream must still end
                result["error"] = exc
                streamer.text_queue.put(streamer.stop_signal)

        worker = threading.Thread(target=work, name="reasoner-generate", daemon=True)
        self.backend.last_thread = worker
        worker.start()
        try:
            yield from iter(streamer.text_queue.get, streamer.stop_signal)
        finally:  # also when the consumer closes the generator early
            stop.set()
            worker.join()
        self.n_tokens = len(streamer.tokens)
        self.error = result.get("error")
        self.finish_reason = self._finish_reason(result)

    def batched(self) -> Iterator[tuple[str, float]]:
        """Like iterating, but joins the deltas already waiting when the consumer falls behind
        (fewer parser calls under load); the time is the first one's, so latency is not flattered."""
        queue = None
        pending: list[tuple[str, float]] = []
        for item in self:
            pending.append(item)
            queue = queue or self._queue
            while not queue.empty():
                nxt = queue.queue[0]
                if nxt is None:
                    break
                pending.append(queue.get_nowait())
            yield "".join(t for t, _ in pending), pending[0][1]
            pending = []

    def _finish_reason(self, result: dict[str, Any]) -> FinishReason:
        if "error" in result:
            return "error"
        if self.cancel is not None and self.cancel.is_set():
            return "cancelled"
        generated = result["sequences"][0, self.inputs["input_ids"].shape[1] :].tolist()
        eos = self.backend.loaded.model.generation_config.eos_token_id
        eos = set(eos if isinstance(eos, list) else [eos])
        if len(generated) >= self.params.max_new_tokens and not eos & set(generated[-1:]):
            return "length"
        return "stop"
