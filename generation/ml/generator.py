"""Batched sampling of several candidates per prompt from a causal language model.

One `LanguageModel` per model folder and process (`load_language_model` caches it): workers load
lazily on their first job and keep the weights for the next one. torch and transformers are only
imported here, inside functions, so Django processes that never generate never pay for them.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generation.ml.prompts import Prompt

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SamplingOptions:
    num_candidates: int = 4
    temperature: float = 0.7
    top_p: float = 0.9
    repetition_penalty: float = 1.15
    no_repeat_ngram_size: int = 4
    seed: int = 0

    def __post_init__(self) -> None:
        if self.greedy and self.num_candidates != 1:
            raise ValueError("Greedy decoding (temperature 0) writes one candidate")

    @property
    def greedy(self) -> bool:
        """Temperature 0: the most likely text, the same every run (evaluation uses it)."""
        return self.temperature == 0


@dataclass(frozen=True)
class GenerationOutput:
    candidates: tuple[str, ...]  # raw decoded text, one per candidate
    new_tokens: int


def configure_torch_threads() -> None:
    """Few, passive threads: on small machines OpenMP's busy-waiting makes torch 10x slower."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    threads = int(os.environ.get("COPILOT_TORCH_THREADS", "0") or 0)
    if threads > 0 and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


class LanguageModel:
    def __init__(self, model: Any, tokenizer: Any, *, name: str, path: Path) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.path = path
        self.load_seconds = 0.0
        # generate() is not safe to call from two threads on one model.
        self._lock = threading.Lock()
        tokenizer.padding_side = "left"  # decoder-only models continue from the right edge
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token

    @property
    def device(self) -> Any:
        return next(self.model.parameters()).device

    @property
    def is_chat(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def render(self, prompt: Prompt) -> str:
        """Chat models get their chat template; base models the plain-text form."""
        if self.is_chat:
            return self.tokenizer.apply_chat_template(
                list(prompt.messages), tokenize=False, add_generation_prompt=True
            )
        return prompt.completion

    def generate(
        self, prompts: Sequence[Prompt], options: SamplingOptions, *, max_new_tokens: int
    ) -> list[GenerationOutput]:
        """Sample `num_candidates` continuations of every prompt in one batched call."""
        import torch

        texts = [self.render(p) for p in prompts]
        # Chat templates already hold the special tokens; a second BOS would confuse the model.
        encoded = self.tokenizer(
            texts, return_tensors="pt", padding=True, add_special_tokens=not self.is_chat
        ).to(self.device)
        prompt_length = encoded["input_ids"].shape[1]
        with self._lock, torch.inference_mode():
            torch.manual_seed(options.seed)
            sampling = {} if options.greedy else {"temperature": options.temperature, "top_p": options.top_p}
            output = self.model.generate(
                **encoded,
                do_sample=not options.greedy,
                **sampling,
                logits_processor=_repetition_guards(options, prompt_length),
                num_return_sequences=options.num_candidates,
                max_new_tokens=max_new_tokens,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        new_tokens = output[:, prompt_length:]
        stop_ids = {self.tokenizer.pad_token_id, self.tokenizer.eos_token_id}
        results = []
        for index in range(len(prompts)):
            rows = new_tokens[index * options.num_candidates : (index + 1) * options.num_candidates]
            decoded = tuple(self.tokenizer.decode(row, skip_special_tokens=True) for row in rows)
            count = int(sum(int(t not in stop_ids) for row in rows for t in row.tolist()))
            results.append(GenerationOutput(candidates=decoded, new_tokens=count))
        return results


def device_and_dtype() -> tuple[str, Any]:
    """The GPU with bf16 where there is one, else the CPU in float32."""
    import torch

    if torch.cuda.is_available():
        return "cuda", torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    return "cpu", torch.float32


def _repetition_guards(options: SamplingOptions, prompt_length: int) -> Any:
    """Repetition penalty and no-repeat n-grams over the new tokens only.

    transformers applies both to the whole sequence, prompt included, which pushes the model away
    from the very facts it should copy: "13.3-inch" came out as "13.5 inch" and "65 W" as
    "60 watt". Copy must repeat the facts; it must not repeat itself.
    """
    from transformers import LogitsProcessor, LogitsProcessorList
    from transformers.generation.logits_process import (
        NoRepeatNGramLogitsProcessor,
        RepetitionPenaltyLogitsProcessor,
    )

    class OnNewTokens(LogitsProcessor):
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            return self.inner(input_ids[:, prompt_length:], scores)

    guards = []
    if options.repetition_penalty != 1.0:
        guards.append(OnNewTokens(RepetitionPenaltyLogitsProcessor(options.repetition_penalty)))
    if options.no_repeat_ngram_size:
        guards.append(OnNewTokens(NoRepeatNGramLogitsProcessor(options.no_repeat_ngram_size)))
    return LogitsProcessorList(guards)


@functools.lru_cache(maxsize=4)
def load_language_model(path: str, name: str, adapter_path: str = "") -> LanguageModel:
    """Load a Hugging Face causal LM folder once per process (CPU, or the GPU when present).

    With adapter_path, the LoRA adapter there is merged into the weights: generation then runs at
    the base model's speed. Each (base, adapter) pair is cached, so a newly promoted adapter is
    loaded on the next job without restarting the worker.
    """
    configure_torch_threads()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.monotonic()
    device, dtype = device_and_dtype()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    if adapter_path:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter_path).merge_and_unload()
    model = model.to(device)
    model.eval()
    language_model = LanguageModel(model, tokenizer, name=name, path=Path(path))
    language_model.load_seconds = time.monotonic() - started
    logger.info(
        "Loaded %s from %s%s in %.1f s",
        name,
        path,
        f" with adapter {adapter_path}" if adapter_path else "",
        language_model.load_seconds,
    )
    return language_model
