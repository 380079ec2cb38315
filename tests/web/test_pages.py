"""The merchant pages through Django's test client: full pages, htmx partials, tenant walls."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from catalog import services
from catalog.models import ImportJob, JobStatus, Product, ProductImage

HTMX = {"HTTP_HX_REQUEST": "true"}

pytestmark = pytest.mark.django_db


def png_bytes(size: tuple[int, int] = (8, 6)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def csv_upload(text: str, name: str = "catalog.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


@pytest.fixture
def product(merchant_account):
    return services.product_create(
        merchant=merchant_account.merchant,
        sku="SHOE-1",
        name="Trail runner",
        category="Shoes",
        attributes=[("brand", "Acme"), ("colour", "black")],
    )


@pytest.fixture
def image(product):
    upload = SimpleUploadedFile("shoe.png", png_bytes(), content_type="image/png")
    return services.product_image_add(product=product, upload=upload)


@pytest.fixture
def job(merchant_account):
    return services.import_job_create(
        merchant=merchant_account.merchant,
        user=merchant_account.user,
        upload=csv_upload("sku,name,colour\nA-1,Mug,blue\nA-2,保温杯,silver\n"),
        enqueue=False,
    )


# --- Access ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["catalog:product_list", "catalog:product_create", "catalog:import_list"]
)
def test_pages_need_a_signed_in_user(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_login_page_signs_in_and_lands_on_the_catalog(client, db):
    services.merchant_create(name="Acme Shoes", username="acme", password="pw-acme-123")
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b'name="username"' in page.content
    response = client.post(reverse("login"), {"username": "acme", "password": "pw-acme-123"})
    assert response.status_code == 302
    assert response["Location"] == reverse("catalog:product_list")


def test_a_user_without_a_merchant_gets_403(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="pw-root-123")
    client.force_login(admin)
    assert client.get(reverse("catalog:product_list")).status_code == 403
    assert client.get(reverse("catalog:import_list")).status_code == 403


def test_nav_links_and_post_logout(merchant_client, merchant_account):
    page = merchant_client.get(reverse("catalog:product_list")).content.decode()
    assert reverse("catalog:import_list") in page
    assert reverse("api:docs") in page
    assert reverse("admin:index") not in page  # not staff
    assert 'hx-headers=\'{"X-CSRFToken": "' in page
    assert "/static/django_htmx/htmx-2.min.js" in page
    assert merchant_client.post(reverse("logout")).status_code == 302
    assert merchant_client.get(reverse("catalog:product_list")).status_code == 302


def test_staff_merchant_users_see_the_admin_link(merchant_client, merchant_account):
    merchant_account.user.is_staff = True
    merchant_account.user.save()
    page = merchant_client.get(reverse("catalog:product_list")).content.decode()
    assert reverse("admin:index") in page


# --- Catalog list ------------------------------------------------------------------------------


@pytest.fixture
def many_products(merchant_account):
    for i in range(30):
        services.product_create(
            merchant=merchant_account.merchant,
            sku=f"SKU-{i:03d}",
            name=f"Thing {i}",
            category="Odd" if i % 2 else "Even",
            attributes=[("colour", "teal" if i == 7 else "grey")],
        )


def test_list_paginates_25_a_page(merchant_client, many_products):
    first = merchant_client.get(reverse("catalog:product_list"))
    assert first.status_code == 200
    assert len(first.context["products"]) == 25
    assert "SKU-000" in first.content.decode()
    assert "SKU-025" not in first.content.decode()
    second = merchant_client.get(reverse("catalog:product_list"), {"page": 2})
    assert [p.sku for p in second.context["products"]] == [f"SKU-{i:03d}" for i in range(25, 30)]
    assert "Page 2 of 2" in second.content.decode()


def test_list_searches_name_sku_and_attribute_values(merchant_client, many_products):
    by_attribute = merchant_client.get(reverse("catalog:product_list"), {"q": "teal"})
    assert [p.sku for p in by_attribute.context["products"]] == ["SKU-007"]
    by_name = merchant_client.get(reverse("catalog:product_list"), {"q": "thing 1"})
    assert len(by_name.context["products"]) == 11  # 1, 10..19


def test_list_filters_by_category_and_keeps_the_filter_in_page_links(
    merchant_client, many_products
):
    response = merchant_client.get(reverse("catalog:product_list"), {"category": "Odd"})
    assert response.context["page"].paginator.count == 15
    assert {p.category for p in response.context["products"]} == {"Odd"}
    assert '<option value="Odd" selected>' in response.content.decode()

    both = merchant_client.get(reverse("catalog:product_list"), {"category": "Even", "q": "Thing"})
    page = both.content.decode()
    assert both.context["page"].paginator.count == 15
    assert "?category=Even&amp;q=Thing&amp;page=" not in page  # only one page: no links
    assert "Page 1 of" not in page


def test_page_links_keep_search_and_category(merchant_client, many_products):
    page = merchant_client.get(reverse("catalog:product_list"), {"q": "Thing"}).content.decode()
    assert 'href="/?q=Thing&amp;page=2"' in page
    assert 'hx-get="/?q=Thing&amp;page=2"' in page


def test_search_box_is_wired_for_htmx_with_a_form_fallback(merchant_client, many_products):
    page = merchant_client.get(reverse("catalog:product_list")).content.decode()
    assert 'hx-trigger="input changed delay:300ms, search"' in page
    assert 'hx-push-url="true"' in page
    assert '<form class="filters" method="get" action="/"' in page


def test_htmx_search_returns_only_the_results_partial(merchant_client, many_products):
    response = merchant_client.get(reverse("catalog:product_list"), {"q": "teal"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="results"')
    assert "<html" not in body
    assert "SKU-007" in body
    assert "HX-Request" in response["Vary"]


def test_htmx_history_restore_gets_the_whole_page(merchant_client, many_products):
    response = merchant_client.get(
        reverse("catalog:product_list"), **HTMX, HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in response.content.decode()


def test_an_empty_catalog_points_to_the_import(merchant_client):
    page = merchant_client.get(reverse("catalog:product_list")).content.decode()
    assert "No products yet." in page


# --- Create, edit, delete ----------------------------------------------------------------------


def test_create_a_product(merchant_client, merchant_account):
    response = merchant_client.post(
        reverse("catalog:product_create"),
        {"sku": " NEW-1 ", "name": "电动牙刷", "category": "Care", "language": ""},
    )
    product = Product.objects.get(merchant=merchant_account.merchant, sku="NEW-1")
    assert response.status_code == 302
    assert response["Location"] == product.get_absolute_url()
    assert product.language == "zh"  # guessed from the name


def test_create_with_a_taken_sku_shows_the_error_and_keeps_the_input(merchant_client, product):
    response = merchant_client.post(
        reverse("catalog:product_create"),
        {"sku": "SHOE-1", "name": "Typed name stays", "category": "", "language": "en"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "A product with sku &#x27;SHOE-1&#x27; already exists." in page
    assert 'value="Typed name stays"' in page
    assert Product.objects.filter(sku="SHOE-1").count() == 1


def test_product_detail_shows_attributes_and_images(merchant_client, product, image):
    response = merchant_client.get(product.get_absolute_url())
    page = response.content.decode()
    assert response.status_code == 200
    assert "Trail runner" in page
    assert "brand" in page and "Acme" in page
    image_url = reverse(
        "catalog:image_file", kwargs={"product_id": product.pk, "image_id": image.pk}
    )
    assert f'src="{image_url}"' in page
    assert "/media/" not in page


def test_edit_a_product(merchant_client, product):
    response = merchant_client.post(
        product.get_absolute_url(),
        {"sku": "SHOE-1", "name": "Trail runner v2", "category": "Running", "language": "en"},
    )
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.category) == ("Trail runner v2", "Running")


def test_edit_with_a_clashing_sku_keeps_the_typed_text(
    merchant_client, merchant_account, product
):
    services.product_create(merchant=merchant_account.merchant, sku="TAKEN", name="Other")
    response = merchant_client.post(
        product.get_absolute_url(),
        {"sku": "TAKEN", "name": "My new name", "category": "Shoes", "language": "en"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "A product with sku &#x27;TAKEN&#x27; already exists." in page
    assert 'value="My new name"' in page
    assert 'value="TAKEN"' in page
    assert "<h1>Trail runner</h1>" in page  # the heading shows what is stored
    product.refresh_from_db()
    assert (product.sku, product.name) == ("SHOE-1", "Trail runner")


def test_edit_with_a_blank_name_is_refused(merchant_client, product):
    response = merchant_client.post(
        product.get_absolute_url(),
        {"sku": "SHOE-1", "name": "", "category": "Shoes", "language": "en"},
    )
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()


def test_delete_a_product_needs_post(merchant_client, product, image):
    url = reverse("catalog:product_delete", kwargs={"product_id": product.pk})
    assert merchant_client.get(url).status_code == 405
    response = merchant_client.post(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("catalog:product_list")
    assert not Product.objects.filter(pk=product.pk).exists()


def test_product_names_are_escaped(merchant_client, merchant_account):
    product = services.product_create(
        merchant=merchant_account.merchant, sku="XSS", name="<script>alert(1)</script>"
    )
    services.product_attribute_add(product=product, key="note", value="<img src=x onerror=1>")
    for url in (reverse("catalog:product_list"), product.get_absolute_url()):
        page = merchant_client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<img src=x" not in page


# --- Attributes --------------------------------------------------------------------------------


def test_htmx_attribute_add_returns_the_attributes_partial(merchant_client, product):
    url = reverse("catalog:attribute_add", kwargs={"product_id": product.pk})
    response = merchant_client.post(url, {"key": "Material", "value": "mesh"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="attributes"')
    assert "<html" not in body
    assert "material" in body and "mesh" in body
    assert product.attributes.filter(key="material", value="mesh").exists()


def test_htmx_attribute_add_with_a_bad_key_shows_the_error_in_the_partial(
    merchant_client, product
):
    url = reverse("catalog:attribute_add", kwargs={"product_id": product.pk})
    response = merchant_client.post(url, {"key": "brand", "value": "  "}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert '<section id="attributes"' in body
    assert "This field is required." in body
    assert product.attributes.get(key="brand").value == "Acme"


def test_attribute_add_without_js_redirects_back(merchant_client, product):
    url = reverse("catalog:attribute_add", kwargs={"product_id": product.pk})
    response = merchant_client.post(url, {"key": "size", "value": "42"})
    assert response.status_code == 302
    assert response["Location"] == product.get_absolute_url()


def test_htmx_attribute_remove_returns_the_partial(merchant_client, product):
    attribute = product.attributes.get(key="colour")
    url = reverse(
        "catalog:attribute_remove",
        kwargs={"product_id": product.pk, "attribute_id": attribute.pk},
    )
    response = merchant_client.post(url, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="attributes"')
    assert '<th scope="row" class="mono">colour</th>' not in body
    assert '<th scope="row" class="mono">brand</th>' in body
    assert not product.attributes.filter(key="colour").exists()


def test_attribute_remove_without_js_redirects_back(merchant_client, product):
    attribute = product.attributes.get(key="colour")
    url = reverse(
        "catalog:attribute_remove",
        kwargs={"product_id": product.pk, "attribute_id": attribute.pk},
    )
    response = merchant_client.post(url)
    assert response.status_code == 302
    assert response["Location"] == product.get_absolute_url()


# --- Images ------------------------------------------------------------------------------------


def test_upload_a_png_and_serve_it(merchant_client, product):
    url = reverse("catalog:image_upload", kwargs={"product_id": product.pk})
    upload = SimpleUploadedFile("photo.png", png_bytes((20, 10)), content_type="image/png")
    response = merchant_client.post(url, {"image": upload})
    assert response.status_code == 302
    image = ProductImage.objects.get(product=product)
    assert (image.width, image.height) == (20, 10)

    served = merchant_client.get(
        reverse("catalog:image_file", kwargs={"product_id": product.pk, "image_id": image.pk})
    )
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    body = b"".join(served.streaming_content)
    assert body.startswith(b"\x89PNG")
    assert Image.open(io.BytesIO(body)).size == (20, 10)


def test_uploading_a_non_image_shows_a_clear_error(merchant_client, product):
    url = reverse("catalog:image_upload", kwargs={"product_id": product.pk})
    upload = SimpleUploadedFile("notes.png", b"just some text", content_type="image/png")
    response = merchant_client.post(url, {"image": upload})
    page = response.content.decode()
    assert response.status_code == 200
    assert "This is not an image we can read (JPEG, PNG, WebP or GIF)." in page
    assert not ProductImage.objects.exists()


def test_image_delete(merchant_client, product, image):
    url = reverse("catalog:image_delete", kwargs={"product_id": product.pk, "image_id": image.pk})
    response = merchant_client.post(url, **HTMX)
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<section id="images"')
    assert not ProductImage.objects.exists()


# --- Imports -----------------------------------------------------------------------------------


def test_import_page_lists_past_imports(merchant_client, job):
    page = merchant_client.get(reverse("catalog:import_list")).content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert job.get_absolute_url() in page
    assert "catalog.csv" in page


def test_import_upload_redirects_to_the_job(merchant_client, merchant_account):
    response = merchant_client.post(
        reverse("catalog:import_list"), {"file": csv_upload("sku,name\nA-1,Mug\n")}
    )
    job = ImportJob.objects.get(merchant=merchant_account.merchant)
    assert response.status_code == 302
    assert response["Location"] == job.get_absolute_url()
    assert job.created_by == merchant_account.user


def test_import_upload_with_a_bad_extension_shows_a_clear_error(merchant_client):
    response = merchant_client.post(
        reverse("catalog:import_list"),
        {"file": SimpleUploadedFile("catalog.xlsx", b"PK\x03\x04", content_type="application/zip")},
    )
    assert response.status_code == 200
    assert "Upload a .csv or .jsonl (JSON Lines) file." in response.content.decode()
    assert not ImportJob.objects.exists()


def test_import_upload_without_a_file(merchant_client):
    response = merchant_client.post(reverse("catalog:import_list"), {})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()


def test_import_detail_polls_while_the_job_runs(merchant_client, job):
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, total=4, done=1)
    page = merchant_client.get(job.get_absolute_url())
    assert page.status_code == 200
    assert 'hx-trigger="every 1s"' in page.content.decode()
    assert "1 of 4 rows (25%)" in page.content.decode()

    poll = merchant_client.get(job.get_absolute_url(), **HTMX)
    body = poll.content.decode()
    assert poll.status_code == 200
    assert body.lstrip().startswith('<section id="import-progress"')
    assert "<html" not in body
    assert 'hx-trigger="every 1s"' in body


def test_import_detail_poll_answers_286_when_finished(merchant_client, job):
    services.import_job_run(job_id=job.pk)
    poll = merchant_client.get(job.get_absolute_url(), **HTMX)
    body = poll.content.decode()
    assert poll.status_code == 286
    assert 'hx-trigger="every 1s"' not in body
    assert "Succeeded" in body
    assert reverse("catalog:product_list") in body  # a link to the catalog

    page = merchant_client.get(job.get_absolute_url())
    assert page.status_code == 200
    assert 'hx-trigger="every 1s"' not in page.content.decode()


def test_cancel_button_while_the_job_runs(merchant_client, job):
    page = merchant_client.get(job.get_absolute_url()).content.decode()
    cancel_url = reverse("catalog:import_cancel", kwargs={"import_id": job.pk})
    assert f'action="{cancel_url}"' in page

    response = merchant_client.post(cancel_url, follow=True)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    page = response.content.decode()
    assert "Import cancelled." in page
    assert f'action="{cancel_url}"' not in page
    assert 'hx-trigger="every 1s"' not in page

    again = merchant_client.post(cancel_url, follow=True).content.decode()
    assert "This import has already finished." in again


def test_finished_poll_removes_the_cancel_button(merchant_client, job):
    services.import_job_run(job_id=job.pk)
    poll = merchant_client.get(job.get_absolute_url(), **HTMX).content.decode()
    assert '<div id="import-cancel" hx-swap-oob="true"></div>' in poll


def test_import_detail_shows_the_error_report(merchant_client, merchant_account):
    job = services.import_job_create(
        merchant=merchant_account.merchant,
        upload=csv_upload("sku,name\nA-1,\n,No sku\n"),
        enqueue=False,
    )
    services.import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    page = merchant_client.get(job.get_absolute_url()).content.decode()
    assert "Failed" in page
    assert "nothing was imported" in page
    for error in job.errors:
        assert f'<td class="num">{error["row"]}</td>' in page


# --- Tenant walls ------------------------------------------------------------------------------

VIEWS = [
    ("catalog:product_detail", "get", ("product_id",)),
    ("catalog:product_detail", "post", ("product_id",)),
    ("catalog:product_delete", "post", ("product_id",)),
    ("catalog:attribute_add", "post", ("product_id",)),
    ("catalog:attribute_remove", "post", ("product_id", "attribute_id")),
    ("catalog:image_upload", "post", ("product_id",)),
    ("catalog:image_file", "get", ("product_id", "image_id")),
    ("catalog:image_delete", "post", ("product_id", "image_id")),
    ("catalog:import_detail", "get", ("import_id",)),
    ("catalog:import_cancel", "post", ("import_id",)),
]


@pytest.fixture
def rival_rows(other_merchant_account):
    product = services.product_create(
        merchant=other_merchant_account.merchant,
        sku="R-1",
        name="Rival thing",
        attributes=[("a", "b")],
    )
    image = services.product_image_add(
        product=product, upload=SimpleUploadedFile("r.png", png_bytes(), content_type="image/png")
    )
    job = services.import_job_create(
        merchant=other_merchant_account.merchant,
        upload=csv_upload("sku,name\nR-2,x\n"),
        enqueue=False,
    )
    return {
        "product_id": product.pk,
        "attribute_id": product.attributes.get().pk,
        "image_id": image.pk,
        "import_id": job.pk,
    }


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize(("name", "method", "kwargs"), VIEWS)
def test_another_merchants_rows_answer_404(
    merchant_client, rival_rows, name, method, kwargs, htmx
):
    url = reverse(name, kwargs={k: rival_rows[k] for k in kwargs})
    data = {"sku": "HACK", "name": "hacked", "key": "k", "value": "v", "language": "en"}
    extra = HTMX if htmx else {}
    response = (
        merchant_client.get(url, **extra)
        if method == "get"
        else merchant_client.post(url, data, **extra)
    )
    assert response.status_code == 404
    rival = Product.objects.get(pk=rival_rows["product_id"])
    assert (rival.sku, rival.name, rival.attributes.count(), rival.images.count()) == (
        "R-1",
        "Rival thing",
        1,
        1,
    )


def test_own_product_with_another_merchants_attribute_or_image_is_404(
    merchant_client, product, rival_rows
):
    for name, key in (("catalog:attribute_remove", "attribute_id"), ("catalog:image_delete", "image_id")):
        url = reverse(name, kwargs={"product_id": product.pk, key: rival_rows[key]})
        assert merchant_client.post(url).status_code == 404
    url = reverse(
        "catalog:image_file", kwargs={"product_id": product.pk, "image_id": rival_rows["image_id"]}
    )
    assert merchant_client.get(url).status_code == 404


def test_another_merchants_rows_never_show_in_lists(merchant_client, product, rival_rows):
    catalog = merchant_client.get(reverse("catalog:product_list"), {"q": "R"}).content.decode()
    assert "Rival thing" not in catalog
    imports = merchant_client.get(reverse("catalog:import_list")).content.decode()
    assert f'href="/imports/{rival_rows["import_id"]}/"' not in imports
