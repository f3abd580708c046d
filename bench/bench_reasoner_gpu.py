"""GPU part of the reasoner benchmark: tokens/s of a Qwen2-VL-2B-size model, backend vs bare.

Run: ``python bench/bench_reasoner_gpu.py`` on a machine with a CUDA GPU (called by
bench_reasoner.py there). ``--size tiny --device cpu`` runs the same code on the tiny config, as
a smoke test where no GPU is present.

The model has Qwen2-VL-2B's architecture (text hidden 1536, 28 layers, 12 heads / 2 KV heads,
vocabulary 151,936; vision depth 32, width 1280) with random weights in bfloat16. Its text is
scripted (``reasoner.tiny.scripted_logits``) so that both paths emit the same, step-shaped
tokens; every token still costs a full forward pass including the 151,936-way LM head.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QWEN2VL_2B = {
    "text": {
        "hidden_size": 1536,
        "intermediate_size": 8960,
        "num_hidden_layers": 28,
        "num_attention_heads": 12,
        "num_key_value_heads": 2,
        "vocab_size": 151936,
        "mrope_section": [16, 24, 24],
    },
    "vision": {"depth": 32, "embed_dim": 1280, "num_heads": 16, "mlp_ratio": 4},
}


def _model(size: str, device: str, dtype):
    import torch
    from transformers import AutoModelForImageTextToText, Qwen2VLImageProcessorPil

    from reasoner.backends.hf_loading import LoadedModel
    from reasoner.processors import image_only_processor_classes
    from reasoner.tiny import CHAT_TEMPLATE, _config, _tokenizer

    tokenizer = _tokenizer()
    if size == "2b":
        text = dict(QWEN2VL_2B["text"])
        mrope = text.pop("mrope_section")
        text["rope_parameters"] = {"rope_type": "default", "rope_theta": 1e6, "mrope_section": mrope}
        vision = QWEN2VL_2B["vision"] | {"hidden_size": text["hidden_size"]}
        config = _config("qwen2_vl", tokenizer, text["hidden_size"], text=text, vision=vision)
    else:
        config = _config("qwen2_vl", tokenizer, 64)
    with torch.device(device):
        model = AutoModelForImageTextToText.from_config(config, dtype=dtype).eval()
    image_processor = Qwen2VLImageProcessorPil(size={"shortest_edge": 3136, "longest_edge": 200_704})
    processor = image_only_processor_classes()["qwen2_vl"](
        image_processor=image_processor, tokenizer=tokenizer, chat_template=CHAT_TEMPLATE
    )
    return LoadedModel(model, processor, f"random-qwen2vl-{size}", "qwen2_vl", None, device, str(dtype))


def run_gpu(size: str = "2b", device: str = "cuda", runs: int = 5) -> dict:
    import numpy as np
    import torch
    from PIL import Image

    from reasoner.backends.base import GenerationParams, ReasonRequest
    from reasoner.backends.hf import HFBackend
    from reasoner.events import collect
    from reasoner.prompts import make_task
    from reasoner.tiny import scripted_logits

    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    loaded = _model(size, device, dtype)
    backend = HFBackend(loaded, logits_processor=scripted_logits(loaded.processor.tokenizer))
    image = Image.fromarray((np.random.RandomState(0).rand(448, 448) * 255).astype("uint8"))
    task = make_task("single_choice", "Which findings?", ["effusion and cardiomegaly", "pneumothorax"])
    request = ReasonRequest(task, (image,), params=GenerationParams(max_new_tokens=512, seed=1))
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

    def bare() -> int:
        inputs = backend.prepare_inputs(request.chat())
        torch.manual_seed(1)
        with torch.inference_mode():
            out = loaded.model.generate(**inputs, **backend.generate_kwargs(request.params))
        sync()
        return out.shape[1] - inputs["input_ids"].shape[1]

    def threaded(fn):
        box = {}
        t = threading.Thread(target=lambda: box.setdefault("v", fn()))
        t.start()
        t.join()
        return box["v"]

    threaded(bare), collect(backend.stream(request))  # warm-up
    bare_tps, stream_tps = [], []
    for _ in range(runs):
        t = time.perf_counter()
        n = threaded(bare)
        bare_tps.append(n / (time.perf_counter() - t))
        t = time.perf_counter()
        fin = collect(backend.stream(request))
        stream_tps.append(fin.params["generated_tokens"] / (time.perf_counter() - t))
        assert fin.params["generated_tokens"] == n
    name = torch.cuda.get_device_name() if device.startswith("cuda") else "CPU"
    params = sum(p.numel() for p in loaded.model.parameters())
    return {
        "device": f"{name} ({params / 1e9:.2f} B params, {str(dtype).removeprefix('torch.')})",
        "bare_tps": statistics.median(bare_tps),
        "stream_tps": statistics.median(stream_tps),
        "tokens": n,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", choices=["2b", "tiny"], default="2b")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    result = run_gpu(args.size, args.device, args.runs)
    print(result)
    print(f"ratio backend/bare tokens/s: {result['stream_tps'] / result['bare_tps']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
