"""Bootstrap adapters: trained on the corpus, judged on the held-out split, promoted, then used."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from catalog.models import JobStatus, Product
from generation import language_models, services, tasks, training
from generation.ml import lora
from generation.ml.corpus import shipped_split
from generation.models import Draft, ModelVersion, TrainingRun

pytestmark = pytest.mark.django_db

SMALL = {"max_steps": 2, "batch_size": 2, "rank": 2, "alpha": 4}


@pytest.fixture
def store(settings, tmp_path: Path, tiny_model) -> Path:
    """Adapters go to a scratch store; one held-out product is judged."""
    settings.COPILOT_MODEL_STORE = tmp_path / "store"
    settings.COPILOT_PROMOTION_EVAL_PRODUCTS = 1
    return settings.COPILOT_MODEL_STORE


def run_bootstrap(language: str = "en", **config) -> TrainingRun:
    run = training.bootstrap_training_start(language, config=SMALL | config, enqueue=False)
    return training.training_run_execute(job_id=run.pk, queue_next=False)


def test_a_bootstrap_run_trains_judges_and_records_everything(store: Path) -> None:
    run = run_bootstrap()
    assert run.status == JobStatus.SUCCEEDED, run.error_message
    train, heldout = shipped_split()
    english_pairs = sum(len(p.references) for p in train if p.language == "en")
    assert run.examples == english_pairs
    assert len(run.data_hash) == 64
    assert run.done == run.total > 2  # two steps, then the drafts of both evaluations

    version = run.version
    assert version.kind == ModelVersion.Kind.ADAPTER and version.merchant is None
    adapter = Path(version.adapter_path)
    assert adapter.parent == store / "adapters" / "en"
    manifest = lora.read_adapter_manifest(adapter)
    assert manifest["data_hash"] == run.data_hash
    assert manifest["examples"] == english_pairs
    assert manifest["training"]["steps"] == 2

    evaluation = next(iter(version.metrics["evaluation"].values()))
    judged = next(p for p in heldout if p.language == "en")  # COPILOT_PROMOTION_EVAL_PRODUCTS = 1
    assert evaluation["metrics"]["drafts"] == len(judged.references)
    for name in ("bleu", "chrf", "rouge_l", "coverage", "ungrounded_rate", "violation_rate", "distinct_2"):
        assert name in evaluation["metrics"]
    assert version.metrics["compared_with"]["name"] == language_models.base_version("en").name
    assert version.decision.startswith("Promoted: " if version.is_promoted else "Rejected: ")
    assert version.decision in run.log
    written = json.loads((adapter / "metrics.json").read_text())
    assert written["decision"] == version.decision
    assert written["metrics"] == evaluation["metrics"]
    # The base model's score on the same products is kept, so the next candidate is not re-judged on it.
    base = language_models.base_version("en")
    assert list(base.metrics["evaluation"]) == list(version.metrics["evaluation"])


def test_the_same_corpus_and_settings_reuse_the_stored_adapter(store: Path, monkeypatch) -> None:
    first = run_bootstrap()

    def no_training(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr(lora, "train_lora", no_training)
    second = run_bootstrap()
    assert second.status == JobStatus.SUCCEEDED
    assert "Reused the stored model" in second.log
    assert second.version.adapter_path == first.version.adapter_path
    # Other settings are another adapter.
    with pytest.raises(AssertionError, match="trained again"):
        run_bootstrap(rank=3, alpha=6)


def test_a_promoted_adapter_writes_the_next_drafts(store: Path, merchant_account, celery_eager) -> None:
    run = run_bootstrap()
    ModelVersion.objects.filter(pk=run.version.pk).update(is_promoted=True)
    product = Product.objects.create(
        merchant=merchant_account.merchant, sku="P-1", name="Nova X2", language="en"
    )
    product.attributes.create(key="battery", value="4500 mAh")
    job = services.generation_job_create(
        merchant=merchant_account.merchant,
        user=merchant_account.user,
        product_ids=[product.pk],
        fields=["title"],
        language="en",
        enqueue=False,
    )
    services.generation_job_run(job_id=job.pk)
    draft = Draft.objects.get(product=product)
    assert draft.model_version_id == run.version.pk


def test_a_merchants_own_adapter_wins_over_the_shared_one(
    store: Path, merchant_account, other_merchant_account
) -> None:
    base = language_models.base_version("en")
    assert language_models.current_version("en") == base
    shared = ModelVersion.objects.create(
        kind="adapter",
        language="en",
        name="shared",
        base_model=base.base_model,
        adapter_path="/x",
        is_promoted=True,
    )
    own = ModelVersion.objects.create(
        kind="adapter",
        language="en",
        name="own",
        merchant=merchant_account.merchant,
        base_model=base.base_model,
        adapter_path="/y",
        is_promoted=True,
    )
    ModelVersion.objects.create(  # trained on another base model: never used
        kind="adapter",
        language="en",
        name="stale",
        base_model="/elsewhere",
        adapter_path="/z",
        is_promoted=True,
    )
    assert language_models.current_version("en", merchant_account.merchant) == own
    assert language_models.current_version("en", other_merchant_account.merchant) == shared
    assert language_models.current_version("en") == shared
    assert language_models.current_version("zh") == language_models.base_version("zh")


def test_bootstrap_runs_are_queued_one_language_at_a_time(store: Path) -> None:
    first = training.bootstrap_training_queue()
    assert first.language == "en" and first.status == JobStatus.QUEUED
    assert training.bootstrap_training_queue() is None  # one is waiting
    assert training.training_in_progress() == first
    TrainingRun.objects.filter(pk=first.pk).update(status=JobStatus.SUCCEEDED)
    ModelVersion.objects.create(kind="adapter", language="en", name="en", base_model="/b", adapter_path="/a")
    second = training.bootstrap_training_queue()
    assert second.language == "zh"
    TrainingRun.objects.filter(pk=second.pk).update(status=JobStatus.FAILED)
    ModelVersion.objects.create(kind="adapter", language="zh", name="zh", base_model="/b", adapter_path="/a")
    assert training.bootstrap_training_queue() is None  # both languages have one
    assert training.training_in_progress() is None


def test_a_finished_bootstrap_run_queues_the_next_language(store: Path, monkeypatch) -> None:
    queued: list[str] = []
    monkeypatch.setattr(training, "bootstrap_training_queue", lambda: queued.append("next"))
    run = training.bootstrap_training_start("en", config=SMALL, enqueue=False)
    training.training_run_execute(job_id=run.pk)
    assert queued == ["next"]


def test_a_cancelled_run_stops_keeps_its_checkpoint_and_a_rerun_resumes(store: Path) -> None:
    run = training.bootstrap_training_start("en", config=SMALL | {"max_steps": 3}, enqueue=False)

    def cancel_after_first_step(stage: str, done: int, total: int) -> None:
        if done == 1:
            TrainingRun.objects.filter(pk=run.pk).update(status=JobStatus.CANCELLED)

    training.PROGRESS_EVERY, every = 1, training.PROGRESS_EVERY
    try:
        stopped = training.training_run_execute(job_id=run.pk, report=cancel_after_first_step)
    finally:
        training.PROGRESS_EVERY = every
    assert stopped.status == JobStatus.CANCELLED
    assert stopped.version is None
    assert (training.training_work_dir(stopped) / lora.CHECKPOINT_NAME).exists()

    # A worker that crashed hands the same row back: it resumes from the checkpoint.
    TrainingRun.objects.filter(pk=run.pk).update(status=JobStatus.RUNNING)
    steps: list[int] = []
    finished = training.training_run_execute(
        job_id=run.pk, report=lambda stage, done, total: steps.append(done) if stage == "train" else None
    )
    assert finished.status == JobStatus.SUCCEEDED
    assert steps == [2, 3]
    assert finished.attempts == 2


def test_bad_training_options_are_refused_before_anything_is_queued(store: Path) -> None:
    with pytest.raises(ValidationError, match="Unknown training options"):
        training.bootstrap_training_start("en", config={"colour": "red"})
    with pytest.raises(ValidationError, match="rank must be at least 1"):
        training.bootstrap_training_start("en", config={"rank": 0})
    with pytest.raises(ValidationError, match="Unknown language"):
        training.bootstrap_training_start("fr")
    assert not TrainingRun.objects.exists()


def test_an_unavailable_base_model_fails_the_run_readably(store: Path, settings, celery_eager) -> None:
    settings.COPILOT_BASE_MODEL_EN = str(store / "nowhere")
    run = training.bootstrap_training_start("en", config=SMALL, enqueue=False)
    tasks.training_run.delay(run.pk)
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED
    assert run.error_message.startswith("The base model is unavailable: ")
    assert "nowhere" in run.error_message


@pytest.mark.integration
def test_a_worker_trains_the_day_one_adapter_and_queues_the_next_language(
    celery_worker_factory, tiny_model_dir: Path, tmp_path: Path, settings
) -> None:
    settings.COPILOT_BOOTSTRAP_MAX_STEPS = 2  # read when the run is queued
    worker = celery_worker_factory(
        {
            "COPILOT_BASE_MODEL_EN": str(tiny_model_dir),
            "COPILOT_BASE_MODEL_ZH": str(tiny_model_dir),
            "COPILOT_MODEL_STORE": str(tmp_path / "store"),
            "COPILOT_PROMOTION_EVAL_PRODUCTS": "1",
        }
    )
    run = training.bootstrap_training_queue()  # what `serve` does when no adapter exists
    assert run.language == "en"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.is_finished and TrainingRun.objects.filter(language="zh").exists():
            break
        time.sleep(0.5)
    assert run.status == JobStatus.SUCCEEDED, run.error_message or worker.log()[-3000:]
    assert run.config["max_steps"] == 2
    assert run.celery_task_id
    assert Path(run.version.adapter_path).is_relative_to(tmp_path / "store")
    assert TrainingRun.objects.get(language="zh").kind == TrainingRun.Kind.BOOTSTRAP
