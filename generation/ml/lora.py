"""LoRA fine-tuning of a base language model on (prompt, reference copy) pairs.

The model learns to write the copy after exactly the prompt generation uses (`build_prompt`), so
an adapter needs no prompt of its own. Loss is on the copy's tokens only, and the vocabulary
projection runs only at those positions: Gemma's 262k-token vocabulary would otherwise need
gigabytes of logits per batch.

Seeded; a checkpoint after every epoch (and when stopped) lets a run resume exactly; validation loss
after every epoch stops training early once it rises. The adapter is written to a temporary folder
with a manifest and renamed into place, so a half-written adapter is never loaded.

torch, transformers and peft are imported inside functions: this module is safe to import anywhere.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from generation.ml.corpus import CorpusProduct
from generation.ml.prompts import FIELD_SPECS, LENGTHS, ProductFacts, Prompt, PromptOptions, build_prompt
from generation.ml.scoring import text_length

logger = logging.getLogger(__name__)

# Bump when the adapter folder's layout or the training prompt changes.
ADAPTER_FORMAT_VERSION = 1
ADAPTER_MANIFEST = "copilot-adapter.json"
CHECKPOINT_NAME = "checkpoint.pt"


@dataclass(frozen=True)
class LoraConfig:
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    learning_rate: float = 5e-4
    epochs: int = 2
    max_steps: int = 0  # 0: as many as the epochs take
    batch_size: int = 8
    max_length: int = 512  # tokens of prompt + copy; longer pairs lose the prompt's start
    warmup_steps: int = 10
    validation_share: float = 0.1  # of the training pairs, to watch for overfitting
    seed: int = 0
    target_modules: tuple[str, ...] = (
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoraConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"Unknown training options: {', '.join(sorted(unknown))}")
        values = dict(data)
        if "target_modules" in values:
            values["target_modules"] = tuple(values["target_modules"])
        config = cls(**values)
        for name in ("rank", "alpha", "epochs", "batch_size", "max_length"):
            if getattr(config, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if not 0 < config.learning_rate < 1:
            raise ValueError("learning_rate must be between 0 and 1")
        if not 0 <= config.validation_share < 0.5:
            raise ValueError("validation_share must be between 0 and 0.5")
        return config

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"target_modules": list(self.target_modules)}


@dataclass(frozen=True)
class TrainingPair:
    """One lesson: the prompt generation would send, and the copy that should follow it."""

    prompt: Prompt
    target: str


def length_for(field_name: str, language: str, text: str) -> str:
    """The length option whose target range fits the text best (medium when several do)."""
    size = text_length(text)
    targets = FIELD_SPECS[field_name].target

    def distance(length: str) -> float:
        low, high = targets[length]
        return 0.0 if low <= size <= high else min(abs(size - low), abs(size - high)) / high

    return min(("medium", *[x for x in LENGTHS if x != "medium"]), key=distance)


def training_pair(facts: ProductFacts, field_name: str, language: str, target: str) -> TrainingPair:
    """The zero-shot generic-channel prompt for the copy, with the length option the copy fits."""
    options = PromptOptions(
        field=field_name, language=language, length=length_for(field_name, language, target)
    )
    return TrainingPair(prompt=build_prompt(facts, options), target=target)


def corpus_pairs(products: Iterable[CorpusProduct], language: str) -> list[TrainingPair]:
    """Every reference copy of the language's products as a training pair."""
    return [
        training_pair(p.facts, name, language, text)
        for p in products
        if p.language == language
        for name, text in p.references
    ]


METHODS = ("lora", "full")


def data_hash(
    pairs: Sequence[TrainingPair], config: LoraConfig, base_model: str, method: str = "lora"
) -> str:
    """Identifies what a run learns from: the same hash means the same adapter (or model)."""
    digest = hashlib.sha256()
    # The base model's folder name, not its path: the same base in another checkout is the same base.
    header = [config.to_dict(), Path(base_model).name, ADAPTER_FORMAT_VERSION]
    if method != "lora":  # LoRA hashes stay what they were before full fine-tuning existed
        header.append(method)
    digest.update(json.dumps(header).encode())
    for pair in pairs:
        digest.update(pair.prompt.completion.encode())
        digest.update(b"\x00")
        digest.update(pair.target.encode())
        digest.update(b"\x01")
    return digest.hexdigest()


@dataclass
class TrainingResult:
    steps: int
    total_steps: int
    seconds: float
    examples_seen: int
    train_loss: float
    validation_losses: list[float] = field(default_factory=list)
    stopped: bool = False  # asked to stop; the checkpoint holds the progress
    early_stopped: bool = False
    peak_memory_mb: float = 0.0

    @property
    def examples_per_second(self) -> float:
        return self.examples_seen / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"examples_per_second": round(self.examples_per_second, 2)}


# --- Encoding --------------------------------------------------------------------------------------


def _render(tokenizer: Any, prompt: Prompt) -> tuple[str, bool]:
    """The prompt exactly as generation renders it, and whether special tokens are already in it."""
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(
            list(prompt.messages), tokenize=False, add_generation_prompt=True
        )
        return text, True
    return prompt.completion, False


def encode_pair(tokenizer: Any, pair: TrainingPair, max_length: int) -> tuple[list[int], list[int]]:
    """Token ids and labels (-100 on the prompt): the model learns only to write the copy."""
    prompt_text, has_specials = _render(tokenizer, pair.prompt)
    prompt_ids = tokenizer(prompt_text, add_special_tokens=not has_specials)["input_ids"]
    separator = "" if has_specials else " "  # base models continue after "Title:"
    target_ids = tokenizer(separator + pair.target, add_special_tokens=False)["input_ids"]
    target_ids = [*target_ids, tokenizer.eos_token_id]
    target_ids = target_ids[: max_length // 2] if len(target_ids) > max_length // 2 else target_ids
    keep = max_length - len(target_ids)
    if len(prompt_ids) > keep:
        prompt_ids = prompt_ids[len(prompt_ids) - keep :]  # the facts and task sit at the end
    return [*prompt_ids, *target_ids], [-100] * len(prompt_ids) + target_ids


def _batches(
    encoded: list[tuple[list[int], list[int]]], order: list[int], batch_size: int
) -> list[list[int]]:
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def _epoch_batches(encoded: list, train: list[int], batch_size: int, seed: int) -> list[list[int]]:
    """Shuffled batches of similar length: padding a title to a description's length wastes a third."""
    rng = random.Random(seed)
    order = list(train)
    rng.shuffle(order)
    window = batch_size * 16
    batches = []
    for start in range(0, len(order), window):
        group = sorted(order[start : start + window], key=lambda i: len(encoded[i][0]))
        batches += _batches(encoded, group, batch_size)
    rng.shuffle(batches)
    return batches


def _collate(encoded: list[tuple[list[int], list[int]]], indices: list[int], pad_id: int) -> dict[str, Any]:
    import torch

    width = max(len(encoded[i][0]) for i in indices)
    ids = torch.full((len(indices), width), pad_id, dtype=torch.long)
    labels = torch.full((len(indices), width), -100, dtype=torch.long)
    mask = torch.zeros((len(indices), width), dtype=torch.long)
    for row, index in enumerate(indices):
        input_ids, target = encoded[index]
        ids[row, : len(input_ids)] = torch.tensor(input_ids)
        labels[row, : len(target)] = torch.tensor(target)
        mask[row, : len(input_ids)] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def copy_loss(model: Any, batch: dict[str, Any]) -> Any:
    """Mean cross-entropy over the copy's tokens, projecting to the vocabulary only there."""
    import torch

    causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = causal_lm.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])[0]
    # Position t predicts token t+1.
    labels = batch["labels"][:, 1:]
    hidden = hidden[:, :-1]
    keep = labels != -100
    logits = causal_lm.lm_head(hidden[keep]).float()
    softcap = getattr(causal_lm.config, "final_logit_softcapping", None)
    if softcap:
        logits = torch.tanh(logits / softcap) * softcap
    return torch.nn.functional.cross_entropy(logits, labels[keep])


def _validation_count(pairs: int, config: LoraConfig) -> int:
    return int(pairs * config.validation_share) if pairs >= 20 else 0


def planned_steps(pairs: int, config: LoraConfig) -> int:
    """Optimisation steps a run over this many pairs will take."""
    steps = config.epochs * math.ceil((pairs - _validation_count(pairs, config)) / config.batch_size)
    return min(steps, config.max_steps) if config.max_steps else steps


# --- Training --------------------------------------------------------------------------------------


def _peak_memory_mb(device: str) -> float:
    import resource

    import torch

    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _validation_loss(
    model: Any, encoded: list, indices: list[int], batch_size: int, pad_id: int, device: str
) -> float:
    import torch

    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for chunk in _batches(encoded, indices, batch_size):
            batch = {k: v.to(device) for k, v in _collate(encoded, chunk, pad_id).items()}
            total += copy_loss(model, batch).item() * len(chunk)
            count += len(chunk)
    model.train()
    return total / count


def train_lora(
    base_dir: Path,
    pairs: Sequence[TrainingPair],
    work_dir: Path,
    config: LoraConfig,
    *,
    progress: Callable[[int, int, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    checkpoint_every: int = 20,
    method: str = "lora",
) -> tuple[TrainingResult, Any]:
    """Train an adapter (or, with method="full", every weight of the model); returns the result
    and the model (unsaved). Resumes from work_dir.

    progress(step, total_steps, loss) is called after every step; should_stop() is asked after
    every step, and a True answer saves a checkpoint and returns with result.stopped set.
    A checkpoint is also written every `checkpoint_every` steps and at the end of every epoch.
    """
    if method not in METHODS:
        raise ValueError(f"Unknown training method {method!r}; choose one of {', '.join(METHODS)}")
    from generation.ml.generator import configure_torch_threads, device_and_dtype

    configure_torch_threads()
    import torch
    from peft import LoraConfig as PeftLoraConfig
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not pairs:
        raise ValueError("No training examples")
    device, dtype = device_and_dtype()
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=dtype).to(device)
    if method == "lora":
        model = get_peft_model(
            model,
            PeftLoraConfig(
                r=config.rank,
                lora_alpha=config.alpha,
                lora_dropout=config.dropout,
                target_modules=list(config.target_modules),
                task_type="CAUSAL_LM",
            ),
        )
    else:
        model.requires_grad_(True)

    def trained_state() -> dict[str, Any]:
        """The weights this method changes: the adapter's, or all of them."""
        return {k: v for k, v in model.state_dict().items() if method == "full" or "lora_" in k}

    encoded = [encode_pair(tokenizer, pair, config.max_length) for pair in pairs]
    order = list(range(len(encoded)))
    random.Random(config.seed).shuffle(order)
    validation_count = _validation_count(len(order), config)
    validation, train = order[:validation_count], order[validation_count:]
    steps_per_epoch = math.ceil(len(train) / config.batch_size)
    total_steps = planned_steps(len(encoded), config)

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=0.0)

    def schedule(step: int) -> float:  # linear warm-up, then cosine decay to 10%
        if step < config.warmup_steps:
            return (step + 1) / config.warmup_steps
        done = (step - config.warmup_steps) / max(1, total_steps - config.warmup_steps)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, done)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    result = TrainingResult(
        steps=0, total_steps=total_steps, seconds=0.0, examples_seen=0, train_loss=float("nan")
    )
    checkpoint_path = work_dir / CHECKPOINT_NAME
    if checkpoint_path.exists():
        state = torch.load(checkpoint_path, map_location=device, weights_only=False)
        if (
            state["config"] != config.to_dict()
            or state["examples"] != len(encoded)
            or state.get("method", "lora") != method
        ):
            raise ValueError(
                "The checkpoint belongs to a run with other settings or data; delete it to start over"
            )
        model.load_state_dict(state["adapter"], strict=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        result = TrainingResult(**state["result"])
        result.stopped = False
        torch.set_rng_state(state["torch_rng"])
        logger.info("Resuming LoRA training at step %d of %d", result.steps, total_steps)

    def save_checkpoint() -> None:
        work_dir.mkdir(parents=True, exist_ok=True)
        partial = checkpoint_path.with_suffix(".tmp")
        torch.save(
            {
                "config": config.to_dict(),
                "method": method,
                "examples": len(encoded),
                "adapter": trained_state(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "result": asdict(result),
                "torch_rng": torch.get_rng_state(),
            },
            partial,
        )
        os.replace(partial, checkpoint_path)

    model.train()
    best_state = {k: v.detach().clone() for k, v in trained_state().items()}
    started = time.monotonic() - result.seconds
    running_loss = result.train_loss if not math.isnan(result.train_loss) else None
    while result.steps < total_steps and not result.early_stopped:
        epoch, offset = divmod(result.steps, steps_per_epoch)
        for chunk in _epoch_batches(encoded, train, config.batch_size, config.seed + epoch)[offset:]:
            batch = {k: v.to(device) for k, v in _collate(encoded, chunk, pad_id).items()}
            loss = copy_loss(model, batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            value = loss.item()
            running_loss = value if running_loss is None else 0.9 * running_loss + 0.1 * value
            result.steps += 1
            result.examples_seen += len(chunk)
            result.train_loss = running_loss
            result.seconds = time.monotonic() - started
            if progress is not None:
                progress(result.steps, total_steps, value)
            if result.steps >= total_steps:
                break
            if should_stop is not None and should_stop():
                result.stopped = True
                save_checkpoint()
                return result, model
            if checkpoint_every and result.steps % checkpoint_every == 0:
                save_checkpoint()  # a crashed worker loses at most this many steps
        epoch_ended = result.steps % steps_per_epoch == 0 or result.steps >= total_steps
        if epoch_ended and not validation:
            save_checkpoint()
        elif epoch_ended:
            result.validation_losses.append(
                _validation_loss(model, encoded, validation, config.batch_size, pad_id, device)
            )
            losses = result.validation_losses
            if len(losses) >= 2 and losses[-1] > losses[-2]:
                # The previous epoch generalised better: go back to its weights and stop.
                result.early_stopped = True
                model.load_state_dict(best_state, strict=False)
            else:
                best_state = {k: v.detach().clone() for k, v in trained_state().items()}
            save_checkpoint()
    result.seconds = time.monotonic() - started
    result.peak_memory_mb = _peak_memory_mb(device)
    return result, model


def save_adapter(
    model: Any, target: Path, manifest: dict[str, Any], *, tokenizer_from: Path | None = None
) -> Path:
    """Write the adapter (or a fully fine-tuned model, with its tokenizer copied from
    `tokenizer_from`) and its manifest to a temporary folder, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        model.save_pretrained(scratch)
        if tokenizer_from is not None:
            from transformers import AutoTokenizer

            AutoTokenizer.from_pretrained(tokenizer_from).save_pretrained(scratch)
        (scratch / ADAPTER_MANIFEST).write_text(
            json.dumps({"format_version": ADAPTER_FORMAT_VERSION, **manifest}, indent=2, ensure_ascii=False)
        )
        if target.exists():
            shutil.rmtree(target)
        os.replace(scratch, target)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return target


def read_adapter_manifest(adapter_dir: Path) -> dict[str, Any] | None:
    """The manifest of a complete adapter of the current format, or None."""
    try:
        manifest = json.loads((Path(adapter_dir) / ADAPTER_MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest if manifest.get("format_version") == ADAPTER_FORMAT_VERSION else None
