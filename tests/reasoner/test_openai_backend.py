"""The OpenAI-compatible backend over real HTTP against a server the tests start."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from openai_server import ChatServer
from PIL import Image

from reasoner.backends.base import GenerationParams, ReasonRequest
from reasoner.backends.hf import HFBackend
from reasoner.backends.hf_loading import load_model
from reasoner.backends.openai import ChatClient, HTTPSettings, OpenAIBackend
from reasoner.events import Answer, Error, Finished, StepDone, collect
from reasoner.prompts import make_task
from reasoner.tiny import DEMO_CHAIN, scripted_logits

IMAGE = Image.fromarray((np.random.RandomState(1).rand(100, 90) * 255).astype("uint8"))
TASK = make_task("single_choice", "Which findings?", ["effusion and cardiomegaly", "pneumothorax"])
FAST = HTTPSettings(connect_timeout=5.0, read_timeout=30.0, retries=2, backoff=0.05)


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    loaded = load_model(tiny_model_dir)
    return HFBackend(loaded, logits_processor=scripted_logits(loaded.processor.tokenizer))


def request(**kw) -> ReasonRequest:
    return ReasonRequest(TASK, (IMAGE,), params=GenerationParams(max_new_tokens=200, **kw))


def test_streams_the_model_over_http(model):
    with ChatServer(model) as server:
        events = list(OpenAIBackend(server.url, model="tiny", http=FAST).stream(request()))
    fin = events[-1]
    assert isinstance(fin, Finished) and fin.status == "complete" and fin.raw == DEMO_CHAIN
    assert [e.index for e in events if isinstance(e, StepDone)] == list(range(6))
    assert Answer("A", "A") in events
    assert fin.params["endpoint"] == server.url and fin.params["attempts"] == 1


def test_retries_5xx_with_backoff_then_succeeds(model):
    with ChatServer(model, "error500", fail_first=2) as server:
        t = time.monotonic()
        fin = collect(OpenAIBackend(server.url, model="tiny", http=FAST).stream(request()))
    assert fin.status == "complete" and server.requests == 3 and fin.params["attempts"] == 3
    assert time.monotonic() - t >= FAST.backoff * (1 + 2)


def test_persistent_500_is_a_clear_error(model):
    with ChatServer(model, "error500") as server:
        events = list(OpenAIBackend(server.url, model="tiny", http=FAST).stream(request()))
    err = next(e for e in events if isinstance(e, Error))
    assert err.kind == "http" and "HTTP 500" in err.message and server.requests == 1 + FAST.retries
    assert events[-1].finish_reason == "error" and events[-1].status == "incomplete"


def test_timeout_is_retried_then_reported(model):
    with ChatServer(model, "hang", hang_s=3.0) as server:
        http = HTTPSettings(connect_timeout=1.0, read_timeout=0.3, retries=1, backoff=0.01)
        events = list(OpenAIBackend(server.url, model="tiny", http=http).stream(request()))
    err = next(e for e in events if isinstance(e, Error))
    assert err.kind == "timeout" and server.requests == 2
    assert events[-1].status == "incomplete"


def test_dropped_stream_keeps_the_partial_chain_flagged(model):
    with ChatServer(model, "drop") as server:
        events = list(OpenAIBackend(server.url, model="tiny", http=FAST).stream(request()))
    err = next(e for e in events if isinstance(e, Error))
    assert err.kind == "dropped" and "dropped" in err.message
    fin = events[-1]
    assert server.requests == 1  # text had arrived: no retry, which would repeat it
    assert fin.finish_reason == "error" and "incomplete" in fin.flags and fin.raw
    assert DEMO_CHAIN.startswith(fin.raw)


def test_connection_refused_is_a_connect_error():
    http = HTTPSettings(connect_timeout=0.5, read_timeout=0.5, retries=1, backoff=0.01)
    events = list(OpenAIBackend("http://127.0.0.1:9/v1", model="x", http=http).stream(request()))
    assert events[0].kind == "connect" and "cannot connect" in events[0].message


def test_cancel_mid_stream(model):
    cancel = threading.Event()
    with ChatServer(model) as server:
        events = []
        for e in OpenAIBackend(server.url, model="tiny", http=FAST).stream(request(), cancel=cancel):
            events.append(e)
            if isinstance(e, StepDone):
                cancel.set()
    assert events[-1].finish_reason == "cancelled" and events[-1].status == "incomplete"


def test_client_complete_returns_the_whole_text(model):
    from reasoner.backends.openai import openai_messages

    with ChatServer(model) as server:
        client = ChatClient(server.url, model="tiny", http=FAST)
        text = client.complete(openai_messages(request().chat()), GenerationParams(max_new_tokens=300))
    assert text == DEMO_CHAIN


def test_bad_input_is_an_input_error_without_a_request():
    events = list(
        OpenAIBackend("http://127.0.0.1:9/v1", model="x").stream(ReasonRequest(TASK, ("not an image",)))
    )
    assert events[0].kind == "input" and events[-1].finish_reason == "error"
