"""Reasoner backends: one interface (:class:`ReasonerBackend`), several sources of chains.

``hf`` (in-process transformers), ``openai`` (an OpenAI-compatible server such as vLLM or
SGLang), ``report`` (chains mined from the study's report) and ``imported`` (outputs a model
already produced). Heavy dependencies (torch, transformers, httpx) load only with their backend.
"""

from reasoner.backends.base import BackendInfo, GenerationParams, ReasonerBackend, ReasonRequest

__all__ = ["BackendInfo", "GenerationParams", "ReasonRequest", "ReasonerBackend"]
