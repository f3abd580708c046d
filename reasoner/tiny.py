"""A tiny random-weight Qwen2-VL (or Qwen2.5-VL) with a real processor, built offline.

Contract: :func:`build_tiny_qwen2vl` writes a complete model directory (config, safetensors
weights, tokenizer, chat template, image processor) that ``AutoModelForImageTextToText`` and
:func:`reasoner.processors.load_processor` load like a hub checkpoint, in well under two seconds
on a CPU. Same ``seed``, same weights. The weights are random, so its output is garbage text; the
parser flags it as malformed, which is exactly the path a real model's bad output takes. Used by
tests, benchmarks and the offline demo; no network, no downloads.
"""

from __future__ import annotations

from pathlib import Path

from reasoner.processors import image_only_processor_classes

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
# Qwen2-VL's chat template, trimmed to what the reasoner sends (text and image parts).
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# A few KB of radiology-style text: the tokenizer's training corpus.
_CORPUS = """\
<think> The chest X-ray shows clear lungs without focal consolidation, effusion or pneumothorax.
The cardiac silhouette is within normal limits. The mediastinum is not widened. There is mild
cardiomegaly with a cardiothoracic ratio of approx. 0.55. Blunting of the right costophrenic
angle suggests a small pleural effusion. Bibasilar opacities are consistent with atelectasis.
Degenerative changes of the thoracic spine. Healed left rib fractures. An endotracheal tube
terminates 4.5 cm above the carina. A right PICC ends in the superior vena cava. Sternotomy wires
and a calcified granuloma in the right upper lobe. Hyperinflated lungs with flattened diaphragms
suggest emphysema (COPD). The hila are normal. No pulmonary edema, no nodule, no mass.
In conclusion, the findings support option A, i.e. the answer is A. </think><answer> A </answer>
Which findings are in this chest X-ray? Options: A) B) C) D) Yes No improved unchanged worsened.
Let's think step by step. Enclose the reasoning within <think></think> and the answer within
<answer></answer>. Findings: Impression: Compared with the prior study, the effusion has decreased.
"""


def _tokenizer(vocab_size: int = 512):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([_CORPUS] * 4, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        chat_template=CHAT_TEMPLATE,
        model_max_length=32768,
    )


def _config(family: str, tokenizer, hidden: int, *, text: dict | None = None, vision: dict | None = None):
    """The model config; ``text`` / ``vision`` override sizes (the GPU benchmark's 2B shape)."""
    from transformers import Qwen2_5_VLConfig, Qwen2VLConfig

    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    text_cfg = {
        "vocab_size": len(tokenizer),
        "hidden_size": hidden,
        "intermediate_size": 2 * hidden,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 4096,
        # mrope_section must sum to head_dim / 2 (= hidden / 4 / 2).
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 10000.0,
            "mrope_section": _mrope(hidden // 8),
        },
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
    }
    vision_cfg = {
        "depth": 2,
        "num_heads": 2,
        "hidden_size": hidden,
        "patch_size": 14,
        "spatial_merge_size": 2,
    }
    if family == "qwen2_vl":
        vision_cfg |= {"embed_dim": 32, "mlp_ratio": 2}
        cls = Qwen2VLConfig
    elif family == "qwen2_5_vl":
        vision_cfg |= {"hidden_size": 32, "intermediate_size": 64, "out_hidden_size": hidden}
        vision_cfg |= {"window_size": 56, "fullatt_block_indexes": [1]}
        cls = Qwen2_5_VLConfig
    else:
        raise ValueError(f"family must be 'qwen2_vl' or 'qwen2_5_vl', not {family!r}")
    return cls(
        text_config=text_cfg | (text or {}),
        vision_config=vision_cfg | (vision or {}),
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True,
    )


def _mrope(half: int) -> list[int]:
    """Temporal/height/width sections summing to ``half`` (e.g. 8 -> [2, 3, 3])."""
    t = half // 4
    h = (half - t) // 2
    return [t, h, half - t - h]


def build_tiny_qwen2vl(
    out_dir: Path, *, family: str = "qwen2_vl", seed: int = 0, hidden: int = 64, max_pixels: int = 200_704
) -> Path:
    """Write a tiny random-weight model and its processor to ``out_dir``; return ``out_dir``.

    ``family``: "qwen2_vl" or "qwen2_5_vl". ``max_pixels`` bounds the image size the processor
    resizes to (and so the number of image tokens).
    """
    import torch
    from transformers import AutoModelForImageTextToText, Qwen2VLImageProcessorPil

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer()
    config = _config(family, tokenizer, hidden)
    torch.manual_seed(seed)
    model = AutoModelForImageTextToText.from_config(config)
    model.generation_config.eos_token_id = config.text_config.eos_token_id
    model.generation_config.pad_token_id = config.text_config.pad_token_id
    model.save_pretrained(out_dir)
    image_processor = Qwen2VLImageProcessorPil(size={"shortest_edge": 56 * 56, "longest_edge": max_pixels})
    processor = image_only_processor_classes()[family](
        image_processor=image_processor, tokenizer=tokenizer, chat_template=CHAT_TEMPLATE
    )
    processor.save_pretrained(out_dir)
    return out_dir


DEMO_CHAIN = (
    "<think> The lungs are well expanded and clear, without focal consolidation. "
    "The right costophrenic angle is blunted, e.g. by a small pleural effusion. "
    "The cardiac silhouette is enlarged, with a cardiothoracic ratio of approx. 0.6. "
    "No pneumothorax is seen at either apex. The bones show degenerative changes of the spine. "
    "In conclusion, the findings are a small right pleural effusion and cardiomegaly. "
    "</think><answer> A </answer>"
)


def scripted_logits(tokenizer, text: str = DEMO_CHAIN):
    """A factory of logits processors that make a model emit ``text``, then end.

    The model still runs its full forward pass for every token (so timing and streaming are
    real); only the choice of the next token is fixed. For demos and benchmarks with random
    weights, which otherwise produce text without sentence boundaries.
    """
    import torch
    from transformers import LogitsProcessor, LogitsProcessorList

    script = tokenizer.encode(text, add_special_tokens=False)
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")

    class Scripted(LogitsProcessor):
        def __init__(self) -> None:
            self.start: int | None = None

        def __call__(self, input_ids, scores):
            if self.start is None:
                self.start = input_ids.shape[1]
            k = input_ids.shape[1] - self.start
            forced = torch.full_like(scores, float("-inf"))
            forced[:, script[k] if k < len(script) else eos] = 0.0
            return forced

    return lambda: LogitsProcessorList([Scripted()])
