"""Guarded state changes for background-job rows, and the shape every job task shares.

Every transition is one conditional UPDATE on a row that is still queued or running, so a job
cancelled by a person is never overwritten by the worker, and a finished job is never restarted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import BackgroundJob, JobStatus

logger = logging.getLogger(__name__)

Job = TypeVar("Job", bound=BackgroundJob)

TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


def unfinished(job: BackgroundJob) -> QuerySet:
    """The job's row if it may still change state: every transition goes through this guard."""
    return type(job).objects.filter(pk=job.pk, status__in=[JobStatus.QUEUED, JobStatus.RUNNING])


def job_enqueue(job: BackgroundJob, task: Any) -> None:
    """Send the job's id to its task and remember the Celery id (call it from on_commit)."""
    result = task.delay(job.pk)
    type(job).objects.filter(pk=job.pk).update(celery_task_id=result.id or "")


def job_start(job: BackgroundJob, **fields: Any) -> bool:
    """Mark the job running for one more attempt; False if it finished (was cancelled) meanwhile."""
    started = unfinished(job).update(
        status=JobStatus.RUNNING,
        started_at=Coalesce("started_at", Value(timezone.now())),
        attempts=F("attempts") + 1,
        **fields,
    )
    job.refresh_from_db()
    return bool(started)


def job_stopped(job: BackgroundJob) -> bool:
    """Cancelled (or otherwise finished) by someone else while this run was working."""
    return not unfinished(job).exists()


def job_finish(job: Job, status: str, *, message: str = "", **fields: Any) -> Job:
    unfinished(job).update(status=status, error_message=message, finished_at=timezone.now(), **fields)
    job.refresh_from_db()
    return job


def job_cancel(job: Job, *, message: str) -> Job:
    """Cancel a queued or running job; what it wrote before stays."""
    if not unfinished(job).update(
        status=JobStatus.CANCELLED, finished_at=timezone.now(), error_message=message
    ):
        raise ValidationError("This job has already finished.")
    job.refresh_from_db()
    return job


def run_job_task(
    task: Any,
    job_id: int,
    *,
    run: Callable[..., Any],
    fail: Callable[..., None],
    crash_message: str,
    known_errors: dict[type[Exception], str] | None = None,
) -> None:
    """The body of a job task: run the service; retry database hiccups, then give up readably.

    `known_errors` maps failures whose own message a person should read to a lead-in for it.
    """
    known_errors = known_errors or {}
    try:
        run(job_id=job_id)
    except TRANSIENT_ERRORS as exc:
        if task.request.retries >= task.max_retries:
            fail(job_id=job_id, message=f"The database was unavailable; gave up after retries ({exc}).")
            return
        raise
    except tuple(known_errors) as exc:
        lead_in = next(text for kind, text in known_errors.items() if isinstance(exc, kind))
        fail(job_id=job_id, message=f"{lead_in}{exc}")
    except Exception:
        logger.exception("Job %s (%s) crashed", job_id, task.name)
        fail(job_id=job_id, message=crash_message)
