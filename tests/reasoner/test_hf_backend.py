"""The transformers backend with the tiny real model: loading, streaming, cancellation, seeds."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PIL import Image

from reasoner.backends.base import GenerationParams, ReasonRequest
from reasoner.backends.hf import HFBackend
from reasoner.backends.hf_loading import load_model
from reasoner.errors import ModelLoadError
from reasoner.events import Answer, Error, Finished, StepDone, StepStarted, TextDelta, collect
from reasoner.processors import check_processor
from reasoner.prompts import make_task
from reasoner.tiny import DEMO_CHAIN, build_tiny_qwen2vl, scripted_logits

IMAGE = Image.fromarray((np.random.RandomState(0).rand(120, 100) * 255).astype("uint8"))
TASK = make_task("single_choice", "Which findings?", ["effusion and cardiomegaly", "pneumothorax"])


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    return load_model(tiny_model_dir)


def request(max_new_tokens=200, **kw) -> ReasonRequest:
    return ReasonRequest(TASK, (IMAGE,), params=GenerationParams(max_new_tokens=max_new_tokens, **kw))


def scripted(loaded) -> HFBackend:
    return HFBackend(loaded, logits_processor=scripted_logits(loaded.processor.tokenizer))


def test_tiny_model_loads_with_an_image_processor(tmp_path, loaded):
    from transformers import AutoProcessor

    t = time.perf_counter()
    build_tiny_qwen2vl(tmp_path / "again")
    assert time.perf_counter() - t < 2.0
    assert loaded.processor.image_processor is not None and loaded.model_type == "qwen2_vl"
    auto = AutoProcessor.from_pretrained(tmp_path / "again")
    assert hasattr(auto, "image_processor")
    with pytest.raises(ModelLoadError, match="not an image\\+text processor"):
        check_processor(auto.tokenizer, "somewhere")


def test_missing_model_path_names_path_and_contents(tmp_path):
    with pytest.raises(ModelLoadError) as err:
        HFBackend(tmp_path / "no-such-model")
    assert str(tmp_path / "no-such-model") in str(err.value) and "config.json" in str(err.value)
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text("{}")
    with pytest.raises(ModelLoadError, match="lacks weights.*tokenizer files.*preprocessor_config.json"):
        HFBackend(tmp_path / "half")


def test_stream_events_in_order_and_first_step_before_the_end(loaded):
    backend = scripted(loaded)
    events, alive_at_first_step = [], None
    for event in backend.stream(request()):
        if isinstance(event, StepDone) and event.index == 0:
            alive_at_first_step = backend.last_thread.is_alive()
        events.append(event)
    assert alive_at_first_step is True  # the step arrived while the model was still generating
    fin = events[-1]
    assert isinstance(fin, Finished) and fin.finish_reason == "stop" and fin.status == "complete"
    assert fin.raw == DEMO_CHAIN and fin.chain.answer == "A" and len(fin.chain.steps) == 6
    order = [(type(e).__name__, getattr(e, "index", None)) for e in events if not isinstance(e, TextDelta)]
    expected = [x for i in range(6) for x in (("StepStarted", i), ("StepDone", i))]
    assert order == [*expected, ("Answer", None), ("Finished", None)]
    assert fin.params["max_new_tokens"] == 200 and fin.params["backend"] == "hf" and fin.params["seed"] == 0
    assert not backend.last_thread.is_alive()


def test_cancel_stops_generation_and_frees_the_thread(loaded):
    backend, cancel = scripted(loaded), threading.Event()
    events = []
    for event in backend.stream(request(), cancel=cancel):
        events.append(event)
        if isinstance(event, StepDone):
            cancel.set()
    fin = events[-1]
    assert fin.finish_reason == "cancelled" and "incomplete" in fin.flags and fin.status == "incomplete"
    assert len(fin.chain.steps) < 6 and not any(isinstance(e, Answer) for e in events)
    assert not backend.last_thread.is_alive()


def test_closing_the_stream_early_joins_the_thread(loaded):
    backend = scripted(loaded)
    gen = backend.stream(request())
    assert isinstance(next(gen), StepStarted)
    gen.close()
    assert not backend.last_thread.is_alive()
    assert threading.active_count() < 50


def test_same_seed_same_tokens_as_bare_generate(loaded):
    import torch

    backend = HFBackend(loaded)
    req = request(max_new_tokens=40, temperature=1.0, seed=123)
    fin = collect(backend.stream(req))
    inputs = backend.prepare_inputs(req.chat())
    torch.manual_seed(123)
    out = loaded.model.generate(**inputs, **backend.generate_kwargs(req.params))
    new = out[0, inputs["input_ids"].shape[1] :]
    assert fin.raw == loaded.processor.tokenizer.decode(new, skip_special_tokens=True)
    assert fin.params["generated_tokens"] == len(new)
    again = collect(backend.stream(req))
    assert again.raw == fin.raw and fin.finish_reason in ("length", "stop")


def test_random_weights_give_a_flagged_chain(loaded):
    fin = collect(HFBackend(loaded).stream(request(max_new_tokens=12)))
    assert fin.finish_reason == "length" and fin.status == "incomplete"
    assert {"malformed", "no_answer", "truncated"} <= fin.flags


def test_rejected_image_is_a_clear_error(loaded):
    thin = Image.new("L", (2, 900))  # aspect ratio beyond what Qwen2-VL's resizing accepts
    events = list(HFBackend(loaded).stream(ReasonRequest(TASK, (thin,))))
    assert isinstance(events[0], Error) and events[0].kind == "input"
    assert "processor rejected" in events[0].message
    assert isinstance(events[-1], Finished) and events[-1].finish_reason == "error"
    bad = list(HFBackend(loaded).stream(ReasonRequest(TASK, ("not an image",))))
    assert bad[0].kind == "input" and "PIL image" in bad[0].message


def test_lora_adapter_is_applied_and_recorded(tmp_path, tiny_model_dir, loaded):
    from peft import LoraConfig, PeftModel, get_peft_model

    config = LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(load_model(tiny_model_dir).model, config).save_pretrained(tmp_path / "adapter")
    backend = HFBackend(tiny_model_dir, adapter=tmp_path / "adapter")
    assert isinstance(backend.loaded.model, PeftModel)
    assert backend.describe().params["adapter"] == str(tmp_path / "adapter")
    req = request(max_new_tokens=16, temperature=1.0, seed=5)
    assert collect(backend.stream(req)).raw != collect(HFBackend(loaded).stream(req)).raw
    with pytest.raises(ModelLoadError, match="adapter_config.json"):
        HFBackend(tiny_model_dir, adapter=tmp_path)


def test_qwen2_5_vl_family_streams(tmp_path):
    model_dir = build_tiny_qwen2vl(tmp_path / "q25", family="qwen2_5_vl")
    backend = HFBackend(model_dir)
    assert backend.loaded.model_type == "qwen2_5_vl"
    backend = HFBackend(backend.loaded, logits_processor=scripted_logits(backend.loaded.processor.tokenizer))
    fin = collect(backend.stream(request()))
    assert fin.raw == DEMO_CHAIN and fin.status == "complete"


def _replay(tokenizer, ids: list[int], mapper=None, *, nested: bool = False) -> list[list]:  # noqa: ANN001
    """Feed ``ids`` to the streamer one token at a time as generate does ((1,) tensors, or
    (1, 1) with ``nested``) and return what crosses to the consumer, list by list."""
    import torch

    from reasoner.backends import hf

    streamer = hf._streamer_class()(tokenizer, mapper, skip_special_tokens=True)
    streamer.next_tokens_are_prompt = False
    for token in ids:
        streamer.put(torch.tensor([[token]] if nested else [token]))
    streamer.end()
    return list(streamer)


def test_streamer_coalesces_words_but_not_step_boundaries(loaded, monkeypatch):
    from reasoner.backends import hf
    from reasoner.events import EventMapper, StepDone, TextDelta
    from reasoner.parsing import StepStream

    monkeypatch.setattr(hf, "COALESCE_S", 60.0)  # only boundaries release text
    text = "<think> The lungs are clear and well expanded. The heart is big. </think><answer> A </answer>"
    tokenizer = loaded.processor.tokenizer
    ids = tokenizer.encode(text, add_special_tokens=False)

    texts = [t for batch in _replay(tokenizer, ids, nested=True) for t, _ in batch]
    assert "".join(texts) == text and len(texts) < len(ids) // 2
    stream = StepStream()
    for chunk in texts:
        done = [p for p in stream.feed(chunk) if p.kind == "step"]
        if "heart" in chunk:
            break
        if done:
            break
    assert done and done[0].text == "The lungs are clear and well expanded."
    # with a mapper the parser runs in the generating thread and only decisions cross: a list
    # for each finished step and the answer, nothing for text alone
    batches = _replay(tokenizer, ids, EventMapper(), nested=True)
    assert all(any(not isinstance(e, TextDelta) for e in b) for b in batches)
    assert [e.text for b in batches for e in b if isinstance(e, StepDone)] == [
        "The lungs are clear and well expanded.",
        "The heart is big.",
    ]
    assert len(batches) <= 4


def test_streamer_holds_a_split_multibyte_character(loaded):
    tokenizer = loaded.processor.tokenizer
    text = "Größe 7.5 mm → stable. Ödem ✓."
    ids = tokenizer.encode(text, add_special_tokens=False)
    texts = [t for batch in _replay(tokenizer, ids) for t, _ in batch]
    assert "".join(texts) == tokenizer.decode(ids, skip_special_tokens=True)
    assert not any("\ufffd" in t for t in texts)
