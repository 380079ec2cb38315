"""LoRA training on the tiny random model: masking, learning, exact resume, atomic adapters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generation.ml import lora
from generation.ml.prompts import ProductFacts

FACTS = ProductFacts(
    name="Nova X2 Smartphone",
    category="phones",
    attributes=(("brand", "Nova"), ("battery", "4500 mAh"), ("colour", "midnight blue")),
)
TARGETS = {
    "title": "Nova X2 Smartphone, 4500 mAh Battery, Midnight Blue",
    "tags": "nova x2, smartphone, midnight blue phone",
    "ad_copy": "A day of battery in one hand.",
}


def pairs(repeat: int = 1) -> list[lora.TrainingPair]:
    return [lora.training_pair(FACTS, field, "en", text) for field, text in TARGETS.items()] * repeat


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


def test_only_the_copy_is_learned(tokenizer) -> None:
    pair = pairs()[0]
    ids, labels = lora.encode_pair(tokenizer, pair, max_length=512)
    learned = [token for token in labels if token != -100]
    assert len(ids) == len(labels)
    assert labels[: len(ids) - len(learned)] == [-100] * (len(ids) - len(learned))
    assert learned[-1] == tokenizer.eos_token_id  # the model learns to stop
    assert tokenizer.decode(learned[:-1]).strip() == pair.target
    # The prompt is the one generation sends: chat template, facts, then the task.
    prompt = tokenizer.decode(ids[: len(ids) - len(learned)])
    assert '"4500 mAh"' in prompt
    assert prompt.rstrip().endswith("assistant")


def test_a_long_pair_loses_the_start_of_its_prompt_not_its_copy(tokenizer) -> None:
    pair = pairs()[0]
    ids, labels = lora.encode_pair(tokenizer, pair, max_length=40)
    assert len(ids) == 40
    learned = [token for token in labels if token != -100]
    assert tokenizer.decode(learned[:-1]).strip() == pair.target


def test_the_length_option_follows_the_reference() -> None:
    assert lora.length_for("title", "en", "one two three four five") == "short"
    assert lora.length_for("title", "en", " ".join(["word"] * 14)) == "medium"  # fits short and medium
    assert lora.length_for("title", "en", " ".join(["word"] * 40)) == "long"
    assert lora.length_for("description", "zh", "好" * 100) == "medium"


def test_config_rejects_unknown_and_impossible_options() -> None:
    assert lora.LoraConfig.from_dict({"rank": 4, "target_modules": ["q_proj"]}).target_modules == ("q_proj",)
    with pytest.raises(ValueError, match="Unknown training options: colour"):
        lora.LoraConfig.from_dict({"colour": "red"})
    with pytest.raises(ValueError, match="rank must be at least 1"):
        lora.LoraConfig.from_dict({"rank": 0})
    with pytest.raises(ValueError, match="learning_rate"):
        lora.LoraConfig.from_dict({"learning_rate": 3})


def test_planned_steps_hold_out_validation_pairs_and_respect_max_steps() -> None:
    config = lora.LoraConfig(batch_size=8, epochs=2)
    assert lora.planned_steps(100, config) == 2 * 12  # 10 validation pairs, 90 train → 12 batches
    assert lora.planned_steps(10, config) == 2 * 2  # too few to hold any out
    assert lora.planned_steps(100, lora.LoraConfig(batch_size=8, epochs=2, max_steps=5)) == 5


def test_the_data_hash_changes_with_data_and_settings_not_with_the_checkout() -> None:
    config = lora.LoraConfig()
    base = lora.data_hash(pairs(), config, "/a/checkout/var/models/base/smollm2")
    assert base == lora.data_hash(pairs(), config, "/another/place/base/smollm2")
    assert base != lora.data_hash(pairs()[:2], config, "/a/base/smollm2")
    assert base != lora.data_hash(pairs(), lora.LoraConfig(rank=8), "/a/base/smollm2")
    assert base != lora.data_hash(pairs(), config, "/a/base/gemma")


TINY = {"rank": 8, "alpha": 32, "batch_size": 3, "learning_rate": 5e-2, "warmup_steps": 1, "dropout": 0.0}


def test_training_lowers_the_loss_on_what_it_learns(tiny_model_dir: Path, tmp_path: Path) -> None:
    config = lora.LoraConfig.from_dict(TINY | {"epochs": 2})
    data = pairs(repeat=7)  # 21 pairs: 2 held out for validation, 19 trained on in 7 batches
    losses: list[float] = []
    result, _ = lora.train_lora(
        tiny_model_dir, data, tmp_path / "run", config, progress=lambda s, t, loss: losses.append(loss)
    )
    assert result.steps == result.total_steps == 14
    assert len(losses) == 14
    # The tiny model's small random embeddings cap how far its logits can move from uniform
    # (about ln 49152 = 10.8), so the drop is small but steady; without learning it is zero.
    assert sum(losses[-2:]) / 2 < sum(losses[:2]) / 2 - 0.04
    assert result.examples_seen == 2 * 19
    assert result.examples_per_second > 0
    assert result.peak_memory_mb > 0
    assert len(result.validation_losses) == 2  # one per epoch
    assert result.validation_losses[1] < result.validation_losses[0]


def test_too_few_pairs_are_all_trained_on(tiny_model_dir: Path, tmp_path: Path) -> None:
    result, _ = lora.train_lora(tiny_model_dir, pairs(), tmp_path, lora.LoraConfig.from_dict(TINY))
    assert result.examples_seen == 2 * 3
    assert result.validation_losses == []  # nothing held out, so no early stopping either


def test_a_stopped_run_resumes_to_the_same_weights(tiny_model_dir: Path, tmp_path: Path) -> None:
    import torch

    config = lora.LoraConfig.from_dict(TINY | {"epochs": 2, "dropout": 0.1})
    data = pairs(repeat=2)  # 6 pairs: 2 batches an epoch, 4 steps
    straight, straight_model = lora.train_lora(tiny_model_dir, data, tmp_path / "straight", config)

    stopped, _ = lora.train_lora(tiny_model_dir, data, tmp_path / "resumed", config, should_stop=lambda: True)
    assert stopped.stopped and stopped.steps == 1
    assert (tmp_path / "resumed" / lora.CHECKPOINT_NAME).exists()
    resumed, resumed_model = lora.train_lora(tiny_model_dir, data, tmp_path / "resumed", config)
    assert not resumed.stopped
    assert resumed.steps == straight.steps == 4
    assert resumed.examples_seen == straight.examples_seen
    expected = {k: v for k, v in straight_model.state_dict().items() if "lora_" in k}
    actual = {k: v for k, v in resumed_model.state_dict().items() if "lora_" in k}
    assert expected.keys() == actual.keys()
    for key in expected:
        torch.testing.assert_close(actual[key], expected[key])


def test_a_checkpoint_of_other_settings_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    config = lora.LoraConfig.from_dict(TINY | {"epochs": 1})
    lora.train_lora(tiny_model_dir, pairs(), tmp_path, config, should_stop=lambda: True)
    with pytest.raises(ValueError, match="other settings or data"):
        lora.train_lora(tiny_model_dir, pairs(), tmp_path, lora.LoraConfig.from_dict(TINY | {"rank": 2}))


def test_an_adapter_is_saved_whole_and_loads_merged(tiny_model_dir: Path, tmp_path: Path) -> None:
    import torch

    from generation.ml.generator import load_language_model

    config = lora.LoraConfig.from_dict(TINY | {"epochs": 3})
    _, model = lora.train_lora(tiny_model_dir, pairs(), tmp_path / "run", config)
    target = tmp_path / "adapters" / "shared-abc"
    lora.save_adapter(model, target, {"language": "en", "examples": 3})
    manifest = lora.read_adapter_manifest(target)
    assert manifest == {"format_version": lora.ADAPTER_FORMAT_VERSION, "language": "en", "examples": 3}
    assert (target / "adapter_model.safetensors").exists()
    assert [p.name for p in target.parent.iterdir()] == ["shared-abc"]  # no scratch folder left

    base = load_language_model(str(tiny_model_dir), "tiny")
    tuned = load_language_model(str(tiny_model_dir), "tiny", str(target))
    assert tuned is not base
    changed = [
        name
        for name, weight in tuned.model.state_dict().items()
        if not torch.equal(weight, base.model.state_dict()[name])
    ]
    assert any("q_proj" in name for name in changed)  # LoRA deltas merged into the weights
    assert not any("lora_" in name for name in tuned.model.state_dict())


def test_an_incomplete_or_old_adapter_folder_is_not_used(tmp_path: Path) -> None:
    assert lora.read_adapter_manifest(tmp_path / "missing") is None
    (tmp_path / lora.ADAPTER_MANIFEST).write_text(json.dumps({"format_version": 0}))
    assert lora.read_adapter_manifest(tmp_path) is None
    (tmp_path / lora.ADAPTER_MANIFEST).write_text("{not json")
    assert lora.read_adapter_manifest(tmp_path) is None
