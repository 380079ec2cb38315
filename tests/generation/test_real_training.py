"""The corpus, evaluation and LoRA training with the shipped English model, for real (slow)."""

from __future__ import annotations

import json
import math
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from generation.ml import lora
from generation.ml.channels import channel_profile
from generation.ml.corpus import shipped_split
from generation.ml.generator import SamplingOptions, load_language_model
from generation.ml.metrics import METRIC_LABELS
from generation.ml.writer import FieldRequest, write_field

pytestmark = [pytest.mark.slow]


@pytest.mark.django_db
def test_evaluate_scores_the_shipped_model_on_held_out_products(english_base_model, tmp_path: Path) -> None:
    target = tmp_path / "eval.json"
    call_command(
        "evaluate",
        "--limit",
        "2",
        "--fields",
        "title,bullets",
        "--json",
        str(target),
        stdout=StringIO(),
        stderr=StringIO(),
    )
    report = json.loads(target.read_text())
    metrics = report["metrics"]
    assert report["model"]["name"] == "SmolLM2-135M-Instruct"
    assert metrics["drafts"] == 4
    assert set(METRIC_LABELS) <= set(metrics)
    assert all(d["text"].strip() for d in report["drafts"])
    assert 0 < metrics["chrf"] <= 100 and 0 <= metrics["bleu"] <= 100 and 0 < metrics["rouge_l"] <= 100
    assert 0 <= metrics["ungrounded_rate"] <= 1 and 0 <= metrics["coverage"] <= 1
    assert metrics["mean_length"] > 0 and metrics["seconds_per_draft"] > 0


def test_a_lora_adapter_trained_on_the_shipped_model_loads_and_writes(
    english_base_model, tmp_path: Path
) -> None:
    train, _ = shipped_split()
    products = [p for p in train if p.language == "en"][:2]
    pairs = [lora.training_pair(p.facts, "title", "en", p.reference("title")) for p in products]
    config = lora.LoraConfig(rank=4, alpha=8, batch_size=2, max_steps=2, epochs=2)
    result, model = lora.train_lora(english_base_model, pairs, tmp_path / "run", config)
    assert result.steps == 2 and math.isfinite(result.train_loss)
    adapter = lora.save_adapter(model, tmp_path / "adapter", {"language": "en"})

    tuned = load_language_model(str(english_base_model), "SmolLM2 + test adapter", str(adapter))
    request = FieldRequest(
        field="title", language="en", tone="professional", length="medium", profile=channel_profile("generic")
    )
    [written] = write_field(
        tuned, request, [(products[0].facts, ())], SamplingOptions(num_candidates=1, temperature=0)
    )
    assert written.best.text.strip()
    assert written.new_tokens > 0
