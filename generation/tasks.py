"""Thin Celery tasks: take an id, call one service. Generation runs on the `llm` queue."""

from __future__ import annotations

from celery import shared_task

from catalog.jobs import TRANSIENT_ERRORS, run_job_task
from generation import services
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
