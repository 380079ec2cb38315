"""Language models for tests: the real shipped ones, and a tiny random one for speed.

The tiny model has the real SmolLM2 tokenizer and chat template but two narrow layers of random
weights: it writes nonsense quickly, which is all the plumbing tests need. Real-model tests are
marked slow and use the converted models in the project's model store (converted once).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(scope="session")
def english_base_model() -> Path:
    from generation.ml.model_store import base_model_location

    return base_model_location("en", store_dir=django_settings.COPILOT_MODEL_STORE).path


@pytest.fixture(scope="session")
def tiny_model_dir(english_base_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("tiny-model")
    tokenizer = AutoTokenizer.from_pretrained(english_base_model)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def tiny_model(settings, tiny_model_dir: Path) -> Path:
    """Both languages are written by the tiny model, few candidates, small batches."""
    settings.COPILOT_BASE_MODEL_EN = str(tiny_model_dir)
    settings.COPILOT_BASE_MODEL_ZH = str(tiny_model_dir)
    settings.COPILOT_GENERATION_CANDIDATES = 2
    settings.COPILOT_GENERATION_BATCH_SIZE = 2
    return tiny_model_dir
