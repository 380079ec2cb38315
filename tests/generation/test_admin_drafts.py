"""The draft admin as a review tool: filters, the grounding report, links and bulk decisions."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from catalog import services as catalog_services
from generation import services
from generation.models import Draft, DraftRevision, DraftStatus, ModelVersion, TrainingExample

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:generation_draft_changelist"
TEXT = "Bright lamp <script>alert(1)</script> rated 9000 lumens."
CLAIM_REASON = "No attribute gives 9000 lumens"
RULE_REASON = "Markup such as <script> is not allowed"


@pytest.fixture
def product(merchant_account):
    return catalog_services.product_create(
        merchant=merchant_account.merchant,
        sku="LAMP-1",
        name="Desk lamp",
        attributes=[("brand", "Lumo"), ("colour", "white")],
    )


@pytest.fixture
def other_product(other_merchant_account):
    return catalog_services.product_create(
        merchant=other_merchant_account.merchant, sku="BOLT-1", name="Bolt cutter"
    )


def make_draft(product, text: str = "A plain desk lamp.", **extra) -> Draft:
    values = {
        "field": "title",
        "language": "en",
        "source_attributes": [[a.key, a.value] for a in product.attributes.all()],
        **extra,
    }
    return Draft.objects.create(product=product, text=text, **values)


def flagged_draft(product, **extra) -> Draft:
    claim_start = TEXT.index("9000 lumens")
    rule_start = TEXT.index("<script>")
    rule_end = TEXT.index("</script>") + len("</script>")
    return make_draft(
        product,
        TEXT,
        has_ungrounded=True,
        grounding={
            "coverage": 0.5,
            "used": ["brand"],
            "unused": ["colour"],
            "claims": 1,
            "ungrounded": [
                {
                    "start": claim_start,
                    "end": claim_start + len("9000 lumens"),
                    "text": "9000 lumens",
                    "reason": CLAIM_REASON,
                    "kind": "number",
                }
            ],
        },
        violations=[
            {
                "start": rule_start,
                "end": rule_end,
                "text": TEXT[rule_start:rule_end],
                "reason": RULE_REASON,
                "kind": "rule",
            }
        ],
        **extra,
    )


def changelist_pks(client: Client, **params) -> set[int]:
    response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    return {draft.pk for draft in response.context["cl"].queryset}


def post_action(client: Client, action: str, drafts) -> str:
    response = client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [draft.pk for draft in drafts]},
        follow=True,
    )
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def staff_client(other_merchant_account) -> Client:
    """Merchant B's staff user, allowed to view and decide on drafts."""
    user = other_merchant_account.user
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="generation",
            codename__in=["view_draft", "change_draft", "view_draftrevision"],
        )
    )
    client = Client()
    client.force_login(user)
    return client


# --- the changelist ---------------------------------------------------------------------------


def test_superuser_filters_drafts(admin_client, product, other_product, merchant_account) -> None:
    adapter = ModelVersion.objects.create(
        merchant=merchant_account.merchant,
        language="en",
        kind=ModelVersion.Kind.ADAPTER,
        name="Acme adapter",
        base_model="/models/base",
    )
    flagged = flagged_draft(product, model_version=adapter)
    plain = make_draft(product, field="description", channel="amazon", status=DraftStatus.REJECTED)
    chinese = make_draft(other_product, language="zh", text="台灯")

    assert changelist_pks(admin_client) == {flagged.pk, plain.pk, chinese.pk}
    assert changelist_pks(admin_client, has_ungrounded__exact="1") == {flagged.pk}
    assert changelist_pks(admin_client, has_ungrounded__exact="0") == {plain.pk, chinese.pk}
    merchant_id = merchant_account.merchant.pk
    assert changelist_pks(admin_client, product__merchant__id__exact=merchant_id) == {flagged.pk, plain.pk}
    assert changelist_pks(admin_client, status__exact="rejected") == {plain.pk}
    assert changelist_pks(admin_client, field__exact="description") == {plain.pk}
    assert changelist_pks(admin_client, language__exact="zh") == {chinese.pk}
    assert changelist_pks(admin_client, channel="amazon") == {plain.pk}
    assert changelist_pks(admin_client, model_version__id__exact=adapter.pk) == {flagged.pk}


def test_superuser_sidebar_and_columns(admin_client, product, other_product) -> None:
    draft = flagged_draft(product)
    body = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert "Acme Outfitters" in body and "Bolt Supplies" in body  # the merchant filter
    assert "has ungrounded claims" in body
    assert f'href="{reverse("admin:catalog_product_change", args=[product.pk])}"' in body
    assert f'href="{reverse("admin:generation_draft_change", args=[draft.pk])}"' in body
    assert "Accept the selected drafts" in body and "Reject the selected drafts" in body


# --- the change page --------------------------------------------------------------------------


def test_change_page_marks_spans_escaped_with_reasons(admin_client, product, merchant_account) -> None:
    job = services.generation_job_create(
        merchant=merchant_account.merchant,
        product_ids=[product.pk],
        fields=["title"],
        user=merchant_account.user,
        enqueue=False,
    )
    draft = flagged_draft(product, job=job)
    DraftRevision.objects.create(draft=draft, version=1, text=draft.text, author=merchant_account.user)

    response = admin_client.get(reverse("admin:generation_draft_change", args=[draft.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<script>alert" not in body
    assert f'title="{CLAIM_REASON}">9000 lumens</mark>' in body
    assert (
        '<mark class="flag flag--rule" title="Markup such as &lt;script&gt; is not allowed">'
        "&lt;script&gt;alert(1)&lt;/script&gt;</mark>"
    ) in body
    assert f"<li>'9000 lumens': {CLAIM_REASON}</li>" in body
    assert (
        "<li>'&lt;script&gt;alert(1)&lt;/script&gt;': Markup such as &lt;script&gt; is not allowed</li>"
    ) in body
    assert "50%" in body
    assert ">brand<" in body and ">colour<" in body
    # Links: the copy editor, the product's and the job's admin pages; the revisions' author.
    assert f'href="{reverse("generation:product_copy", kwargs={"product_id": product.pk})}"' in body
    assert f'href="{reverse("admin:catalog_product_change", args=[product.pk])}"' in body
    assert f'href="{reverse("admin:generation_generationjob_change", args=[job.pk])}"' in body
    assert merchant_account.user.username in body
    # Read-only: no save button, no editable text field.
    assert 'name="_save"' not in body
    assert 'name="text"' not in body


def test_change_page_without_job_or_problems(admin_client, product) -> None:
    draft = make_draft(product, grounding={"coverage": 1.0, "used": ["brand"], "unused": []})
    body = admin_client.get(reverse("admin:generation_draft_change", args=[draft.pk])).content.decode()
    assert "No unsupported claims and no channel-rule problems." in body
    assert not re.search(r"generationjob/\d+/change", body)
    assert "100%" in body


# --- bulk decisions ---------------------------------------------------------------------------


def test_bulk_accept_creates_training_examples_and_skips_decided(admin_client, product) -> None:
    first, second = make_draft(product), make_draft(product, field="description")
    decided = make_draft(product, field="tags", status=DraftStatus.REJECTED)

    body = post_action(admin_client, "accept_drafts", [first, second, decided])

    assert "2 drafts accepted; 1 skipped (not waiting for a decision)." in body
    for draft in (first, second):
        draft.refresh_from_db()
        assert draft.status == DraftStatus.ACCEPTED
        assert draft.decided_by.username == "admin"
        example = TrainingExample.objects.get(draft=draft)
        assert example.target_text == draft.text
        assert example.source == TrainingExample.Source.ACCEPTED
    decided.refresh_from_db()
    assert decided.status == DraftStatus.REJECTED
    assert not TrainingExample.objects.filter(draft=decided).exists()


def test_bulk_reject(admin_client, product) -> None:
    drafts = [make_draft(product), make_draft(product, field="description")]

    body = post_action(admin_client, "reject_drafts", drafts)

    assert "2 drafts rejected." in body
    assert set(Draft.objects.values_list("status", flat=True)) == {DraftStatus.REJECTED}
    assert not TrainingExample.objects.exists()


def test_single_accept_message(admin_client, product) -> None:
    body = post_action(admin_client, "accept_drafts", [make_draft(product)])
    assert "1 draft accepted." in body


# --- another merchant's staff ------------------------------------------------------------------


def test_staff_cannot_decide_on_another_merchants_drafts(staff_client, product, other_product) -> None:
    theirs = make_draft(product)
    own = make_draft(other_product)

    body = post_action(staff_client, "accept_drafts", [theirs, own])

    assert "1 draft accepted." in body
    theirs.refresh_from_db()
    own.refresh_from_db()
    assert theirs.status == DraftStatus.PROPOSED
    assert not TrainingExample.objects.filter(draft=theirs).exists()
    assert own.status == DraftStatus.ACCEPTED

    post_action(staff_client, "reject_drafts", [theirs])
    theirs.refresh_from_db()
    assert theirs.status == DraftStatus.PROPOSED


def test_staff_sidebar_shows_no_other_merchant(
    staff_client, product, other_product, merchant_account
) -> None:
    ModelVersion.objects.create(
        merchant=merchant_account.merchant,
        language="en",
        kind=ModelVersion.Kind.ADAPTER,
        name="Acme secret adapter",
        base_model="/models/base",
    )
    theirs = flagged_draft(product)
    own = make_draft(other_product)

    response = staff_client.get(reverse(CHANGELIST))
    body = response.content.decode()
    assert {d.pk for d in response.context["cl"].queryset} == {own.pk}
    assert "Acme Outfitters" not in body
    assert "Acme secret adapter" not in body
    assert "product__merchant" not in body
    assert "has ungrounded claims" in body
    # Filtering by another merchant by hand is refused, and A's draft page is not found.
    other_merchant = {"product__merchant__id__exact": merchant_account.merchant.pk}
    assert staff_client.get(reverse(CHANGELIST), other_merchant).status_code == 400
    page = staff_client.get(reverse("admin:generation_draft_change", args=[theirs.pk]), follow=True)
    assert page.redirect_chain[-1][0] == reverse("admin:index")


def test_staff_without_change_permission_cannot_decide(
    staff_client, other_merchant_account, other_product
) -> None:
    user = other_merchant_account.user
    user.user_permissions.remove(Permission.objects.get(codename="change_draft"))
    draft = make_draft(other_product)

    body = post_action(staff_client, "accept_drafts", [draft])

    assert "Accept the selected drafts" not in body
    draft.refresh_from_db()
    assert draft.status == DraftStatus.PROPOSED
    assert not TrainingExample.objects.exists()
