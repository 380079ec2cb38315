"""generation.tasks: the llm-queue task turns every failure into a failed row a person can read."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from catalog import services as catalog_services
from catalog.models import JobStatus
from generation import services, tasks
from generation.models import GenerationJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued_job(merchant_account) -> GenerationJob:
    product = catalog_services.product_create(
        merchant=merchant_account.merchant, sku="P", name="Lamp", attributes=[("brand", "Lumo")]
    )
    return services.generation_job_create(
        merchant=merchant_account.merchant, product_ids=[product.pk], fields=["title"], enqueue=False
    )


def test_task_has_an_explicit_name_and_the_llm_queue() -> None:
    from shop_copilot.celery import app

    assert tasks.generation_run.name == "generation.llm.generation_run"
    assert app.amqp.router.route({}, tasks.generation_run.name)["queue"].name == "llm"


def test_the_task_runs_the_job(tiny_model, queued_job, celery_eager) -> None:
    tasks.generation_run.delay(queued_job.pk)
    queued_job.refresh_from_db()
    assert queued_job.status == JobStatus.SUCCEEDED and queued_job.drafts.count() == 1


def test_a_deleted_job_is_a_no_op(queued_job, celery_eager) -> None:
    pk = queued_job.pk
    queued_job.delete()
    assert tasks.generation_run.delay(pk).successful()


def test_an_unexpected_error_fails_the_job_readably(queued_job, celery_eager, monkeypatch) -> None:
    def explode(*, job_id: int) -> None:
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr(services, "generation_job_run", explode)
    assert tasks.generation_run.delay(queued_job.pk).successful()
    queued_job.refresh_from_db()
    assert queued_job.status == JobStatus.FAILED
    assert queued_job.error_message.startswith("Generation stopped on an unexpected error.")


def test_a_database_outage_is_retried_then_reported(queued_job, celery_eager, monkeypatch) -> None:
    calls: list[int] = []

    def unavailable(*, job_id: int) -> None:
        calls.append(job_id)
        raise OperationalError("connection refused")

    monkeypatch.setattr(services, "generation_job_run", unavailable)
    tasks.generation_run.apply(args=[queued_job.pk])
    assert len(calls) == tasks.generation_run.max_retries + 1
    queued_job.refresh_from_db()
    assert queued_job.status == JobStatus.FAILED
    assert "database was unavailable" in queued_job.error_message
