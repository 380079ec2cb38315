"""Imports on a real Celery worker process, against the real Redis and the test database.

The second test kills a worker in the middle of an import and shows that a restarted worker
finishes it: the message was never acked (acks_late), Redis hands it out again once the
visibility timeout has passed, and the import restarts from the top, upserting by sku.
"""

from __future__ import annotations

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from catalog.models import ImportJob, JobStatus, Product, ProductAttribute
from catalog.services import MerchantAccount
from tests.conftest import StartWorker, WorkerProcess

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

IMPORTS_URL = "/api/v1/imports/"


def submit_import(client: APIClient, name: str, data: bytes) -> int:
    response = client.post(
        IMPORTS_URL, {"file": SimpleUploadedFile(name, data)}, format="multipart"
    )
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued"
    return response.json()["id"]


def wait_for_import(
    client: APIClient, import_id: int, *, timeout: float, workers: list[WorkerProcess]
) -> dict:
    """Poll the API until the import is finished; fail with the workers' logs on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(f"{IMPORTS_URL}{import_id}/")
        assert response.status_code == 200
        body = response.json()
        if body["status"] in JobStatus.finished():
            return body
        time.sleep(0.2)
    logs = "\n".join(f"--- {w.name} ---\n{w.log()[-5000:]}" for w in workers)
    pytest.fail(f"Import {import_id} not finished after {timeout:.0f} s: {body}\n{logs}")


def ran_on(worker: WorkerProcess, job: ImportJob) -> bool:
    """The worker's own log says it ran this job's message (not this process, eagerly)."""
    assert job.celery_task_id
    line = f"catalog.import_run[{job.celery_task_id}] succeeded"
    deadline = time.monotonic() + 15  # the row is saved a moment before the worker logs
    while time.monotonic() < deadline:
        if line in worker.log():
            return True
        time.sleep(0.1)
    return False


def catalog_csv(rows: int) -> bytes:
    lines = ["sku,name,category,colour"] + [
        f"W-{i:05d},Item {i},Cat {i % 5},c{i % 3}" for i in range(rows)
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def test_import_through_the_api_runs_on_a_worker(
    celery_worker_process: WorkerProcess, api_client: APIClient, merchant_account: MerchantAccount
) -> None:
    import_id = submit_import(api_client, "catalog.csv", catalog_csv(120))

    body = wait_for_import(api_client, import_id, timeout=60, workers=[celery_worker_process])

    assert body["status"] == "succeeded", body
    assert body["progress"] == {"done": 120, "total": 120}
    assert body["errors"] == []
    products = Product.objects.filter(merchant=merchant_account.merchant)
    assert products.count() == 120
    assert products.get(sku="W-00042").name == "Item 42"
    job = ImportJob.objects.get(pk=import_id)
    assert job.attempts == 1
    assert ran_on(celery_worker_process, job)


@pytest.mark.slow
def test_worker_killed_mid_import_is_finished_by_a_restarted_worker(
    celery_worker_factory: StartWorker, api_client: APIClient, merchant_account: MerchantAccount
) -> None:
    rows = 10_000
    slow_batches = {"COPILOT_IMPORT_BATCH_SIZE": "50"}  # 200 batches: `done` moves 50 at a time
    first = celery_worker_factory(slow_batches)

    import_id = submit_import(api_client, "big.csv", catalog_csv(rows))

    # Kill the worker (main process and pool child together) while the import is half done.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = ImportJob.objects.get(pk=import_id)
        if job.status == JobStatus.RUNNING and 0 < job.done < job.total:
            break
        assert job.status in {JobStatus.QUEUED, JobStatus.RUNNING}, job.error_message
        time.sleep(0.01)
    else:
        pytest.fail(f"The import never got part-way: {job.status} {job.done}/{job.total}")
    first.kill()
    assert not first.alive

    killed = ImportJob.objects.get(pk=import_id)
    done_at_kill = killed.done
    assert killed.status == JobStatus.RUNNING
    assert killed.attempts == 1
    assert 0 < done_at_kill < rows
    assert 0 < Product.objects.filter(merchant=merchant_account.merchant).count() < rows

    # A new worker takes the unacked message back once it is older than the visibility timeout,
    # and looks for such messages every second instead of kombu's default 100 s.
    second = celery_worker_factory(
        {
            **slow_batches,
            "COPILOT_BROKER_VISIBILITY_TIMEOUT": "5",
            "COPILOT_BROKER_RESTORE_INTERVAL": "1",
            "COPILOT_BROKER_RESTORE_THROTTLE": "1",
        }
    )
    body = wait_for_import(api_client, import_id, timeout=60, workers=[first, second])

    assert body["status"] == "succeeded", body
    assert body["progress"] == {"done": rows, "total": rows}
    job = ImportJob.objects.get(pk=import_id)
    assert job.attempts == 2  # restarted from the top, not resumed and not run twice more
    assert ran_on(second, job)
    # Rows written before the kill were matched by sku, not inserted again.
    assert job.updated_count >= done_at_kill
    assert job.created_count + job.updated_count == rows
    products = Product.objects.filter(merchant=merchant_account.merchant)
    assert products.count() == rows
    assert products.values("sku").distinct().count() == rows
    assert ProductAttribute.objects.filter(product__merchant=merchant_account.merchant).count() == rows
    assert products.get(sku="W-09999").name == "Item 9999"
