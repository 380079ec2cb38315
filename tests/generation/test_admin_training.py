"""The admin of the learning loop: training runs, trained models side by side, promote and roll back,
and retraining merchants from the merchant list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.models import JobStatus
from generation.models import ModelVersion, TrainingRun
from generation.training import PlannedRun

pytestmark = pytest.mark.django_db

VERSIONS = "admin:generation_modelversion_changelist"
RUNS = "admin:generation_trainingrun_changelist"


def metrics(**overrides) -> dict:
    return {
        "drafts": 12,
        "bleu": 20.0,
        "chrf": 40.0,
        "rouge_l": 30.0,
        "coverage": 0.8,
        "ungrounded_rate": 0.05,
        "ungrounded_claims": 1,
        "violation_rate": 0.0,
        "distinct_2": 0.9,
        "repeated_ngrams": 0.01,
        "mean_length": 42.0,
        "seconds_per_draft": 0.5,
        **overrides,
    }


def version(merchant, name: str, *, kind: str = ModelVersion.Kind.ADAPTER, **extra) -> ModelVersion:
    return ModelVersion.objects.create(
        merchant=merchant, language="en", kind=kind, name=name, base_model="/models/base", **extra
    )


def post_action(client: Client, changelist: str, action: str, rows) -> str:
    response = client.post(
        reverse(changelist), {"action": action, "_selected_action": [row.pk for row in rows]}, follow=True
    )
    assert response.status_code == 200
    return response.content.decode()


def change_url(row) -> str:
    return reverse(f"admin:generation_{row._meta.model_name}_change", args=[row.pk])


@pytest.fixture
def acme(merchant_account):
    return merchant_account.merchant


@pytest.fixture
def bolt(other_merchant_account):
    return other_merchant_account.merchant


@pytest.fixture
def staff_client(other_merchant_account) -> Client:
    """Merchant B's (Bolt's) staff, allowed to look at and decide on models and runs."""
    user = other_merchant_account.user
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="generation",
            codename__in=[
                "view_modelversion",
                "change_modelversion",
                "view_trainingrun",
                "change_trainingrun",
                "add_trainingrun",
            ],
        )
    )
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def compared_candidate(acme) -> tuple[ModelVersion, ModelVersion]:
    """A candidate adapter judged against the shared one; it holds a later, unrelated result too."""
    current = version(
        None, "shared-en-0001", metrics={"evaluation": {"aaaa": {"metrics": metrics(chrf=38.0)}}}
    )
    candidate = version(
        acme,
        "merchant-acme-en-abcd",
        decision="Promoted: quality 34.0 → 35.6",
        metrics={
            "training": {
                "steps": 30,
                "total_steps": 40,
                "seconds": 95.4,
                "examples_seen": 240,
                "train_loss": 1.2345,
                "validation_losses": [1.5, 1.25],
                "stopped": False,
                "early_stopped": True,
                "peak_memory_mb": 2048.4,
                "examples_per_second": 2.52,
            },
            "dataset": {
                "train": 40,
                "held_out": 6,
                "general": 10,
                "held_out_products": 3,
                "excluded": {"link": 2, "duplicate": 1},
            },
            # In Postgres the keys come back sorted: "bbbb" (a later evaluation) reads last.
            "evaluation": {
                "aaaa": {"metrics": metrics(chrf=41.23, ungrounded_rate=0.0417), "by_field": {}},
                "bbbb": {"metrics": metrics(chrf=99.9), "by_field": {}},
            },
            "compared_with": {"version": current.pk, "name": current.name, "metrics": metrics(chrf=38.0)},
        },
    )
    return candidate, current


# --- model versions: the pages ----------------------------------------------------------------


def test_model_changelist_shows_scores_and_promotion(admin_client, acme, compared_candidate) -> None:
    candidate, _ = compared_candidate
    promoted_at = timezone.now()
    ModelVersion.objects.filter(pk=candidate.pk).update(is_promoted=True, promoted_at=promoted_at)

    response = admin_client.get(reverse(VERSIONS))

    assert response.status_code == 200
    body = response.content.decode()
    for column in ("column-promoted_at", "column-kind", "column-merchant", "column-scores"):
        assert column in body
    assert "merchant-acme-en-abcd" in body and "Acme Outfitters" in body
    assert "LoRA adapter" in body
    assert "Promote the selected model" in body and "Roll back to the previous model" in body


def test_model_page_shows_the_comparison_side_by_side(admin_client, compared_candidate) -> None:
    candidate, _ = compared_candidate

    response = admin_client.get(change_url(candidate))

    assert response.status_code == 200
    body = response.content.decode()
    assert "<th>this model</th><th>compared with shared-en-0001</th>" in body
    assert "<tr><th scope='row'>chrF</th><td>41.2</td><td>38.0</td></tr>" in body
    assert "<tr><th scope='row'>drafts with unsupported claims</th><td>4.2%</td><td>5.0%</td></tr>" in body
    assert "<tr><th scope='row'>attribute coverage</th><td>80%</td><td>80%</td></tr>" in body
    assert "<tr><th scope='row'>BLEU</th><td>20.0</td><td>20.0</td></tr>" in body
    assert "<td>99.9</td>" not in body  # the later evaluation is not the one the decision compared
    assert "Promoted: quality 34.0 → 35.6" in body
    # Training statistics and the dataset summary.
    assert "30 of 40 (stopped early" in body
    assert "<td>95</td>" in body and "<td>2.52</td>" in body and "<td>1.234</td>" in body
    assert "1.500, 1.250" in body and "2048 MB" in body
    assert "<li>kept for training: 40</li>" in body
    assert "<li>held out for judging: 6 (from 3 products)</li>" in body
    assert "<li>general data mixed in: 10</li>" in body
    assert "<li>excluded: links: 2, duplicates: 1</li>" in body
    # Read-only, with a one-click promote (it is not promoted) and no rollback.
    assert 'name="_save"' not in body
    assert reverse("admin:generation_modelversion_promote", args=[candidate.pk]) in body
    assert reverse("admin:generation_modelversion_rollback", args=[candidate.pk]) not in body


def test_model_page_without_evaluation(admin_client, acme) -> None:
    body = admin_client.get(change_url(version(acme, "fresh"))).content.decode()
    assert "Not evaluated yet." in body


# --- promote and roll back --------------------------------------------------------------------


def test_promote_action_leaves_one_promoted_model_in_the_scope(admin_client, acme, bolt) -> None:
    old = version(acme, "acme-old", is_promoted=True, promoted_at=timezone.now() - timedelta(days=2))
    new = version(acme, "acme-new")
    elsewhere = version(bolt, "bolt-own", is_promoted=True, promoted_at=timezone.now())

    body = post_action(admin_client, VERSIONS, "promote_model", [new])

    assert "Promoted acme-new: it writes the copy of Acme Outfitters, English" in body
    assert list(ModelVersion.objects.filter(merchant=acme, is_promoted=True)) == [new]
    new.refresh_from_db()
    assert new.promoted_at is not None and timezone.now() - new.promoted_at < timedelta(minutes=1)
    assert new.decision == "Promoted by admin in the admin."
    old.refresh_from_db()
    elsewhere.refresh_from_db()
    assert not old.is_promoted and old.promoted_at is not None  # still in the rollback history
    assert elsewhere.is_promoted  # another scope


def test_promote_action_takes_exactly_one_trained_model(admin_client, acme) -> None:
    first, second = version(acme, "one"), version(acme, "two")
    body = post_action(admin_client, VERSIONS, "promote_model", [first, second])
    assert "Select exactly one model." in body
    assert not ModelVersion.objects.filter(is_promoted=True).exists()

    base = version(None, "base-en", kind=ModelVersion.Kind.BASE)
    body = post_action(admin_client, VERSIONS, "promote_model", [base])
    assert "Only a trained model can be promoted" in body


def test_rollback_restores_the_model_promoted_before(admin_client, acme) -> None:
    older = version(acme, "acme-older", is_promoted=True, promoted_at=timezone.now() - timedelta(days=3))
    newer = version(acme, "acme-newer", promoted_at=timezone.now() - timedelta(days=1))
    post_action(admin_client, VERSIONS, "promote_model", [newer])

    body = post_action(admin_client, VERSIONS, "roll_back_model", [newer])

    assert (
        "Rolled back Acme Outfitters, English: acme-newer retired; acme-older writes the copy again." in body
    )
    older.refresh_from_db()
    newer.refresh_from_db()
    assert older.is_promoted
    assert not newer.is_promoted and newer.promoted_at is None
    assert "Rolled back on" in newer.decision


def test_rollback_with_nothing_earlier_falls_back(admin_client, acme) -> None:
    only = version(acme, "acme-only", is_promoted=True, promoted_at=timezone.now())
    shared = version(None, "shared-only", is_promoted=True, promoted_at=timezone.now())

    body = post_action(admin_client, VERSIONS, "roll_back_model", [only])
    assert "There is no earlier model of this merchant, so the shared model takes over" in body
    body = post_action(admin_client, VERSIONS, "roll_back_model", [shared])
    assert "There is no earlier shared model, so the base model takes over." in body
    assert not ModelVersion.objects.filter(is_promoted=True).exists()


def test_rollback_needs_the_promoted_model(admin_client, acme) -> None:
    version(acme, "acme-current", is_promoted=True, promoted_at=timezone.now())
    idle = version(acme, "acme-idle")

    body = post_action(admin_client, VERSIONS, "roll_back_model", [idle])

    assert "Nothing rolled back: acme-idle is not the promoted model of Acme Outfitters, English" in body
    assert ModelVersion.objects.get(name="acme-current").is_promoted


def test_one_click_buttons_on_the_model_page(acme, admin_user) -> None:
    older = version(acme, "acme-older", is_promoted=True, promoted_at=timezone.now() - timedelta(days=3))
    newer = version(acme, "acme-newer")
    promote = reverse("admin:generation_modelversion_promote", args=[newer.pk])
    rollback = reverse("admin:generation_modelversion_rollback", args=[newer.pk])
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    assert client.get(promote).status_code == 405
    assert client.post(promote).status_code == 403  # no CSRF token
    page = client.get(change_url(newer))
    token = page.cookies["csrftoken"].value

    response = client.post(promote, {"csrfmiddlewaretoken": token}, follow=True)

    assert response.redirect_chain[-1][0] == change_url(newer)
    body = response.content.decode()
    assert "Promoted acme-newer" in body
    assert rollback in body and promote not in body  # the page now offers the rollback
    newer.refresh_from_db()
    assert newer.is_promoted

    response = client.post(rollback, {"csrfmiddlewaretoken": token}, follow=True)

    assert "acme-older writes the copy again" in response.content.decode()
    older.refresh_from_db()
    assert older.is_promoted


# --- another merchant's staff -----------------------------------------------------------------


def test_staff_see_and_act_on_their_own_models_only(staff_client, acme, bolt) -> None:
    theirs = version(acme, "acme-secret-adapter")
    shared = version(None, "shared-adapter", is_promoted=True, promoted_at=timezone.now())
    own = version(bolt, "bolt-adapter")

    response = staff_client.get(reverse(VERSIONS))
    assert {v.pk for v in response.context["cl"].queryset} == {own.pk}
    body = response.content.decode()
    assert "acme-secret-adapter" not in body and "shared-adapter" not in body
    assert "column-merchant" not in body

    for other in (theirs, shared):
        page = staff_client.get(change_url(other), follow=True)
        assert page.redirect_chain[-1][0] == reverse("admin:index")
        body = post_action(staff_client, VERSIONS, "promote_model", [other])
        assert "Select exactly one model." in body
        post_action(staff_client, VERSIONS, "roll_back_model", [other])
        for name in ("promote", "rollback"):
            url = reverse(f"admin:generation_modelversion_{name}", args=[other.pk])
            response = staff_client.post(url, follow=True)
            assert response.redirect_chain[-1][0] == reverse("admin:index")
    theirs.refresh_from_db()
    shared.refresh_from_db()
    assert not theirs.is_promoted
    assert shared.is_promoted and shared.decision == ""

    body = post_action(staff_client, VERSIONS, "promote_model", [own])
    assert "Promoted bolt-adapter" in body
    own.refresh_from_db()
    assert own.is_promoted
    shared.refresh_from_db()
    assert shared.is_promoted  # a merchant's promotion never touches the shared scope


def test_staff_without_change_permission_cannot_promote(staff_client, other_merchant_account, bolt) -> None:
    other_merchant_account.user.user_permissions.remove(
        Permission.objects.get(codename="change_modelversion")
    )
    own = version(bolt, "bolt-adapter")

    body = staff_client.get(change_url(own)).content.decode()
    assert reverse("admin:generation_modelversion_promote", args=[own.pk]) not in body
    assert "Promote the selected model" not in staff_client.get(reverse(VERSIONS)).content.decode()
    url = reverse("admin:generation_modelversion_promote", args=[own.pk])
    assert staff_client.post(url).status_code == 403
    own.refresh_from_db()
    assert not own.is_promoted


# --- training runs ----------------------------------------------------------------------------


@pytest.fixture
def finished_run(acme) -> TrainingRun:
    made = version(acme, "merchant-acme-en-abcd")
    log = "\n".join(f"step {i:03d} loss 1.0" for i in range(50)) + "\n<script>alert('log')</script>"
    return TrainingRun.objects.create(
        merchant=acme,
        language="en",
        kind=TrainingRun.Kind.MERCHANT,
        method=TrainingRun.Method.LORA,
        status=JobStatus.SUCCEEDED,
        total=40,
        done=40,
        examples=50,
        config={"epochs": 2, "batch_size": 8},
        dataset={
            "train": 40,
            "held_out": 6,
            "general": 10,
            "held_out_products": 3,
            "excluded": {"markup": 4},
        },
        data_hash="f" * 64,
        version=made,
        log=log,
        finished_at=timezone.now(),
    )


def test_run_changelist_and_filters(admin_client, finished_run, bolt) -> None:
    queued = TrainingRun.objects.create(
        merchant=bolt,
        language="zh",
        kind=TrainingRun.Kind.MERCHANT,
        method=TrainingRun.Method.FULL,
        total=10,
        done=3,
    )
    shared = TrainingRun.objects.create(language="en", kind=TrainingRun.Kind.GLOBAL)

    response = admin_client.get(reverse(RUNS))

    assert response.status_code == 200
    body = response.content.decode()
    assert "30% (3/10)" in body and "100% (40/40)" in body
    for column in ("column-merchant", "column-method", "column-examples", "column-finished_at"):
        assert column in body
    assert "Cancel the selected runs" in body

    def pks(**params) -> set[int]:
        return {run.pk for run in admin_client.get(reverse(RUNS), params).context["cl"].queryset}

    assert pks() == {finished_run.pk, queued.pk, shared.pk}
    assert pks(status__exact="queued") == {queued.pk, shared.pk}
    assert pks(kind__exact="global") == {shared.pk}
    assert pks(method__exact="full") == {queued.pk}
    assert pks(language__exact="zh") == {queued.pk}


def test_run_page_shows_dataset_settings_log_tail_and_model(admin_client, finished_run) -> None:
    response = admin_client.get(change_url(finished_run))

    assert response.status_code == 200
    body = response.content.decode()
    assert "<li>kept for training: 40</li>" in body
    assert "<li>excluded: markup: 4</li>" in body
    assert "&quot;batch_size&quot;: 8" in body
    assert "The last 40 of 51 lines." in body
    assert "step 011 loss" in body and "step 010 loss" not in body
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(&#x27;log&#x27;)&lt;/script&gt;" in body
    link = change_url(finished_run.version)
    assert f'<a href="{link}">merchant-acme-en-abcd (en, {finished_run.merchant.slug})</a>' in body
    assert 'name="_save"' not in body


def test_cancel_action(admin_client, finished_run, acme) -> None:
    waiting = TrainingRun.objects.create(merchant=acme, language="en", kind=TrainingRun.Kind.MERCHANT)

    body = post_action(admin_client, RUNS, "cancel_runs", [waiting, finished_run])

    assert "1 run cancelled. 1 had already finished." in body
    waiting.refresh_from_db()
    finished_run.refresh_from_db()
    assert waiting.status == JobStatus.CANCELLED and "checkpoint" in waiting.error_message
    assert finished_run.status == JobStatus.SUCCEEDED


def test_staff_see_their_own_runs_only(staff_client, finished_run, bolt) -> None:
    own = TrainingRun.objects.create(merchant=bolt, language="en", kind=TrainingRun.Kind.MERCHANT)
    shared = TrainingRun.objects.create(language="en", kind=TrainingRun.Kind.GLOBAL, log="shared secret")

    response = staff_client.get(reverse(RUNS))
    assert {run.pk for run in response.context["cl"].queryset} == {own.pk}
    assert "Acme Outfitters" not in response.content.decode()
    for other in (finished_run, shared):
        page = staff_client.get(change_url(other), follow=True)
        assert page.redirect_chain[-1][0] == reverse("admin:index")
        assert "shared secret" not in page.content.decode()

    body = post_action(staff_client, RUNS, "cancel_runs", [finished_run, shared, own])

    assert "1 run cancelled." in body
    shared.refresh_from_db()
    own.refresh_from_db()
    assert shared.status == JobStatus.QUEUED
    assert own.status == JobStatus.CANCELLED


# --- retraining from the merchant list --------------------------------------------------------


def test_merchant_action_queues_retraining(
    admin_client, acme, bolt, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    from generation import training

    asked: list[list] = []
    sent: list[int] = []

    def plan(*, merchants, **kwargs):
        asked.append(list(merchants))
        return [
            PlannedRun(acme, "en", "lora", 30, "a" * 64, {}, "train", "first run"),
            PlannedRun(acme, "zh", "lora", 3, "b" * 64, {}, "skip", "3 usable examples; at least 20 needed"),
            PlannedRun(bolt, "en", "lora", 25, "c" * 64, {}, "train", "new or changed examples since run 4"),
        ]

    def enqueue(run: TrainingRun) -> None:  # what job_enqueue does, without Celery
        sent.append(run.pk)
        TrainingRun.objects.filter(pk=run.pk).update(celery_task_id=f"task-{run.pk}")

    monkeypatch.setattr(training, "retrain_plan", plan)
    monkeypatch.setattr(training, "_enqueue_training", enqueue)

    with django_capture_on_commit_callbacks(execute=True):
        body = post_action(
            admin_client, "admin:catalog_merchant_changelist", "retrain_copy_models", [acme, bolt]
        )

    assert f"2 runs queued; 1 skipped ({acme.slug} zh: 3 usable examples; at least 20 needed)." in body
    assert [{m.pk for m in merchants} for merchants in asked] == [{acme.pk, bolt.pk}]
    runs = list(TrainingRun.objects.order_by("pk"))
    assert [(r.merchant_id, r.language, r.kind, r.method) for r in runs] == [
        (acme.pk, "en", "merchant", "lora"),
        (bolt.pk, "en", "merchant", "lora"),
    ]
    assert all(r.status == JobStatus.QUEUED for r in runs)
    assert sent == [runs[0].pk]  # one at a time on the gpu queue: the next goes when it ends


def test_merchant_action_needs_the_permission_to_add_runs(staff_client, other_merchant_account) -> None:
    user = other_merchant_account.user
    user.user_permissions.add(Permission.objects.get(codename="view_merchant"))
    assert (
        "Retrain the copy models"
        in staff_client.get(reverse("admin:catalog_merchant_changelist")).content.decode()
    )

    user.user_permissions.remove(Permission.objects.get(codename="add_trainingrun"))
    body = staff_client.get(reverse("admin:catalog_merchant_changelist")).content.decode()
    assert "Retrain the copy models" not in body
