"""Fine-tuning: runs on the gpu queue (or `manage.py retrain`), then judged and promoted.

* A bootstrap run teaches the shared base model of a language to write like the corpus's training
  split (the day-one adapter).
* A merchant run teaches the merchant's own adapter its accepted copy; a global run teaches the
  shared adapter the accepted copy of every merchant who opted in. Both go through the dataset
  builder (filters, dedupe, a stable held-out split, general data mixed in) and are skipped when
  their data hash has not changed since the last run.
* LoRA by default; `method="full"` fine-tunes every weight (a whole model in the store).

The result lands in the model store under its data hash, so the same data, settings and base never
train twice. Then the candidate and the current model write the same held-out products, and the
candidate is promoted only when `metrics.promotion_decision` says it is better.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from catalog import jobs
from catalog.models import JobStatus, Merchant
from generation import datasets
from generation.evaluation import evaluate_version, evaluation_key, evaluation_products
from generation.language_models import base_version, current_version
from generation.ml.corpus import CorpusProduct, shipped_split
from generation.ml.evaluation import EvaluationOptions, evaluation_items
from generation.ml.metrics import Metrics, promotion_decision
from generation.ml.prompts import LANGUAGES
from generation.models import ModelVersion, TrainingRun
from generation.promotion import model_version_promote

PROGRESS_EVERY = 2  # steps between progress writes and cancel checks
FULL_FINETUNE_LEARNING_RATE = 5e-5  # every weight moves: ten times gentler than LoRA's default


def adapter_store_dir() -> Path:
    return Path(settings.COPILOT_MODEL_STORE) / "adapters"


def training_work_dir(run: TrainingRun) -> Path:
    """Checkpoints of what a run trains, named like its model: a re-run of the same row, or a new
    run on the same data and settings after a cancel, resumes from here."""
    return adapter_store_dir() / "runs" / _model_folder(run)


def _model_folder(run: TrainingRun) -> str:
    if run.kind == TrainingRun.Kind.BOOTSTRAP:
        return f"shared-{run.data_hash[:16]}"  # the day-one adapters' names, kept so they are reused
    full = "full-" if run.method == TrainingRun.Method.FULL else ""
    return f"{_owner_name(run)}-{full}{run.data_hash[:16]}"


def bootstrap_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    config = {
        "epochs": settings.COPILOT_BOOTSTRAP_EPOCHS,
        "batch_size": settings.COPILOT_BOOTSTRAP_BATCH_SIZE,
    }
    if settings.COPILOT_BOOTSTRAP_MAX_STEPS:
        config["max_steps"] = settings.COPILOT_BOOTSTRAP_MAX_STEPS
    return config | (overrides or {})


def retrain_config(method: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Settings of a merchant or global run: the retrain defaults, then the caller's overrides."""
    config: dict[str, Any] = {
        "epochs": settings.COPILOT_RETRAIN_EPOCHS,
        "batch_size": settings.COPILOT_RETRAIN_BATCH_SIZE,
    }
    if method == TrainingRun.Method.FULL:
        config["learning_rate"] = FULL_FINETUNE_LEARNING_RATE
    return config | (overrides or {})


def _checked_config(config: dict[str, Any]) -> None:
    from generation.ml.lora import LoraConfig

    try:
        LoraConfig.from_dict(config)
    except (TypeError, ValueError) as error:
        raise ValidationError({"config": str(error)}) from None


def bootstrap_training_start(
    language: str, *, config: dict[str, Any] | None = None, enqueue: bool = True
) -> TrainingRun:
    """Queue the shared adapter's training on the corpus for a language (gpu queue)."""
    if language not in LANGUAGES:
        raise ValidationError({"language": f"Unknown language '{language}'."})
    config = bootstrap_config(config)
    _checked_config(config)
    with transaction.atomic():
        run = TrainingRun.objects.create(language=language, kind=TrainingRun.Kind.BOOTSTRAP, config=config)
        if enqueue:
            transaction.on_commit(training_queue_next)
    return run


def retrain_start(
    *,
    language: str,
    merchant: Merchant | None = None,
    method: str = TrainingRun.Method.LORA,
    config: dict[str, Any] | None = None,
    enqueue: bool = True,
) -> TrainingRun:
    """Queue a merchant's adapter (merchant given) or the shared one from opted-in merchants."""
    if language not in LANGUAGES:
        raise ValidationError({"language": f"Unknown language '{language}'."})
    if method not in TrainingRun.Method.values:
        raise ValidationError({"method": f"Unknown method '{method}'; choose lora or full."})
    config = retrain_config(method, config)
    _checked_config(config)
    kind = TrainingRun.Kind.MERCHANT if merchant is not None else TrainingRun.Kind.GLOBAL
    with transaction.atomic():
        run = TrainingRun.objects.create(
            merchant=merchant, language=language, kind=kind, method=method, config=config
        )
        if enqueue:
            transaction.on_commit(training_queue_next)
    return run


def training_queue_next() -> TrainingRun | None:
    """Send the oldest waiting run to the gpu queue, unless one is already training or sent.

    One training at a time: each needs most of a small machine's memory, and a worker slot stays
    free for other gpu-queue work. Every run that ends sends the next.
    """
    waiting = TrainingRun.objects.filter(status=JobStatus.QUEUED)
    if (
        TrainingRun.objects.filter(status=JobStatus.RUNNING).exists()
        or waiting.exclude(celery_task_id="").exists()
    ):
        return None
    run = waiting.order_by("created_at", "pk").first()
    if run is not None:
        _enqueue_training(run)
    return run


def _enqueue_training(run: TrainingRun) -> None:
    from generation.tasks import training_run

    jobs.job_enqueue(run, training_run)


def bootstrap_training_queue() -> TrainingRun | None:
    """Queue the bootstrap run of the first language without a shared adapter, if none is waiting.

    Each finished bootstrap run queues the next language.
    """
    if TrainingRun.objects.filter(
        merchant__isnull=True,
        kind=TrainingRun.Kind.BOOTSTRAP,
        status__in=[JobStatus.QUEUED, JobStatus.RUNNING],
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


# --- What a run learns from, and whether it needs to run ------------------------------------------


@dataclass
class Material:
    """A run's training pairs, the products it is judged on, and how the dataset was built."""

    pairs: list
    products: list[CorpusProduct]
    dataset: dict[str, Any]


def training_material(*, kind: str, language: str, merchant: Merchant | None) -> Material:
    from generation.ml import lora

    if kind == TrainingRun.Kind.BOOTSTRAP:
        train, _ = shipped_split()
        pairs = lora.corpus_pairs(train, language)
        products = evaluation_products(language, limit=settings.COPILOT_PROMOTION_EVAL_PRODUCTS)
        return Material(pairs, products, {"train": len(pairs), "general": 0, "held_out": len(products)})
    dataset = datasets.build(merchant=merchant, language=language)
    pairs = [
        lora.training_pair(e.facts, e.field, e.language, e.text) for e in dataset.train + dataset.general
    ]
    products = datasets.held_out_products(dataset, language)
    if settings.COPILOT_RETRAIN_GENERAL_EVAL_PRODUCTS:
        # A few corpus products too: a merchant's adapter must not forget how to write the rest.
        products += evaluation_products(language, limit=settings.COPILOT_RETRAIN_GENERAL_EVAL_PRODUCTS)
    return Material(pairs, products, dataset.summary())


@dataclass
class PlannedRun:
    """What `retrain` would do for one merchant (or the shared model) and language, and why."""

    merchant: Merchant | None
    language: str
    method: str
    examples: int  # accepted examples kept for training (before general data is mixed in)
    data_hash: str
    dataset: dict[str, Any]
    action: str  # "train" or "skip"
    reason: str

    @property
    def owner(self) -> str:
        return self.merchant.slug if self.merchant is not None else "shared (opted-in merchants)"


def plan_run(*, merchant: Merchant | None, language: str, method: str, config: dict[str, Any]) -> PlannedRun:
    """Decide whether a merchant's (or the shared) model needs training, without training it."""
    from generation.ml import lora

    kind = TrainingRun.Kind.MERCHANT if merchant is not None else TrainingRun.Kind.GLOBAL
    material = training_material(kind=kind, language=language, merchant=merchant)
    kept = material.dataset.get("train", 0) + material.dataset.get("held_out", 0)
    digest = lora.data_hash(
        material.pairs, lora.LoraConfig.from_dict(config), base_version(language).base_model, method
    )

    def planned(action: str, reason: str) -> PlannedRun:
        return PlannedRun(merchant, language, method, kept, digest, material.dataset, action, reason)

    if kept < settings.COPILOT_RETRAIN_MIN_EXAMPLES:
        return planned(
            "skip", f"{kept} usable examples; at least {settings.COPILOT_RETRAIN_MIN_EXAMPLES} needed"
        )
    last = _last_finished_run(merchant, language, kind, method)
    if last is not None and last.data_hash == digest:
        return planned("skip", f"training data unchanged since run {last.pk}")
    return planned("train", "first run" if last is None else f"new or changed examples since run {last.pk}")


def _last_finished_run(
    merchant: Merchant | None, language: str, kind: str, method: str
) -> TrainingRun | None:
    runs = TrainingRun.objects.filter(language=language, kind=kind, method=method, status=JobStatus.SUCCEEDED)
    runs = runs.filter(merchant=merchant) if merchant is not None else runs.filter(merchant__isnull=True)
    return runs.exclude(data_hash="").order_by("-finished_at", "-pk").first()


def retrain_plan(
    *,
    merchants: list[Merchant] | None = None,
    shared: bool = False,
    languages: tuple[str, ...] = LANGUAGES,
    method: str = TrainingRun.Method.LORA,
    config: dict[str, Any] | None = None,
) -> list[PlannedRun]:
    """Plan runs for the merchants given (default: every merchant with accepted copy), or with
    shared=True for the shared model from the merchants who opted in."""
    config = retrain_config(method, config)
    _checked_config(config)
    if shared:
        owners: list[Merchant | None] = [None]
    elif merchants is not None:
        owners = list(merchants)
    else:
        owners = list(Merchant.objects.filter(training_examples__isnull=False).distinct().order_by("slug"))
    plans = []
    for owner in owners:
        for language in languages:
            plans.append(plan_run(merchant=owner, language=language, method=method, config=config))
    return plans


def retrain_due() -> list[TrainingRun]:
    """The schedule's job: queue a run for every merchant (and the shared model) whose data changed."""
    plans = retrain_plan() + (retrain_plan(shared=True) if datasets.sharing_merchant_ids() else [])
    return [
        retrain_start(language=plan.language, merchant=plan.merchant, method=plan.method)
        for plan in plans
        if plan.action == "train"
    ]


# --- Running a run --------------------------------------------------------------------------------


def _owner_name(run: TrainingRun) -> str:
    return run.merchant.slug if run.merchant_id else "shared"


def training_run_execute(
    *, job_id: int, report: Callable[[str, int, int], None] | None = None, queue_next: bool = True
) -> TrainingRun | None:
    """Train (or reuse the stored model), evaluate against the current model, promote or reject.

    A merchant or global run whose data hash matches its last finished run is skipped. When a run
    ends, the next waiting run is sent (and a bootstrap run queues the next language), unless
    queue_next is False.
    """
    run = TrainingRun.objects.select_related("merchant").filter(pk=job_id).first()
    if run is None:
        return None
    if run.is_finished or not jobs.job_start(run):
        return run
    try:
        return _execute(run, report=report)
    finally:
        if queue_next:
            if run.kind == TrainingRun.Kind.BOOTSTRAP:
                bootstrap_training_queue()
            training_queue_next()


def _execute(run: TrainingRun, *, report: Callable[[str, int, int], None] | None) -> TrainingRun:
    from generation.ml import lora

    config = lora.LoraConfig.from_dict(run.config)
    base = base_version(run.language)
    material = training_material(kind=run.kind, language=run.language, merchant=run.merchant)
    pairs = material.pairs
    digest = lora.data_hash(pairs, config, base.base_model, run.method)
    TrainingRun.objects.filter(pk=run.pk).update(
        data_hash=digest, examples=len(pairs), dataset=material.dataset
    )
    if run.kind != TrainingRun.Kind.BOOTSTRAP:
        last = _last_finished_run(run.merchant, run.language, run.kind, run.method)
        if last is not None and last.data_hash == digest:
            message = f"Skipped: the training data has not changed since run {last.pk}."
            TrainingRun.objects.filter(pk=run.pk).update(log=message)
            return jobs.job_finish(run, JobStatus.SUCCEEDED, message="")
        if not pairs or not material.products:
            return jobs.job_finish(
                run,
                JobStatus.FAILED,
                message=f"Not enough usable examples to train and judge on ({material.dataset}).",
            )
    run.refresh_from_db()
    target = adapter_store_dir() / run.language / _model_folder(run)
    products = material.products
    options = EvaluationOptions(language=run.language)  # greedy, every field, generic channel
    drafts = evaluation_items(products, options)
    steps = lora.planned_steps(len(pairs), config)
    TrainingRun.objects.filter(pk=run.pk).update(total=steps + 2 * drafts, done=0)
    run.refresh_from_db()
    trained = _train_or_reuse(run, base, pairs, config, target, report=report)
    if trained is None:  # stopped: the checkpoint holds the progress
        run.refresh_from_db()
        return run
    training, log = trained
    TrainingRun.objects.filter(pk=run.pk).update(done=steps, log="\n".join(log))
    full = run.method == TrainingRun.Method.FULL
    candidate = ModelVersion.objects.create(
        merchant=run.merchant,
        kind=ModelVersion.Kind.FULL if full else ModelVersion.Kind.ADAPTER,
        language=run.language,
        name=f"{run.kind}-{_owner_name(run) + '-' if run.merchant_id else ''}{run.language}"
        f"{'-full' if full else ''}-{digest[:8]}",
        base_model=base.base_model,
        adapter_path=str(target),
        metrics={"training": training, "dataset": material.dataset},
    )
    TrainingRun.objects.filter(pk=run.pk).update(version=candidate)
    return _judge(run, candidate, products, options, done=steps, log=log, report=report)


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
            f"Reused the stored model {target.name} (same data, settings and base model)."
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
        method=run.method,
    )
    if result.stopped:
        return None
    training = result.to_dict()
    full = run.method == TrainingRun.Method.FULL
    lora.save_adapter(
        model,
        target,
        {
            "language": run.language,
            "method": run.method,
            "base_model": base.base_model,
            "data_hash": run.data_hash,
            "examples": len(pairs),
            "config": config.to_dict(),
            "training": training,
        },
        tokenizer_from=Path(base.base_model) if full else None,
    )
    shutil.rmtree(training_work_dir(run), ignore_errors=True)  # the model is saved; checkpoints go
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
    current = current_version(run.language, run.merchant)
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
        candidate.save(update_fields=["metrics", "decision"])
        if promote:
            model_version_promote(version=candidate)
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
    training_queue_next()


def training_run_cancel(run: TrainingRun) -> TrainingRun:
    return jobs.job_cancel(run, message="Cancelled; the last checkpoint is kept, so a new run resumes.")
