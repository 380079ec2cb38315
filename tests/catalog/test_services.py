"""catalog.services and the model invariants behind them, on the configured database."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from PIL import Image
from rest_framework.authtoken.models import Token

from catalog import services
from catalog.models import ImportJob, JobStatus, Merchant, Product, ProductAttribute
from catalog.services import MerchantAccount
from tests.factories import ProductAttributeFactory, ProductFactory

pytestmark = pytest.mark.django_db


# --- helpers ----------------------------------------------------------------------------------


def csv_file(*lines: str, bom: bool = False) -> bytes:
    data = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if bom else data


def run_import(merchant: Merchant, filename: str, data: bytes) -> ImportJob:
    job = services.import_job_create(
        merchant=merchant, upload=SimpleUploadedFile(filename, data), enqueue=False
    )
    services.import_job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def products_of(merchant: Merchant) -> dict[str, tuple[str, str, str, dict[str, str]]]:
    return {
        p.sku: (p.name, p.category, p.language, {a.key: a.value for a in p.attributes.all()})
        for p in Product.objects.filter(merchant=merchant).prefetch_related("attributes")
    }


def image_upload(name: str = "photo.png", fmt: str = "PNG", size=(32, 24), **save) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, fmt, **save)
    return SimpleUploadedFile(name, out.getvalue())


# --- merchants --------------------------------------------------------------------------------


def test_merchant_create_makes_merchant_user_and_token() -> None:
    account = services.merchant_create(name="  Tea & Co  ", username="tea", password="s3cret-pass!")
    assert account.merchant.name == "Tea & Co"
    assert account.merchant.slug == "tea-co"
    assert account.user.merchant == account.merchant
    assert account.user.check_password("s3cret-pass!")
    assert not account.user.is_staff
    assert Token.objects.get(user=account.user).key == account.token


def test_merchant_create_refuses_taken_slug_and_username(merchant_account: MerchantAccount) -> None:
    with pytest.raises(ValidationError) as excinfo:
        services.merchant_create(name="Acme Outfitters", username="someone", password="x")
    assert "name" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        services.merchant_create(name="Another", username="acme", password="x")
    assert "username" in excinfo.value.message_dict
    assert Merchant.objects.count() == 1


@pytest.mark.parametrize("name", ["", "   ", "!!!"])
def test_merchant_create_needs_a_usable_name(name: str) -> None:
    with pytest.raises(ValidationError):
        services.merchant_create(name=name, username="u", password="x")
    assert not Merchant.objects.exists()


# --- products ---------------------------------------------------------------------------------


def test_product_create_cleans_input_and_orders_attributes(merchant_account: MerchantAccount) -> None:
    product = services.product_create(
        merchant=merchant_account.merchant,
        sku=" MUG-1 ",
        name=" 陶瓷马克杯 ",
        attributes=[(" Colour ", " white "), ("capacity", "350 ml")],
    )
    product.refresh_from_db()
    assert (product.sku, product.name, product.language) == ("MUG-1", "陶瓷马克杯", "zh")
    assert list(product.attributes.values_list("key", "value", "position")) == [
        ("colour", "white", 0), ("capacity", "350 ml", 1)
    ]


def test_sku_is_unique_per_merchant_only(
    merchant_account: MerchantAccount, other_merchant_account: MerchantAccount
) -> None:
    services.product_create(merchant=merchant_account.merchant, sku="S-1", name="One")
    with pytest.raises(ValidationError) as excinfo:
        services.product_create(merchant=merchant_account.merchant, sku="S-1", name="Again")
    assert "already exists" in excinfo.value.message_dict["sku"][0]
    services.product_create(merchant=other_merchant_account.merchant, sku="S-1", name="Theirs")
    assert Product.objects.filter(sku="S-1").count() == 2


def test_database_enforces_sku_uniqueness_per_merchant(merchant_account: MerchantAccount) -> None:
    ProductFactory(merchant=merchant_account.merchant, sku="DB-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFactory(merchant=merchant_account.merchant, sku="DB-1")


def test_database_enforces_attribute_key_uniqueness_per_product() -> None:
    attribute = ProductAttributeFactory(key="brand")
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductAttributeFactory(product=attribute.product, key="brand")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sku": "", "name": "No sku"}, "sku"),
        ({"sku": "X-1", "name": ""}, "name"),
        ({"sku": "X-1", "name": "Bad language", "language": "fr"}, "language"),
        ({"sku": "X-1", "name": "Dup", "attributes": [("a", "1"), ("A", "2")]}, "attributes"),
        ({"sku": "X-1", "name": "Empty value", "attributes": [("a", " ")]}, "attributes"),
        ({"sku": "X-1", "name": "Long key", "attributes": [("k" * 65, "v")]}, "attributes"),
    ],
)
def test_product_create_validation(merchant_account: MerchantAccount, kwargs, field: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        services.product_create(merchant=merchant_account.merchant, **kwargs)
    assert field in excinfo.value.message_dict
    assert not Product.objects.exists()
    assert not ProductAttribute.objects.exists()


def test_product_update_changes_fields_and_replaces_attributes(
    merchant_account: MerchantAccount,
) -> None:
    product = services.product_create(
        merchant=merchant_account.merchant, sku="U-1", name="Old", attributes=[("a", "1"), ("b", "2")]
    )
    services.product_update(product=product, name="New", category="Kitchen", attributes=[("c", "3")])
    assert products_of(merchant_account.merchant) == {"U-1": ("New", "Kitchen", "en", {"c": "3"})}


def test_product_update_without_attributes_keeps_them(merchant_account: MerchantAccount) -> None:
    product = services.product_create(
        merchant=merchant_account.merchant, sku="U-1", name="Old", attributes=[("a", "1")]
    )
    services.product_update(product=product, name="New")
    assert products_of(merchant_account.merchant)["U-1"][3] == {"a": "1"}


def test_product_update_refuses_a_taken_sku(merchant_account: MerchantAccount) -> None:
    services.product_create(merchant=merchant_account.merchant, sku="U-1", name="One")
    other = services.product_create(merchant=merchant_account.merchant, sku="U-2", name="Two")
    with pytest.raises(ValidationError):
        services.product_update(product=other, sku="U-1")
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["U-1", "U-2"]


def test_attribute_add_appends_or_changes_by_key(merchant_account: MerchantAccount) -> None:
    product = services.product_create(
        merchant=merchant_account.merchant, sku="A-1", name="Lamp", attributes=[("brand", "Ikea")]
    )
    added = services.product_attribute_add(product=product, key=" Colour ", value="red")
    assert (added.key, added.position) == ("colour", 1)
    changed = services.product_attribute_add(product=product, key="BRAND", value="Muji")
    assert changed.pk == product.attributes.get(key="brand").pk
    assert list(product.attributes.values_list("key", "value")) == [
        ("brand", "Muji"), ("colour", "red")
    ]
    services.product_attribute_remove(attribute=added)
    assert list(product.attributes.values_list("key", flat=True)) == ["brand"]


def test_attribute_add_refuses_empty_value(merchant_account: MerchantAccount) -> None:
    product = services.product_create(merchant=merchant_account.merchant, sku="A-1", name="Lamp")
    with pytest.raises(ValidationError):
        services.product_attribute_add(product=product, key="brand", value="  ")
    assert not product.attributes.exists()


# --- images -----------------------------------------------------------------------------------


def test_image_add_reencodes_and_names_the_file_itself(merchant_account: MerchantAccount) -> None:
    product = services.product_create(merchant=merchant_account.merchant, sku="I-1", name="Lamp")
    image = services.product_image_add(product=product, upload=image_upload("../../evil name.png"))
    assert (image.width, image.height) == (32, 24)
    assert image.original_name == "evil name.png"  # the upload handler drops the folders
    assert image.image.name.startswith(f"products/{merchant_account.merchant.pk}/")
    assert image.image.name.endswith(".png") and "evil" not in image.image.name
    with Image.open(image.image.path) as stored:
        assert stored.format == "PNG"


def test_image_add_drops_exif(merchant_account: MerchantAccount) -> None:
    product = services.product_create(merchant=merchant_account.merchant, sku="I-1", name="Lamp")
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    upload = image_upload("p.jpg", "JPEG", exif=exif.tobytes())
    assert b"SecretCam" in upload.read()
    upload.seek(0)
    image = services.product_image_add(product=product, upload=upload)
    data = Path(image.image.path).read_bytes()
    assert b"SecretCam" not in data
    assert image.image.name.endswith(".jpg")


def test_image_add_refuses_what_is_not_an_image(merchant_account: MerchantAccount) -> None:
    product = services.product_create(merchant=merchant_account.merchant, sku="I-1", name="Lamp")
    with pytest.raises(ValidationError) as excinfo:
        services.product_image_add(
            product=product, upload=SimpleUploadedFile("x.png", b"<script>alert(1)</script>")
        )
    assert "image" in excinfo.value.message_dict
    assert not product.images.exists()


def test_image_limits(merchant_account: MerchantAccount, settings) -> None:
    product = services.product_create(merchant=merchant_account.merchant, sku="I-1", name="Lamp")
    settings.COPILOT_IMAGE_MAX_PIXELS = 100
    with pytest.raises(ValidationError, match="pixels"):
        services.product_image_add(product=product, upload=image_upload(size=(20, 20)))
    settings.COPILOT_IMAGE_MAX_BYTES = 10
    with pytest.raises(ValidationError, match="larger than"):
        services.product_image_add(product=product, upload=image_upload(size=(5, 5)))
    assert not product.images.exists()


def test_deleting_images_and_products_removes_files(merchant_account: MerchantAccount) -> None:
    product = services.product_create(merchant=merchant_account.merchant, sku="I-1", name="Lamp")
    first = services.product_image_add(product=product, upload=image_upload())
    second = services.product_image_add(product=product, upload=image_upload())
    first_path, second_path = Path(first.image.path), Path(second.image.path)
    services.product_image_delete(product_image=first)
    assert not first_path.exists() and second_path.exists()
    services.product_delete(product=product)
    assert not second_path.exists()
    assert not Product.objects.exists()


# --- imports: creating the job ----------------------------------------------------------------


@pytest.mark.parametrize("filename", ["catalog.xlsx", "catalog.txt", "catalog"])
def test_import_refuses_wrong_extension(merchant_account: MerchantAccount, filename: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        services.import_job_create(
            merchant=merchant_account.merchant,
            upload=SimpleUploadedFile(filename, b"sku,name\r\nA,B\r\n"),
            enqueue=False,
        )
    assert ".csv" in excinfo.value.message_dict["file"][0]
    assert not ImportJob.objects.exists()


def test_import_refuses_an_empty_upload(merchant_account: MerchantAccount) -> None:
    with pytest.raises(ValidationError, match="empty"):
        services.import_job_create(
            merchant=merchant_account.merchant, upload=SimpleUploadedFile("c.csv", b""), enqueue=False
        )
    assert not ImportJob.objects.exists()


def test_import_refuses_a_file_over_the_limit(merchant_account: MerchantAccount, settings) -> None:
    settings.COPILOT_IMPORT_MAX_BYTES = 10
    with pytest.raises(ValidationError, match="larger than"):
        services.import_job_create(
            merchant=merchant_account.merchant,
            upload=SimpleUploadedFile("c.csv", csv_file("sku,name", "A-1,Too big")),
            enqueue=False,
        )


def test_import_job_stores_the_file_under_a_server_chosen_name(
    merchant_account: MerchantAccount,
) -> None:
    job = services.import_job_create(
        merchant=merchant_account.merchant,
        upload=SimpleUploadedFile("../../etc/passwd.csv", csv_file("sku,name", "A-1,One")),
        enqueue=False,
    )
    assert job.status == JobStatus.QUEUED
    assert job.file_format == "csv"
    assert job.file.name.startswith(f"imports/{merchant_account.merchant.pk}/")
    assert ".." not in job.file.name and "passwd" not in job.file.name


def test_import_job_create_enqueues_only_after_commit(
    merchant_account: MerchantAccount, celery_eager, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = services.import_job_create(
            merchant=merchant_account.merchant,
            upload=SimpleUploadedFile("c.csv", csv_file("sku,name", "A-1,One")),
        )
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED  # nothing ran before the commit
    callbacks[0]()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.celery_task_id


# --- imports: running -------------------------------------------------------------------------


def test_import_csv_with_bom_and_chinese(merchant_account: MerchantAccount) -> None:
    data = csv_file(
        "sku,name,category,颜色,Brand", "ZH-1,无线蓝牙耳机,耳机,黑色,小米", "EN-1,Desk lamp,,white,",
        bom=True,
    )
    job = run_import(merchant_account.merchant, "目录.csv", data)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert (job.total, job.done, job.created_count, job.updated_count) == (2, 2, 2, 0)
    assert job.original_name == "目录.csv"
    assert job.attempts == 1 and job.started_at and job.finished_at
    assert products_of(merchant_account.merchant) == {
        "ZH-1": ("无线蓝牙耳机", "耳机", "zh", {"颜色": "黑色", "brand": "小米"}),
        "EN-1": ("Desk lamp", "", "en", {"颜色": "white"}),
    }


def test_import_missing_required_column_fails_and_imports_nothing(
    merchant_account: MerchantAccount,
) -> None:
    job = run_import(merchant_account.merchant, "c.csv", csv_file("sku,title", "A-1,One"))
    assert job.status == JobStatus.FAILED
    assert job.error_message.startswith("Row 1: missing required column 'name'")
    assert not Product.objects.exists()


def test_import_bad_row_among_good_ones_imports_nothing(merchant_account: MerchantAccount) -> None:
    job = run_import(
        merchant_account.merchant,
        "c.csv",
        csv_file("sku,name", "G-1,One", "G-2,Two", "G-3,", "G-4,Four"),
    )
    assert job.status == JobStatus.FAILED
    assert job.errors == [{"row": 4, "column": "name", "message": "is required"}]
    assert "1 problem in 1 row" in job.error_message
    assert "nothing was imported" in job.error_message
    assert not Product.objects.exists()


def test_import_duplicate_skus_in_one_file_fail_naming_both_rows(
    merchant_account: MerchantAccount,
) -> None:
    job = run_import(
        merchant_account.merchant, "c.csv", csv_file("sku,name", "D-1,One", "D-2,Two", "D-1,Again")
    )
    assert job.status == JobStatus.FAILED
    (error,) = job.errors
    assert error["row"] == 4 and "row 2" in error["message"]
    assert not Product.objects.exists()


def test_import_ten_thousand_rows(merchant_account: MerchantAccount, settings) -> None:
    settings.COPILOT_IMPORT_BATCH_SIZE = 1000
    lines = ["sku,name,category,colour"] + [
        f"BULK-{i:05d},Item {i},Cat {i % 7},c{i % 3}" for i in range(10_000)
    ]
    job = run_import(merchant_account.merchant, "big.csv", csv_file(*lines))
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert (job.total, job.done, job.created_count, job.updated_count) == (10_000, 10_000, 10_000, 0)
    assert Product.objects.filter(merchant=merchant_account.merchant).count() == 10_000
    assert ProductAttribute.objects.filter(product__merchant=merchant_account.merchant).count() == 10_000
    product = Product.objects.get(sku="BULK-09999")
    assert (product.name, product.category) == ("Item 9999", "Cat 3")
    assert job.percent == 100


def test_reimport_updates_by_sku_and_duplicates_nothing(
    merchant_account: MerchantAccount, other_merchant_account: MerchantAccount
) -> None:
    theirs = services.product_create(merchant=other_merchant_account.merchant, sku="R-1", name="Theirs")
    original = csv_file("sku,name,category,colour", "R-1,Mug,Kitchen,white", "R-2,Bowl,Kitchen,blue")
    first = run_import(merchant_account.merchant, "c.csv", original)
    again = run_import(merchant_account.merchant, "c.csv", original)
    assert (first.created_count, first.updated_count) == (2, 0)
    assert again.status == JobStatus.SUCCEEDED
    assert (again.created_count, again.updated_count) == (0, 2)
    assert Product.objects.filter(merchant=merchant_account.merchant).count() == 2
    assert ProductAttribute.objects.filter(product__merchant=merchant_account.merchant).count() == 2

    # A manual attribute not in the file survives; changed values are updated.
    services.product_attribute_add(
        product=Product.objects.get(merchant=merchant_account.merchant, sku="R-1"),
        key="material", value="porcelain",
    )
    changed = csv_file("sku,name,category,colour,size", "R-1,Big mug,Kitchen,black,L", "R-3,Plate,,,")
    third = run_import(merchant_account.merchant, "c2.csv", changed)
    assert (third.created_count, third.updated_count) == (1, 1)
    assert products_of(merchant_account.merchant) == {
        "R-1": ("Big mug", "Kitchen", "en", {"colour": "black", "material": "porcelain", "size": "L"}),
        "R-2": ("Bowl", "Kitchen", "en", {"colour": "blue"}),
        "R-3": ("Plate", "", "en", {}),
    }
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"  # the same sku at another merchant is untouched


def test_import_jsonl_attributes_as_object_and_as_list(merchant_account: MerchantAccount) -> None:
    data = "\n".join(
        json.dumps(r, ensure_ascii=False)
        for r in [
            {"sku": "J-1", "name": "Desk lamp", "attributes": {"Brand": "Ikea", "watts": 40}},
            {"sku": "J-2", "name": "台灯", "category": "灯具",
             "attributes": [{"key": "品牌", "value": "小米"}, {"key": "colour", "value": "白"}]},
        ]
    ).encode()
    job = run_import(merchant_account.merchant, "catalog.jsonl", data)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert job.file_format == "jsonl"
    assert products_of(merchant_account.merchant) == {
        "J-1": ("Desk lamp", "", "en", {"brand": "Ikea", "watts": "40"}),
        "J-2": ("台灯", "灯具", "zh", {"品牌": "小米", "colour": "白"}),
    }


def test_import_invalid_json_line_fails_naming_the_line(merchant_account: MerchantAccount) -> None:
    data = b'{"sku": "J-1", "name": "One"}\n{"sku": "J-2", "name": \n{"sku": "J-3", "name": "Three"}\n'
    job = run_import(merchant_account.merchant, "c.jsonl", data)
    assert job.status == JobStatus.FAILED
    assert [(e["row"], e["column"]) for e in job.errors] == [(2, "(line)")]
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"  \r\n\r\n", "empty"),
        (b"sku,name\r\n", "no products"),
        ("sku,name\r\nC-1,Café\r\n".encode("latin-1"), "not UTF-8"),
        ("sku,name\r\nZH-1,无线鼠标\r\n".encode("gbk"), "not UTF-8"),
    ],
)
def test_import_unreadable_file_fails_with_a_message(
    merchant_account: MerchantAccount, data: bytes, fragment: str
) -> None:
    job = run_import(merchant_account.merchant, "c.csv", data)
    assert job.status == JobStatus.FAILED
    assert fragment in job.error_message
    assert job.finished_at is not None
    assert not Product.objects.exists()


def test_import_with_the_stored_file_gone_fails_readably(merchant_account: MerchantAccount) -> None:
    job = services.import_job_create(
        merchant=merchant_account.merchant,
        upload=SimpleUploadedFile("c.csv", csv_file("sku,name", "A-1,One")),
        enqueue=False,
    )
    job.file.storage.delete(job.file.name)
    services.import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error_message == "The uploaded file is missing."


def test_import_run_again_after_a_crash_restarts_and_duplicates_nothing(
    merchant_account: MerchantAccount, settings
) -> None:
    """The same as a worker dying mid-import, without the worker (that is in the integration
    tests): the row is left `running` half done and the task runs again."""
    settings.COPILOT_IMPORT_BATCH_SIZE = 2
    data = csv_file("sku,name", *(f"C-{i},Item {i}" for i in range(5)))
    job = services.import_job_create(
        merchant=merchant_account.merchant, upload=SimpleUploadedFile("c.csv", data), enqueue=False
    )
    for i in range(3):  # the first attempt got through one and a half batches
        ProductFactory(merchant=merchant_account.merchant, sku=f"C-{i}", name=f"Item {i}")
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, attempts=1, done=2, total=5)

    services.import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.attempts == 2
    assert (job.done, job.total, job.created_count, job.updated_count) == (5, 5, 2, 3)
    assert sorted(Product.objects.values_list("sku", flat=True)) == [f"C-{i}" for i in range(5)]


def test_import_that_keeps_killing_its_worker_is_stopped(merchant_account: MerchantAccount) -> None:
    data = csv_file("sku,name", "D-1,One")
    job = services.import_job_create(
        merchant=merchant_account.merchant, upload=SimpleUploadedFile("d.csv", data), enqueue=False
    )
    ImportJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, attempts=services.IMPORT_MAX_ATTEMPTS
    )

    services.import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "interrupted 3 times" in job.error_message
    assert not Product.objects.filter(merchant=merchant_account.merchant).exists()


def test_cancelled_queued_import_never_runs(merchant_account: MerchantAccount) -> None:
    job = services.import_job_create(
        merchant=merchant_account.merchant,
        upload=SimpleUploadedFile("c.csv", csv_file("sku,name", "A-1,One")),
        enqueue=False,
    )
    services.import_job_cancel(job=job)
    assert job.status == JobStatus.CANCELLED and job.finished_at

    services.import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert job.attempts == 0
    assert not Product.objects.exists()
    with pytest.raises(ValidationError, match="already finished"):
        services.import_job_cancel(job=job)


def test_cancel_stops_a_running_import_between_batches(
    merchant_account: MerchantAccount, settings, monkeypatch
) -> None:
    settings.COPILOT_IMPORT_BATCH_SIZE = 2
    job = services.import_job_create(
        merchant=merchant_account.merchant,
        upload=SimpleUploadedFile("c.csv", csv_file("sku,name", *(f"C-{i},Item {i}" for i in range(6)))),
        enqueue=False,
    )
    write_batch = services._upsert_rows

    def write_then_cancel(merchant, rows):
        result = write_batch(merchant, rows)
        services.import_job_cancel(job=ImportJob.objects.get(pk=job.pk))  # someone clicks Cancel
        return result

    monkeypatch.setattr(services, "_upsert_rows", write_then_cancel)
    services.import_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert (job.done, job.total) == (2, 6)
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["C-0", "C-1"]
    assert "Cancelled" in job.error_message


def test_import_run_on_a_finished_or_missing_job_is_a_no_op(
    merchant_account: MerchantAccount,
) -> None:
    job = run_import(merchant_account.merchant, "c.csv", csv_file("sku,name", "A-1,One"))
    finished_at = job.finished_at
    assert services.import_job_run(job_id=job.pk).pk == job.pk
    job.refresh_from_db()
    assert (job.attempts, job.finished_at) == (1, finished_at)
    assert services.import_job_run(job_id=job.pk + 1000) is None


def test_import_job_fail_only_touches_unfinished_jobs(merchant_account: MerchantAccount) -> None:
    done = run_import(merchant_account.merchant, "c.csv", csv_file("sku,name", "A-1,One"))
    services.import_job_fail(job_id=done.pk, message="too late")
    done.refresh_from_db()
    assert (done.status, done.error_message) == (JobStatus.SUCCEEDED, "")

    queued = services.import_job_create(
        merchant=merchant_account.merchant,
        upload=SimpleUploadedFile("c.csv", csv_file("sku,name", "A-1,One")),
        enqueue=False,
    )
    services.import_job_fail(job_id=queued.pk, message="Gave up.")
    queued.refresh_from_db()
    assert (queued.status, queued.error_message) == (JobStatus.FAILED, "Gave up.")
    assert queued.is_finished and queued.percent == 100


def test_import_catalog_file_from_disk(merchant_account: MerchantAccount, tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_bytes(csv_file("sku,name", "F-1,From disk"))
    job = services.import_catalog_file(merchant=merchant_account.merchant, path=str(path))
    assert job.status == JobStatus.SUCCEEDED
    assert job.original_name == "catalog.csv"
    assert Product.objects.get(merchant=merchant_account.merchant).name == "From disk"


def test_import_job_percent() -> None:
    job = ImportJob(total=0, done=0, status=JobStatus.RUNNING)
    assert job.percent == 0
    job.total, job.done = 8, 3
    assert job.percent == 38
    job.status = JobStatus.SUCCEEDED
    job.total = job.done = 0
    assert job.percent == 100
