"""Thin Celery tasks: take an id, call one service. Generation runs on the `llm` queue."""

from __future__ import annotations

from celery import shared_task

from catalog.jobs import TRANSIENT_ERRORS, run_job_task
from generation import gan_training, image_services, photo_suggestions, services, training
from generation.ml.model_store import ModelStoreError


@shared_task(
    bind=True,
    name="generation.llm.generation_run",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=5,
)
def generation_run(self, job_id: int) -> None:
    run_job_task(
        self,
        job_id,
        run=services.generation_job_run,
        fail=services.generation_job_fail,
        known_errors={ModelStoreError: "The language model is unavailable: "},
        crash_message="Generation stopped on an unexpected error. Drafts written before it are kept; "
        "start the job again for the rest.",
    )


@shared_task(
    bind=True,
    name="generation.gpu.image_job_run",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=5,
)
def image_job_run(self, job_id: int) -> None:
    run_job_task(
        self,
        job_id,
        run=image_services.image_job_run,
        fail=image_services.image_job_fail,
        crash_message="Drawing stopped on an unexpected error. Images drawn before it are in the gallery.",
    )


@shared_task(
    bind=True,
    name="generation.gpu.image_training_run",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=5,
)
def image_training_run(self, run_id: int) -> None:
    run_job_task(
        self,
        run_id,
        run=gan_training.image_training_run,
        fail=gan_training.image_training_fail,
        crash_message="Training stopped on an unexpected error; run it again to resume from the last "
        "checkpoint.",
    )


@shared_task(
    bind=True,
    name="generation.gpu.training_run",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=5,
)
def training_run(self, run_id: int) -> None:
    run_job_task(
        self,
        run_id,
        run=training.training_run_execute,
        fail=training.training_run_fail,
        known_errors={ModelStoreError: "The base model is unavailable: "},
        crash_message="Training stopped on an unexpected error; run it again to resume from the last "
        "checkpoint.",
    )


@shared_task(name="generation.gpu.image_category_guess", autoretry_for=TRANSIENT_ERRORS, max_retries=3)
def image_category_guess(image_id: int) -> None:
    photo_suggestions.attribute_category_guess(job_id=image_id)


@shared_task(name="generation.gpu.retrain_due", autoretry_for=TRANSIENT_ERRORS, max_retries=3)
def retrain_due() -> None:
    """The schedule's nightly pass: queue a run for each model whose training data changed."""
    training.retrain_due()
