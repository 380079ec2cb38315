"""catalog.tasks: thin wrappers that turn crashes into a failed row a person can read."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError

from catalog import services, tasks
from catalog.models import ImportJob, JobStatus, Product
from catalog.services import MerchantAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued_job(merchant_account: MerchantAccount) -> ImportJob:
    return services.import_job_create(
        merchant=merchant_account.merchant,
        upload=SimpleUploadedFile("c.csv", b"sku,name\r\nT-1,Task\r\n"),
        enqueue=False,
    )


def test_task_has_an_explicit_name_and_the_default_queue() -> None:
    from shop_copilot.celery import app

    assert tasks.import_run.name == "catalog.import_run"
    route = app.amqp.router.route({}, tasks.import_run.name)
    assert route["queue"].name == "default"


def test_import_run_task_runs_the_import(queued_job: ImportJob, celery_eager) -> None:
    tasks.import_run.delay(queued_job.pk)
    queued_job.refresh_from_db()
    assert queued_job.status == JobStatus.SUCCEEDED
    assert Product.objects.filter(sku="T-1").exists()


def test_import_run_task_on_a_deleted_job_is_a_no_op(queued_job: ImportJob, celery_eager) -> None:
    pk = queued_job.pk
    queued_job.delete()
    result = tasks.import_run.delay(pk)
    assert result.successful()


def test_unexpected_error_marks_the_job_failed(queued_job: ImportJob, celery_eager, monkeypatch) -> None:
    def explode(*, job_id: int) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "import_job_run", explode)
    result = tasks.import_run.delay(queued_job.pk)
    assert result.successful()  # swallowed: retrying a bug would only repeat it
    queued_job.refresh_from_db()
    assert queued_job.status == JobStatus.FAILED
    assert "Importing the same file again is safe" in queued_job.error_message


def test_database_outage_is_retried_then_reported(queued_job: ImportJob, celery_eager, monkeypatch) -> None:
    calls: list[int] = []

    def unavailable(*, job_id: int) -> None:
        calls.append(job_id)
        raise OperationalError("connection refused")

    monkeypatch.setattr(services, "import_job_run", unavailable)
    tasks.import_run.apply(args=[queued_job.pk])
    assert len(calls) == tasks.import_run.max_retries + 1
    queued_job.refresh_from_db()
    assert queued_job.status == JobStatus.FAILED
    assert "database was unavailable" in queued_job.error_message
