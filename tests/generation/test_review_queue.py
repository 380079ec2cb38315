"""Copy across the catalog: the review queue, the catalog's copy status, bulk jobs and the export."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog import services as catalog_services
from catalog.models import JobStatus
from generation import services
from generation.models import Draft, DraftRevision, DraftStatus, GenerationJob, ModelVersion, TrainingExample
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
QUEUE = "/review/"

CLEAN = "Apple iPhone 13 with the A15 Bionic chip"
UNGROUNDED = "Apple iPhone 13 with the A16 chip"
BANNED = "Cheap Apple iPhone 13"  # "cheap" is on the merchant's banned words


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def client(merchant_account) -> Client:
    client = Client()
    assert client.login(username="acme", password=PASSWORD)
    return client


@pytest.fixture
def merchant(merchant_account):
    services.copy_settings_update(merchant=merchant_account.merchant, banned_words=["cheap"])
    return merchant_account.merchant


def make_product(merchant, sku: str, *, name: str = "iPhone 13", language: str = "en", attributes=None):
    if attributes is None:
        attributes = [("brand", "Apple"), ("model", "iPhone 13"), ("chip", "A15 Bionic")]
    return catalog_services.product_create(
        merchant=merchant, sku=sku, name=name, category="phones", language=language, attributes=attributes
    )


@pytest.fixture
def product(merchant):
    return make_product(merchant, "PHONE-13")


def make_draft(product, text: str, *, field: str = "title", age: int = 0, **extra) -> Draft:
    """A checked waiting draft with its generated revision, written `age` minutes ago."""
    draft = Draft.objects.create(
        product=product,
        field=field,
        language=extra.pop("language", product.language),
        text=text,
        source_attributes=[[a.key, a.value] for a in product.attributes.all()],
        **extra,
    )
    services._recheck(draft)
    draft.save()
    DraftRevision.objects.create(draft=draft, version=1, text=text)
    if age:
        written = timezone.now() - timedelta(minutes=age)
        Draft.objects.filter(pk=draft.pk).update(created_at=written, updated_at=written)
        draft.refresh_from_db()
    return draft


def shown(html: str) -> list[int]:
    """The ids of the drafts in the queue, in page order."""
    return [int(pk) for pk in re.findall(r'id="queue-draft-(\d+)"', html)]


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- The queue ------------------------------------------------------------------------------------


@pytest.fixture
def queue(merchant, product, merchant_account, other_merchant_account):
    """Waiting drafts of every kind, decided ones, and another merchant's."""
    shared = ModelVersion.objects.create(language="en", name="base-en", base_model="/base-en")
    own = ModelVersion.objects.create(
        merchant=merchant, language="en", kind="adapter", name="acme-adapter", base_model="/base-en"
    )
    bag = make_product(merchant, "BAG-1", name="背包", language="zh", attributes=[("材质", "尼龙")])
    drafts = {
        "clean": make_draft(product, CLEAN, age=50, model_version=shared),
        "ungrounded": make_draft(product, UNGROUNDED, field="description", age=40, channel="amazon"),
        "rules": make_draft(product, BANNED, field="ad_copy", age=30, model_version=own),
        "chinese": make_draft(bag, "尼龙背包", age=60),
        "accepted": make_draft(product, CLEAN, field="tags", age=70),
        "rejected": make_draft(product, CLEAN, field="bullets", age=80),
    }
    services.draft_accept(draft=drafts["accepted"], user=merchant_account.user, version=1)
    services.draft_reject(draft=drafts["rejected"], user=merchant_account.user, version=1)
    stranger = make_product(other_merchant_account.merchant, "OTHER-1")
    drafts["other"] = make_draft(stranger, "Apple iPhone 13 of someone else", age=90)
    # What the filters below rely on.
    assert (drafts["clean"].has_ungrounded, drafts["clean"].violations) == (False, [])
    assert drafts["ungrounded"].has_ungrounded and not drafts["ungrounded"].violations
    assert not drafts["rules"].has_ungrounded and drafts["rules"].violations
    assert (drafts["chinese"].has_ungrounded, drafts["chinese"].violations) == (False, [])
    return drafts


def test_the_queue_lists_waiting_drafts_of_the_merchant_oldest_first(client, queue) -> None:
    response = client.get(QUEUE)
    assert response.status_code == 200
    html = response.content.decode()
    assert shown(html) == [queue[k].pk for k in ("chinese", "clean", "ungrounded", "rules")]
    assert "4 drafts waiting" in html
    assert "someone else" not in html and "OTHER-1" not in html
    assert "Accept all 2 drafts with no problems" in html
    # Every waiting draft can be decided from here, at the version shown.
    assert html.count('<input type="hidden" name="view" value="queue">') == 4


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"field": "title"}, ["chinese", "clean"]),
        ({"language": "zh"}, ["chinese"]),
        ({"channel": "amazon"}, ["ungrounded"]),
        ({"problems": "ungrounded"}, ["ungrounded"]),
        ({"problems": "rules"}, ["rules"]),
        ({"problems": "clean"}, ["chinese", "clean"]),
        ({"field": "title", "language": "en"}, ["clean"]),
        ({"field": "bogus", "language": "xx", "problems": "worst", "model": "abc"}, None),
        ({"model": "99999999999999999999"}, []),
    ],
)
def test_the_queue_filters(client, queue, query, expected) -> None:
    response = client.get(QUEUE, query)
    assert response.status_code == 200
    html = response.content.decode()
    if expected is None:  # unknown values are ignored, as if not given
        expected = ["chinese", "clean", "ungrounded", "rules"]
        assert "Clear</a>" not in html
    else:
        assert "Clear</a>" in html
    assert shown(html) == [queue[k].pk for k in expected]


def test_the_queue_filters_by_model(client, queue) -> None:
    shared = queue["clean"].model_version
    html = client.get(QUEUE, {"model": str(shared.pk)}).content.decode()
    assert shown(html) == [queue["clean"].pk]
    assert f'<option value="{shared.pk}" selected>base-en (en)</option>' in html
    assert "acme-adapter (en)" in html  # both models that wrote the merchant's drafts are offered


def test_the_queue_for_htmx_is_the_list_alone(client, queue) -> None:
    response = client.get(QUEUE, {"problems": "clean"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="queue"') and "<html" not in html
    assert shown(html) == [queue["chinese"].pk, queue["clean"].pk]
    assert '<input type="hidden" name="problems" value="clean">' in html  # kept for the decisions


def test_the_queue_pages(client, product) -> None:
    drafts = [make_draft(product, CLEAN, age=100 - i) for i in range(23)]
    first = client.get(QUEUE).content.decode()
    assert shown(first) == [d.pk for d in drafts[:20]]
    assert "Page 1 of 2" in first
    second = client.get(QUEUE, {"page": "2"}).content.decode()
    assert shown(second) == [d.pk for d in drafts[20:]]
    assert shown(client.get(QUEUE, {"page": "x"}).content.decode()) == shown(first)


def test_an_empty_queue(client, merchant) -> None:
    html = client.get(QUEUE).content.decode()
    assert "Nothing waiting: every draft has a decision." in html
    assert "with no problems" not in html
    assert "No drafts match these filters." in client.get(QUEUE, {"channel": "nowhere"}).content.decode()


# --- Deciding in the queue ------------------------------------------------------------------------


def test_accepting_in_the_queue_answers_the_decided_item(client, queue, merchant_account) -> None:
    draft = queue["clean"]
    response = client.post(
        reverse("generation:draft_decide", kwargs={"draft_id": draft.pk}),
        {"action": "accept", "version": "1", "view": "queue", "problems": "clean"},
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<li class="queue-item queue-item--decided" id="queue-draft-{draft.pk}"')
    assert '<span class="badge badge--succeeded" role="status">Accepted</span>' in html
    assert "data-accept" not in html
    draft.refresh_from_db()
    assert draft.status == DraftStatus.ACCEPTED and draft.decided_by == merchant_account.user
    assert TrainingExample.objects.get(draft=draft).source == TrainingExample.Source.ACCEPTED


def test_rejecting_in_the_queue_without_htmx_goes_back_with_the_filters(client, queue) -> None:
    draft = queue["ungrounded"]
    response = client.post(
        reverse("generation:draft_decide", kwargs={"draft_id": draft.pk}),
        {"action": "reject", "version": "1", "view": "queue", "problems": "ungrounded", "field": "nope"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{QUEUE}?problems=ungrounded"
    assert messages_of(response) == ["Draft rejected."]
    draft.refresh_from_db()
    assert draft.status == DraftStatus.REJECTED
    assert draft.pk not in shown(client.get(response["Location"]).content.decode())


def test_a_queue_decision_on_a_changed_draft_answers_the_item_as_it_is_now(
    client, queue, merchant_account
) -> None:
    draft = queue["clean"]
    services.draft_edit(draft=draft, user=merchant_account.user, version=1, text="Apple iPhone 13")
    decide = reverse("generation:draft_decide", kwargs={"draft_id": draft.pk})
    response = client.post(
        decide, {"action": "accept", "version": "1", "view": "queue", "field": "title"}, **HTMX
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert html.lstrip().startswith(f'<li class="queue-item" id="queue-draft-{draft.pk}"')
    assert "Someone else changed this draft while you were reviewing" in html
    assert "Apple iPhone 13</div>" in html  # the current text
    assert '<input type="hidden" name="version" value="2">' in html  # decide again on what is shown
    assert '<input type="hidden" name="field" value="title">' in html
    draft.refresh_from_db()
    assert (draft.status, draft.version) == (DraftStatus.PROPOSED, 2)

    page = client.post(decide, {"action": "accept", "version": "1", "view": "queue", "field": "title"})
    assert page.status_code == 302 and page["Location"] == f"{QUEUE}?field=title"
    assert "Someone else changed this draft" in messages_of(page)[-1]

    services.draft_reject(draft=draft, user=merchant_account.user, version=2)
    late = client.post(decide, {"action": "accept", "version": "2", "view": "queue"}, **HTMX)
    assert late.status_code == 409
    assert "queue-item--decided" in late.content.decode() and "Rejected" in late.content.decode()
    assert not TrainingExample.objects.filter(draft=draft).exists()


def test_an_incomplete_queue_decision_is_refused_in_the_item(client, queue) -> None:
    draft = queue["clean"]
    response = client.post(
        reverse("generation:draft_decide", kwargs={"draft_id": draft.pk}),
        {"action": "publish", "version": "1", "view": "queue"},
        **HTMX,
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert f'id="queue-draft-{draft.pk}"' in html and "incomplete" in html
    draft.refresh_from_db()
    assert draft.status == DraftStatus.PROPOSED


# --- Accepting every clean draft ------------------------------------------------------------------


def _as_of(html: str) -> str:
    return re.search(r'name="as_of" value="([^"]+)"', html).group(1)


def test_accepting_the_clean_drafts_leaves_problems_and_later_edits(client, queue, merchant_account) -> None:
    late = make_draft(queue["clean"].product, "Apple iPhone 13", field="seo_meta", age=20)
    as_of = _as_of(client.get(QUEUE).content.decode())
    services.draft_edit(draft=late, user=merchant_account.user, version=1, text="Apple iPhone 13, A15 Bionic")

    response = client.post(reverse("generation:review_accept_clean"), {"as_of": as_of})
    assert response.status_code == 302 and response["Location"] == QUEUE
    assert messages_of(response) == [
        "2 drafts accepted.",
        "1 draft changed while you were looking and was left for you to review.",
    ]
    statuses = dict(Draft.objects.values_list("pk", "status"))
    assert statuses[queue["clean"].pk] == statuses[queue["chinese"].pk] == DraftStatus.ACCEPTED
    for waiting in (queue["ungrounded"], queue["rules"], late, queue["other"]):
        assert statuses[waiting.pk] == DraftStatus.PROPOSED
    assert TrainingExample.objects.filter(draft__in=[queue["clean"], queue["chinese"]]).count() == 2
    assert Draft.objects.get(pk=queue["clean"].pk).decided_by == merchant_account.user


def test_accepting_the_clean_drafts_keeps_to_the_filter(client, queue) -> None:
    as_of = _as_of(client.get(QUEUE, {"language": "zh"}).content.decode())
    response = client.post(reverse("generation:review_accept_clean"), {"as_of": as_of, "language": "zh"})
    assert response["Location"] == f"{QUEUE}?language=zh"
    assert messages_of(response) == ["1 draft accepted."]
    assert list(Draft.objects.filter(status=DraftStatus.ACCEPTED, language="zh")) == [queue["chinese"]]
    assert Draft.objects.get(pk=queue["clean"].pk).status == DraftStatus.PROPOSED


@pytest.mark.parametrize(
    "as_of", [None, "", "yesterday", "2030-01-01T10:00:00", "2030-13-45T10:00:00+00:00", "2030-02-30"]
)
def test_accepting_the_clean_drafts_with_a_bad_time_accepts_nothing(client, queue, as_of) -> None:
    data = {"field": "title"} | ({} if as_of is None else {"as_of": as_of})
    response = client.post(reverse("generation:review_accept_clean"), data)
    assert response.status_code == 302 and response["Location"] == f"{QUEUE}?field=title"
    assert messages_of(response) == ["That request was incomplete; nothing was accepted."]
    assert Draft.objects.filter(status=DraftStatus.ACCEPTED).count() == 1  # the fixture's own


def test_the_queue_of_another_merchant_shows_none_of_ours(queue, other_merchant_account) -> None:
    other = Client()
    other.force_login(other_merchant_account.user)
    html = other.get(QUEUE).content.decode()
    assert shown(html) == [queue["other"].pk]
    assert "acme-adapter" not in html
    as_of = _as_of(html)
    response = other.post(reverse("generation:review_accept_clean"), {"as_of": as_of})
    assert messages_of(response)[0] == "1 draft accepted."
    assert Draft.objects.get(pk=queue["clean"].pk).status == DraftStatus.PROPOSED


# --- The catalog's copy status --------------------------------------------------------------------


def _status_of(html: str, product) -> str:
    row = re.search(
        rf'<tr>\s*<td class="select-col"><input[^>]*value="{product.pk}".*?</tr>', html, re.DOTALL
    )
    assert row, f"{product.sku} is not listed"
    return re.search(r'class="copy-status copy-status--(\w+)"', row.group(0)).group(1)


@pytest.fixture
def catalog(merchant, merchant_account):
    """One product for each copy status, and two whose accepted copy met an attribute change."""
    user = merchant_account.user
    products = {
        name: make_product(merchant, f"SKU-{name.upper()}")
        for name in ("none", "waiting", "accepted", "stale", "changed", "same")
    }
    make_draft(products["waiting"], CLEAN)
    for name in ("accepted", "stale", "changed", "same"):
        services.draft_accept(draft=make_draft(products[name], CLEAN), user=user, version=1)
    catalog_services.product_attribute_add(product=products["stale"], key="colour", value="Blue")
    catalog_services.product_attribute_add(product=products["changed"], key="chip", value="A16 Bionic")
    catalog_services.product_attribute_add(product=products["same"], key="chip", value="A15 Bionic")
    return products


def test_the_catalog_shows_each_products_copy_status(client, catalog) -> None:
    html = client.get(reverse("catalog:product_list")).content.decode()
    assert {name: _status_of(html, p) for name, p in catalog.items()} == {
        "none": "none",
        "waiting": "waiting",
        "accepted": "accepted",
        "stale": "stale",
        "changed": "stale",
        "same": "accepted",  # the same value again changes no fact
    }
    assert "Accepted, but stale</a>" in html and "No copy</a>" in html and "Draft waiting</a>" in html


@pytest.mark.parametrize(
    ("change", "stale"),
    [
        ({"name": "iPhone 13 Pro"}, True),
        ({"category": "refurbished"}, True),
        ({"attributes": [("brand", "Apple"), ("model", "iPhone 13")]}, True),
        ({"attributes": [("brand", "Apple"), ("model", "iPhone 13"), ("chip", "A15 Bionic")]}, False),
        ({"sku": "PHONE-13B", "language": "zh"}, False),  # not what the copy is written from
    ],
)
def test_changing_the_facts_on_the_product_page_makes_copy_stale(
    client, product, merchant_account, change, stale
):
    services.draft_accept(draft=make_draft(product, CLEAN), user=merchant_account.user, version=1)
    catalog_services.product_update(product=product, **change)
    html = client.get(reverse("catalog:product_list")).content.decode()
    assert _status_of(html, product) == ("stale" if stale else "accepted")


def test_removing_an_attribute_makes_copy_stale(client, product, merchant_account) -> None:
    services.draft_accept(draft=make_draft(product, CLEAN), user=merchant_account.user, version=1)
    catalog_services.product_attribute_remove(attribute=product.attributes.get(key="chip"))
    assert _status_of(client.get(reverse("catalog:product_list")).content.decode(), product) == "stale"


def test_a_waiting_draft_outranks_stale_copy(client, catalog) -> None:
    make_draft(catalog["stale"], CLEAN, field="description")
    html = client.get(reverse("catalog:product_list")).content.decode()
    assert _status_of(html, catalog["stale"]) == "waiting"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("stale", {"stale", "changed"}),
        ("accepted", {"accepted", "same"}),
        ("waiting", {"waiting"}),
        ("none", {"none"}),
        ("bogus", {"none", "waiting", "accepted", "stale", "changed", "same"}),
    ],
)
def test_the_catalog_filters_by_copy_status(client, catalog, status, expected) -> None:
    for headers in ({}, HTMX):
        response = client.get(reverse("catalog:product_list"), {"status": status}, **headers)
        html = response.content.decode()
        listed = {name for name, p in catalog.items() if f'value="{p.pk}" form="bulk-form"' in html}
        assert listed == expected
    assert html.lstrip().startswith('<section id="results"')  # the htmx answer is the list alone
    if status != "bogus":
        assert f'<input type="hidden" name="status" value="{status}">' in html


# --- Many products at once ------------------------------------------------------------------------


def test_the_generate_page_for_ticked_products(client, catalog, other_merchant_account) -> None:
    a, b = catalog["none"], catalog["stale"]
    theirs = catalog_services.product_create(
        merchant=other_merchant_account.merchant, sku="THEIRS-1", name="Their secret product"
    )
    response = client.get(
        reverse("generation:bulk_generate"),
        {"scope": "selected", "product": [a.pk, b.pk, a.pk, "x", theirs.pk]},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 products selected." in html and "Their secret product" not in html
    ticked = re.findall(r'<input type="hidden" name="product" value="(\d+)">', html)
    assert sorted(ticked) == sorted([str(a.pk), str(b.pk)])
    assert a.sku in html and b.sku in html and catalog["waiting"].sku not in html


def test_the_generate_page_for_every_match(client, catalog) -> None:
    html = client.get(
        reverse("generation:bulk_generate"), {"scope": "all", "status": "stale", "q": "", "product": "1"}
    ).content.decode()
    assert "All 2 products matching the catalog filter." in html
    assert '<input type="hidden" name="scope" value="all">' in html
    assert '<input type="hidden" name="status" value="stale">' in html
    assert 'name="product"' not in html
    assert catalog["stale"].sku in html and catalog["changed"].sku in html


def test_the_generate_page_with_nothing_ticked(client, catalog) -> None:
    html = client.get(reverse("generation:bulk_generate"), {"scope": "selected"}).content.decode()
    assert "No products selected." in html and '<form method="post"' not in html


def test_writing_copy_for_ticked_products_makes_one_job(
    client, catalog, merchant_account, django_capture_on_commit_callbacks
) -> None:
    picked = [catalog["none"], catalog["waiting"], catalog["stale"]]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            reverse("generation:bulk_generate"),
            {
                "product": [p.pk for p in picked],
                "fields": ["title", "tags"],
                "tone": "luxury",
                "length": "short",
                "channel": "generic",
            },
        )
    job = GenerationJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("generation:generation_job_detail", kwargs={"job_id": job.pk})
    assert set(job.products.all()) == set(picked)
    assert (job.fields, job.tone, job.length, job.total) == (["title", "tags"], "luxury", "short", 6)
    assert job.created_by == merchant_account.user and job.status == JobStatus.QUEUED
    assert len(callbacks) == 1  # queued once the job row is committed


def test_writing_copy_for_every_match_of_the_filter(client, catalog) -> None:
    response = client.post(
        reverse("generation:bulk_generate"),
        {
            "scope": "all",
            "status": "accepted",
            "fields": ["description"],
            "tone": "professional",
            "length": "medium",
            "channel": "generic",
            "product": [catalog["none"].pk],
        },
    )
    job = GenerationJob.objects.get()
    assert response.status_code == 302
    assert set(job.products.all()) == {catalog["accepted"], catalog["same"]}


def test_writing_copy_with_bad_options_or_anothers_product_makes_no_job(
    client, catalog, other_merchant_account
) -> None:
    stranger = make_product(other_merchant_account.merchant, "OTHER-1")
    options = {"fields": ["title"], "tone": "professional", "length": "medium", "channel": "generic"}
    no_fields = client.post(
        reverse("generation:bulk_generate"), {**options, "fields": [], "product": [catalog["none"].pk]}
    )
    assert no_fields.status_code == 200 and "This field is required." in no_fields.content.decode()
    foreign = client.post(
        reverse("generation:bulk_generate"), {**options, "product": [catalog["none"].pk, stranger.pk]}
    )
    assert foreign.status_code == 200
    assert f"No product with id {stranger.pk} in your catalog." in foreign.content.decode()
    assert "OTHER-1" not in foreign.content.decode()
    assert not GenerationJob.objects.exists()


# --- A job's page ---------------------------------------------------------------------------------


@pytest.fixture
def job(catalog, merchant):
    job = services.generation_job_create(
        merchant=merchant,
        product_ids=[catalog["none"].pk, catalog["stale"].pk],
        fields=["title"],
        enqueue=False,
    )
    make_draft(catalog["none"], "Apple <b>iPhone</b> 13", job=job)
    make_draft(catalog["stale"], UNGROUNDED, job=job)
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, done=2, total=2)
    job.refresh_from_db()
    return job


def test_the_job_page_shows_its_drafts_and_polls_until_finished(client, job, catalog) -> None:
    detail = reverse("generation:generation_job_detail", kwargs={"job_id": job.pk})
    page = client.get(detail)
    assert page.status_code == 200
    html = page.content.decode()
    assert f"Copy job {job.pk}" in html and "2 of 2 drafts" in html
    assert "Apple &lt;b&gt;iPhone&lt;/b&gt; 13" in html and "<b>iPhone</b>" not in html
    assert catalog["none"].sku in html and "unsupported claims" in html
    assert 'hx-trigger="every 1s"' in html and "Cancel the job" in html

    running = client.get(detail, **HTMX)
    assert running.status_code == 200
    assert running.content.decode().lstrip().startswith('<div id="job"')
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED)
    finished = client.get(detail, **HTMX)
    assert finished.status_code == 286
    assert "every 1s" not in finished.content.decode() and "Cancel the job" not in finished.content.decode()
    assert client.get(detail).status_code == 200  # the full page of a finished job is a plain 200


def test_cancelling_a_job(client, job) -> None:
    cancel = reverse("generation:generation_job_cancel", kwargs={"job_id": job.pk})
    detail = reverse("generation:generation_job_detail", kwargs={"job_id": job.pk})
    response = client.post(cancel)
    assert response.status_code == 302 and response["Location"] == detail
    assert messages_of(response) == ["Job cancelled. Drafts already written are kept."]
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.drafts.count() == 2
    again = client.post(cancel)
    assert messages_of(again)[-1] == "This job has already finished."
    assert client.get(cancel).status_code == 405


def test_a_missing_job_is_not_found(client, merchant) -> None:
    assert (
        client.get(reverse("generation:generation_job_detail", kwargs={"job_id": 999999})).status_code == 404
    )
    assert client.get("/copy/jobs/abc/").status_code == 404


# --- The export -----------------------------------------------------------------------------------


def test_the_export_streams_accepted_copy_as_csv(
    client, catalog, merchant_account, other_merchant_account
) -> None:
    stranger = make_product(other_merchant_account.merchant, "OTHER-1")
    services.draft_accept(draft=make_draft(stranger, CLEAN), user=other_merchant_account.user, version=1)
    response = client.get(reverse("generation:copy_export"), {"format": "csv"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(
        'attachment; filename="shop-copilot-copy-acme-outfitters-'
    )
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeffsku,product_name,")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert sorted(r["sku"] for r in rows) == ["SKU-ACCEPTED", "SKU-CHANGED", "SKU-SAME", "SKU-STALE"]
    assert {(r["field"], r["text"], r["accepted_by"]) for r in rows} == {("title", CLEAN, "acme")}


def test_an_unknown_export_format_goes_back_to_the_catalog(client, merchant) -> None:
    response = client.get(reverse("generation:copy_export"), {"format": "xml"})
    assert response.status_code == 302 and response["Location"] == reverse("catalog:product_list")
    assert messages_of(response) == ["Unknown export format 'xml'; choose one of: csv, jsonl."]
    bad_field = client.get(reverse("generation:copy_export"), {"format": "csv", "field": "price"})
    assert bad_field.status_code == 302 and "Unknown field 'price'" in messages_of(bad_field)[-1]
