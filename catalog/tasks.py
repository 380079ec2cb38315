"""Thin Celery tasks: take an id, call one service."""

from __future__ import annotations

from celery import shared_task

from catalog import services
from catalog.jobs import TRANSIENT_ERRORS, run_job_task


@shared_task(
    bind=True,
    name="catalog.import_run",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=5,
)
def import_run(self, import_id: int) -> None:
    run_job_task(
        self,
        import_id,
        run=services.import_job_run,
        fail=services.import_job_fail,
        crash_message="The import stopped on an unexpected error. Importing the same file again "
        "is safe: products are matched by sku, so nothing is duplicated.",
    )
