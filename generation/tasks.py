"""Thin Celery tasks: take an id, call one service. Generation runs on the `llm` queue."""

from __future__ import annotations

import logging

from celery import shared_task

from catalog.tasks import TRANSIENT_ERRORS
from generation import services
from generation.ml.model_store import ModelStoreError

logger = logging.getLogger(__name__)


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
    try:
        services.generation_job_run(job_id=job_id)
    except TRANSIENT_ERRORS as exc:
        if self.request.retries >= self.max_retries:
            services.generation_job_fail(
                job_id=job_id, message=f"The database was unavailable; gave up after retries ({exc})."
            )
            return
        raise
    except ModelStoreError as exc:
        services.generation_job_fail(job_id=job_id, message=f"The language model is unavailable: {exc}")
    except Exception:
        logger.exception("Generation job %s crashed", job_id)
        services.generation_job_fail(
            job_id=job_id,
            message="Generation stopped on an unexpected error. Drafts written before it are kept; "
            "start the job again for the rest.",
        )
