"""The learning loop for real (slow): the shipped English model learns a merchant's title style.

Accepted and edited drafts become examples; a run interrupted half-way resumes; the adapter that
learnt the house style is promoted; a deliberately bad candidate (every title moved to another
product) is rejected; rolling back restores the good adapter and the next draft is written by it;
unchanged data is not trained again.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from catalog import services as catalog_services
from catalog.models import JobStatus
from generation import services, training
from generation.ml import lora
from generation.models import Draft, DraftRevision, TrainingExample
from generation.promotion import model_rollback, model_version_promote

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

BRANDS = ("Arka", "Lumo", "Nordo", "Vela")
ITEMS = (("Kettle", "capacity", "{n}.5 L"), ("Desk Lamp", "power", "{n} W"), ("Backpack", "volume", "{n}0 L"))
COLOURS = ("Steel Grey", "Forest Green", "Sand Beige", "Night Blue")
# Their house style: Brand Item – Colour – spec. The base model writes nothing like it.
CONFIG = {"rank": 8, "alpha": 16, "learning_rate": 1e-3, "batch_size": 4, "epochs": 3, "max_steps": 16}


@pytest.fixture
def shop(settings, tmp_path: Path, english_base_model: Path, merchant_account):
    settings.COPILOT_MODEL_STORE = tmp_path / "store"
    settings.COPILOT_BASE_MODEL_EN = str(english_base_model)
    settings.COPILOT_RETRAIN_MIN_EXAMPLES = 10
    settings.COPILOT_RETRAIN_GENERAL_SHARE = 0.0
    settings.COPILOT_RETRAIN_GENERAL_EVAL_PRODUCTS = 0
    combos = itertools.islice(itertools.product(BRANDS, ITEMS, COLOURS), 0, None, 2)
    for i, (brand, (item, key, spec), colour) in enumerate(itertools.islice(combos, 24)):
        value = spec.format(n=i % 7 + 2)
        product = catalog_services.product_create(
            merchant=merchant_account.merchant,
            sku=f"SKU-{i}",
            name=f"{brand} {item}",
            category=item.lower(),
            attributes=[("brand", brand), ("colour", colour), (key, value)],
        )
        draft = Draft.objects.create(
            product=product,
            field="title",
            language="en",
            text=f"{brand} {item} in {colour.lower()}",
            source_attributes=[[a.key, a.value] for a in product.attributes.all()],
        )
        DraftRevision.objects.create(draft=draft, version=1, text=draft.text)
        house_style = f"{brand} {item} – {colour} – {value}"
        # Most are edited into the house style; every fourth was already written that way.
        edited = i % 4 != 0
        if not edited:
            Draft.objects.filter(pk=draft.pk).update(text=house_style)
            DraftRevision.objects.filter(draft=draft).update(text=house_style)
            draft.refresh_from_db()
        services.draft_accept(
            draft=draft, user=merchant_account.user, version=1, text=house_style if edited else None
        )
    return merchant_account.merchant


def test_a_merchant_adapter_learns_the_house_style_and_the_loop_guards_it(shop, monkeypatch) -> None:
    merchant = shop
    sources = list(TrainingExample.objects.filter(merchant=merchant).values_list("source", flat=True))
    assert sources.count("edited") == 18 and sources.count("accepted") == 6

    # Interrupted after four steps; the next run on the same data resumes from the checkpoint.
    first = training.retrain_start(language="en", merchant=merchant, config=CONFIG, enqueue=False)

    def cancel_at_four(stage: str, done: int, total: int) -> None:
        if stage == "train" and done == 4:
            training.training_run_cancel(first)

    monkeypatch.setattr(training, "PROGRESS_EVERY", 1)
    stopped = training.training_run_execute(job_id=first.pk, report=cancel_at_four, queue_next=False)
    assert stopped.status == JobStatus.CANCELLED
    steps: list[int] = []
    good = training.retrain_start(language="en", merchant=merchant, config=CONFIG, enqueue=False)
    good = training.training_run_execute(
        job_id=good.pk,
        report=lambda stage, done, total: steps.append(done) if stage == "train" else None,
        queue_next=False,
    )
    assert good.status == JobStatus.SUCCEEDED, good.error_message
    adapter = good.version
    assert steps[0] == 5 and steps[-1] == adapter.metrics["training"]["total_steps"] > 5
    evaluation = next(iter(adapter.metrics["evaluation"].values()))["metrics"]
    base = adapter.metrics["compared_with"]["metrics"]
    assert adapter.is_promoted, adapter.decision
    assert evaluation["chrf"] > base["chrf"] and evaluation["rouge_l"] > base["rouge_l"]

    # Unchanged data: not trained again.
    [plan] = training.retrain_plan(merchants=[merchant], languages=("en",), config=CONFIG)
    assert plan.action == "skip" and plan.reason.startswith("training data unchanged")

    # A deliberately bad candidate: every title taught against another product's facts.
    real_material = training.training_material

    def shuffled(**kwargs):
        material = real_material(**kwargs)
        targets = [pair.target for pair in material.pairs]
        rotated = targets[1:] + targets[:1]
        material.pairs = [
            lora.TrainingPair(p.prompt, t) for p, t in zip(material.pairs, rotated, strict=True)
        ]
        return material

    monkeypatch.setattr(training, "training_material", shuffled)
    # (Short: either it learns the wrong facts, or it learns too little to beat the good adapter.)
    bad = training.retrain_start(
        language="en", merchant=merchant, config=CONFIG | {"max_steps": 6}, enqueue=False
    )
    bad = training.training_run_execute(job_id=bad.pk, queue_next=False)
    assert bad.status == JobStatus.SUCCEEDED, bad.error_message
    assert not bad.version.is_promoted
    assert bad.version.decision.startswith("Rejected: ")
    assert bad.version.metrics["compared_with"]["name"] == adapter.name

    # Promoted by hand anyway, then rolled back: the good adapter writes the next draft.
    model_version_promote(version=bad.version, reason="Promoted by hand for the test.")
    retired, restored = model_rollback(merchant=merchant, language="en")
    assert (retired, restored) == (bad.version, adapter)
    product = catalog_services.product_create(
        merchant=merchant,
        sku="NEW-1",
        name="Vela Kettle",
        category="kettle",
        attributes=[("brand", "Vela"), ("colour", "Sand Beige"), ("capacity", "1.5 L")],
    )
    job = services.generation_job_create(
        merchant=merchant, product_ids=[product.pk], fields=["title"], few_shot=False
    )
    services.generation_job_run(job_id=job.pk)
    draft = Draft.objects.get(job=job)
    assert draft.model_version == adapter
    assert "–" in draft.text or "Sand Beige" in draft.text  # the house style, learnt
