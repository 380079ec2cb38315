"""Fine-tuning LoRA adapters: runs on the gpu queue (or `manage.py retrain`), then judged and promoted.

A bootstrap run teaches the shared base model of a language to write like the corpus's training
split. The adapter lands in the model store under its data hash, so the same corpus, settings and
base never train twice. Then it writes the held-out products, and it is promoted only when
`metrics.promotion_decision` says it beats the model that writes the language now.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from catalog import jobs
from catalog.models import JobStatus
from generation.evaluation import evaluate_version, evaluation_key, evaluation_products
from generation.language_models import base_version, current_version
from generation.ml.corpus import shipped_split
from generation.ml.evaluation import EvaluationOptions, evaluation_items
from generation.ml.metrics import Metrics, promotion_decision
from generation.ml.prompts import LANGUAGES
from generation.models import ModelVersion, TrainingRun

PROGRESS_EVERY = 2  # steps between progress writes and cancel checks


def adapter_store_dir() -> Path:
    return Path(settings.COPILOT_MODEL_STORE) / "adapters"


def training_work_dir(run: TrainingRun) -> Path:
    """Checkpoints of one run; a re-run of the same row resumes from here."""
    return adapter_store_dir() / "runs" / str(run.pk)


def bootstrap_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    config = {
        "epochs": settings.COPILOT_BOOTSTRAP_EPOCHS,
        "batch_size": settings.COPILOT_BOOTSTRAP_BATCH_SIZE,
    }
    if settings.COPILOT_BOOTSTRAP_MAX_STEPS:
        config["max_steps"] = settings.COPILOT_BOOTSTRAP_MAX_STEPS
    return config | (overrides or {})


def bootstrap_training_start(
    language: str, *, config: dict[str, Any] | None = None, enqueue: bool = True
) -> TrainingRun:
    """Queue the shared adapter's training on the corpus for a language (gpu queue)."""
    from generation.ml.lora import LoraConfig

    if language not in LANGUAGES:
        raise ValidationError({"language": f"Unknown language '{language}'."})
    config = bootstrap_config(config)
    try:
        LoraConfig.from_dict(config)
    except (TypeError, ValueError) as error:
        raise ValidationError({"config": str(error)}) from None
    with transaction.atomic():
        run = TrainingRun.objects.create(language=language, kind=TrainingRun.Kind.BOOTSTRAP, config=config)
        if enqueue:
            transaction.on_commit(lambda: _enqueue_training(run))
    return run


def _enqueue_training(run: TrainingRun) -> None:
    from generation.tasks import training_run

    jobs.job_enqueue(run, training_run)


def bootstrap_training_queue() -> TrainingRun | None:
    """Queue the bootstrap run of the first language without a shared adapter, if none is training.

    One run at a time, so a worker slot stays free for other gpu-queue work; each finished
    bootstrap run queues the next language.
    """
    if TrainingRun.objects.filter(
        merchant__isnull=True, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    ).exists():
        return None
    trained = set(
        ModelVersion.objects.filter(kind=ModelVersion.Kind.ADAPTER, merchant__isnull=True).values_list(
            "language", flat=True
        )
    )
    missing = [language for language in LANGUAGES if language not in trained]
    return bootstrap_training_start(missing[0]) if missing else None


def training_in_progress() -> TrainingRun | None:
    """The shared adapters' unfinished run (for a notice while the day-one adapter trains)."""
    return (
        TrainingRun.objects.filter(merchant__isnull=True, status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
        .order_by("created_at")
        .first()
    )


def training_run_execute(
    *, job_id: int, report: Callable[[str, int, int], None] | None = None, queue_next: bool = True
) -> TrainingRun | None:
    """Train (or reuse the stored adapter), evaluate against the current model, promote or reject.

    A finished bootstrap run queues the next language's (unless queue_next is False).
    """
    run = TrainingRun.objects.filter(pk=job_id).first()
    if run is None:
        return None
    if run.is_finished or not jobs.job_start(run):
        return run
    from generation.ml import lora

    config = lora.LoraConfig.from_dict(run.config)
    base = base_version(run.language)
    train, _ = shipped_split()
    pairs = [
        lora.training_pair(p.facts, name, run.language, text)
        for p in train
        if p.language == run.language
        for name, text in p.references
    ]
    digest = lora.data_hash(pairs, config, base.base_model)
    target = adapter_store_dir() / run.language / f"shared-{digest[:16]}"
    products = evaluation_products(run.language, limit=settings.COPILOT_PROMOTION_EVAL_PRODUCTS)
    options = EvaluationOptions(language=run.language)  # greedy, every field, generic channel
    drafts = evaluation_items(products, options)
    steps = lora.planned_steps(len(pairs), config)
    TrainingRun.objects.filter(pk=run.pk).update(
        data_hash=digest, examples=len(pairs), total=steps + 2 * drafts, done=0
    )
    run.refresh_from_db()
    trained = _train_or_reuse(run, base, pairs, config, target, report=report)
    if trained is None:  # stopped: the checkpoint holds the progress
        run.refresh_from_db()
        return run
    training, log = trained
    TrainingRun.objects.filter(pk=run.pk).update(done=steps, log="\n".join(log))
    candidate = ModelVersion.objects.create(
        kind=ModelVersion.Kind.ADAPTER,
        language=run.language,
        name=f"bootstrap-{run.language}-{digest[:8]}",
        base_model=base.base_model,
        adapter_path=str(target),
        metrics={"training": training},
    )
    TrainingRun.objects.filter(pk=run.pk).update(version=candidate)
    run = _judge(run, candidate, products, options, done=steps, log=log, report=report)
    if queue_next and run.kind == TrainingRun.Kind.BOOTSTRAP:
        bootstrap_training_queue()
    return run


def _train_or_reuse(
    run: TrainingRun,
    base: ModelVersion,
    pairs: list,
    config: Any,
    target: Path,
    *,
    report: Callable[[str, int, int], None] | None,
) -> tuple[dict[str, Any], list[str]] | None:
    """The adapter at target, trained now unless a complete one is there; None if stopped."""
    from generation.ml import lora

    manifest = lora.read_adapter_manifest(target)
    if manifest is not None:
        return manifest["training"], [
            f"Reused the stored adapter {target.name} (same corpus, settings and base model)."
        ]
    stopped = {"value": False}

    def progress(step: int, total: int, loss: float) -> None:
        if report is not None:
            report("train", step, total)
        if step % PROGRESS_EVERY == 0 or step == total:
            TrainingRun.objects.filter(pk=run.pk).update(done=step)
            stopped["value"] = jobs.job_stopped(run)

    result, model = lora.train_lora(
        Path(base.base_model),
        pairs,
        training_work_dir(run),
        config,
        progress=progress,
        should_stop=lambda: stopped["value"],
    )
    if result.stopped:
        return None
    training = result.to_dict()
    lora.save_adapter(
        model,
        target,
        {
            "language": run.language,
            "base_model": base.base_model,
            "data_hash": run.data_hash,
            "examples": len(pairs),
            "config": config.to_dict(),
            "training": training,
        },
    )
    return training, [
        f"{result.steps} steps on {len(pairs)} examples in {result.seconds:.0f} s "
        f"({result.examples_per_second:.2f} examples/s), loss {result.train_loss:.3f}, "
        f"validation loss {', '.join(f'{v:.3f}' for v in result.validation_losses)}"
    ]


def _judge(
    run: TrainingRun,
    candidate: ModelVersion,
    products: list,
    options: EvaluationOptions,
    *,
    done: int,
    log: list[str],
    report: Callable[[str, int, int], None] | None = None,
) -> TrainingRun:
    """Evaluate the candidate and the current model on the same products, then promote or reject."""
    current = current_version(run.language)
    key = evaluation_key(products, options)
    progress_base = {"done": done}

    def progress(count: int, total: int) -> None:
        if report is not None:
            report("evaluate", count, total)
        TrainingRun.objects.filter(pk=run.pk).update(done=progress_base["done"] + count)

    candidate_result = evaluate_version(candidate, products, options, progress=progress)
    progress_base["done"] += candidate_result.metrics.drafts
    current_metrics = _stored_evaluation(current, key)
    if current_metrics is None:
        current_result = evaluate_version(current, products, options, progress=progress)
        current_metrics = current_result.metrics
        _store_evaluation(current, key, current_result.to_dict())
    promote, reason = promotion_decision(candidate_result.metrics, current_metrics)
    evaluation = {"key": key, "products": len(products), **candidate_result.to_dict()}
    with transaction.atomic():
        candidate.metrics = {
            **candidate.metrics,
            "evaluation": {key: candidate_result.to_dict()},
            "compared_with": {
                "version": current.pk,
                "name": current.name,
                "metrics": current_metrics.to_dict(),
            },
        }
        candidate.decision = ("Promoted: " if promote else "Rejected: ") + reason
        if promote:
            ModelVersion.objects.filter(
                kind=ModelVersion.Kind.ADAPTER, merchant=candidate.merchant, language=candidate.language
            ).update(is_promoted=False)
            candidate.is_promoted = True
        candidate.save(update_fields=["metrics", "decision", "is_promoted"])
        log.append(candidate.decision)
        TrainingRun.objects.filter(pk=run.pk).update(log="\n".join(log))
    _write_metrics_file(Path(candidate.adapter_path), evaluation | {"decision": candidate.decision})
    return jobs.job_finish(run, JobStatus.SUCCEEDED, done=F("total"))


def _stored_evaluation(version: ModelVersion, key: str) -> Metrics | None:
    stored = version.metrics.get("evaluation", {}).get(key)
    return Metrics(**stored["metrics"]) if stored else None


def _store_evaluation(version: ModelVersion, key: str, result: dict) -> None:
    version.refresh_from_db()
    version.metrics = {
        **version.metrics,
        "evaluation": {**version.metrics.get("evaluation", {}), key: result},
    }
    version.save(update_fields=["metrics"])


def _write_metrics_file(adapter_dir: Path, data: dict) -> None:
    """metrics.json beside the adapter's weights, replaced whole."""
    partial = adapter_dir / "metrics.json.tmp"
    partial.write_text(json.dumps(data, indent=2, ensure_ascii=False))
    os.replace(partial, adapter_dir / "metrics.json")


def training_run_fail(*, job_id: int, message: str) -> None:
    run = TrainingRun.objects.filter(pk=job_id).first()
    if run:
        jobs.job_finish(run, JobStatus.FAILED, message=message)


def training_run_cancel(run: TrainingRun) -> TrainingRun:
    return jobs.job_cancel(run, message="Cancelled; the last checkpoint is kept, so a new run resumes.")
