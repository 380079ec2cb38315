"""The admin's import actions go through the same service as the pages and the API."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog import services
from catalog.models import ImportJob, JobStatus, Merchant


def queued_import(merchant: Merchant) -> ImportJob:
    return services.import_job_create(
        merchant=merchant,
        upload=SimpleUploadedFile("c.csv", b"sku,name\r\nA-1,One\r\n"),
        enqueue=False,
    )


def test_admin_cancels_only_the_staff_merchants_imports(
    client, merchant_account, other_merchant_account
) -> None:
    ours = queued_import(merchant_account.merchant)
    theirs = queued_import(other_merchant_account.merchant)
    staff = merchant_account.user
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    staff.user_permissions.add(*Permission.objects.filter(codename__endswith="importjob"))
    client.force_login(staff)

    response = client.post(
        reverse("admin:catalog_importjob_changelist"),
        {"action": "cancel_imports", "_selected_action": [ours.pk, theirs.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "1 imports cancelled." in response.content.decode()
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert ours.status == JobStatus.CANCELLED
    assert theirs.status == JobStatus.QUEUED
