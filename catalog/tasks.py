"""Thin Celery tasks: take an id, call one service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from catalog import services

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


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
    try:
        services.import_job_run(job_id=import_id)
    except TRANSIENT_ERRORS as exc:
        if self.request.retries >= self.max_retries:
            services.import_job_fail(
                job_id=import_id, message=f"The database was unavailable; gave up after retries ({exc})."
            )
            return
        raise
    except Exception:
        logger.exception("Import job %s crashed", import_id)
        services.import_job_fail(
            job_id=import_id,
            message="The import stopped on an unexpected error. Importing the same file again "
            "is safe: products are matched by sku, so nothing is duplicated.",
        )
