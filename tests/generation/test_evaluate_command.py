"""`manage.py evaluate`: every metric as a table and JSON, and clear errors for bad requests."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from generation.language_models import base_version
from generation.ml.corpus import shipped_split
from generation.ml.metrics import METRIC_LABELS
from generation.models import ModelVersion

pytestmark = pytest.mark.django_db

METRICS = {*METRIC_LABELS, "drafts", "ungrounded_claims"}


def evaluate(*args: str) -> str:
    out = StringIO()
    call_command("evaluate", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_zero_shot_on_the_held_out_split_reports_every_metric(tiny_model, tmp_path: Path) -> None:
    target = tmp_path / "results" / "base.json"
    output = evaluate("--limit", "2", "--fields", "title,tags", "--json", str(target))
    report = json.loads(target.read_text())
    _, heldout = shipped_split()
    english = [p for p in heldout if p.language == "en"][:2]
    assert report["products"] == 2
    assert report["mode"] == "zero-shot"
    assert report["model"]["kind"] == "base"
    assert report["data"] == "held-out corpus split"
    assert set(report["metrics"]) == METRICS
    assert report["metrics"]["drafts"] == 4
    assert set(report["by_field"]) == {"title", "tags"}
    assert report["options"] == {
        "fields": ["title", "tags"],
        "examples": 0,
        "candidates": 1,
        "channel": "generic",
    }
    assert [d["reference"] for d in report["drafts"] if d["field"] == "title"] == [
        p.reference("title") for p in english
    ]
    for label in METRIC_LABELS.values():
        assert label in output  # the table's header
    assert "  title" in output and "  tags" in output  # a row per field


def test_greedy_evaluation_gives_the_same_numbers_twice(tiny_model, tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        evaluate("--limit", "1", "--fields", "title", "--json", str(tmp_path / name))
        runs.append(json.loads((tmp_path / name).read_text()))
    assert runs[0]["drafts"] == runs[1]["drafts"]
    assert runs[0]["key"] == runs[1]["key"]


def test_few_shot_prompts_show_examples_from_the_training_split(
    tiny_model, tmp_path: Path, monkeypatch
) -> None:
    from generation.ml import evaluation

    shown = []
    real_write_field = evaluation.write_field

    def spy(model, request, products, sampling):
        shown.extend(len(tuple(examples)) for _, examples in products)
        return real_write_field(model, request, products, sampling)

    monkeypatch.setattr(evaluation, "write_field", spy)
    evaluate("--mode", "few-shot", "--examples", "2", "--limit", "2", "--fields", "title")
    assert shown == [2, 2]
    shown.clear()
    evaluate("--mode", "zero-shot", "--limit", "2", "--fields", "title")
    assert shown == [0, 0]


def test_any_file_in_the_corpus_format_can_be_evaluated(tiny_model, tmp_path: Path) -> None:
    data = tmp_path / "mine.jsonl"
    product = {
        "sku": "MINE-1",
        "name": "Kettle K1",
        "category": "kitchen",
        "language": "en",
        "attributes": {"brand": "Brew", "capacity": "1.7 L", "power": "2200 W", "colour": "black"},
        "reference": {"title": "Brew Kettle K1, 1.7 L, 2200 W, Black"},
    }
    data.write_text(json.dumps(product) + "\n")
    target = tmp_path / "out.json"
    evaluate("--data", str(data), "--json", str(target))
    report = json.loads(target.read_text())
    assert report["data"] == str(data)
    assert report["metrics"]["drafts"] == 1  # only the fields the file has references for


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fields", "title,slogan"], "Unknown field(s) slogan"),
        (["--model", "newest"], "--model takes 'current', 'base' or a model version id"),
        (["--model", "999999"], "There is no model version 999999"),
        (["--mode", "adapter"], "--mode adapter needs an adapter"),
        (["--channel", "ebay"], "Unknown channel 'ebay'"),
        (["--limit", "-1"], "--limit must be 0 or more"),
        (["--data", "/nonexistent/file.jsonl"], "Cannot read /nonexistent/file.jsonl"),
    ],
)
def test_bad_requests_get_a_clear_error(tiny_model, args: list[str], message: str) -> None:
    with pytest.raises(CommandError) as error:
        evaluate(*args)
    assert message in str(error.value)


def test_a_bad_line_in_a_data_file_is_named(tiny_model, tmp_path: Path) -> None:
    data = tmp_path / "broken.jsonl"
    data.write_text('{"sku": "A"}\n')
    with pytest.raises(CommandError, match=r"broken\.jsonl:1: missing name"):
        evaluate("--data", str(data))


def test_a_model_version_of_another_language_is_refused(tiny_model) -> None:
    chinese = base_version("zh")
    with pytest.raises(CommandError, match=f"Model version {chinese.pk} writes 'zh', not 'en'"):
        evaluate("--model", str(chinese.pk))


def test_an_adapter_is_evaluated_by_id(tiny_model, tmp_path: Path, settings) -> None:
    from generation import training

    settings.COPILOT_MODEL_STORE = tmp_path / "store"
    settings.COPILOT_PROMOTION_EVAL_PRODUCTS = 1
    run = training.bootstrap_training_start(
        "en", config={"max_steps": 1, "batch_size": 2, "rank": 2, "alpha": 4}, enqueue=False
    )
    run = training.training_run_execute(job_id=run.pk, queue_next=False)
    target = tmp_path / "adapter.json"
    evaluate("--mode", "adapter", "--model", str(run.version.pk), "--limit", "1", "--json", str(target))
    report = json.loads(target.read_text())
    assert report["model"] == {"id": run.version.pk, "name": run.version.name, "kind": "adapter"}
    # The same products and options as the promotion judged: the same key, the same numbers.
    assert report["key"] in run.version.metrics["evaluation"]
    assert report["metrics"] == run.version.metrics["evaluation"][report["key"]]["metrics"] | {
        "seconds_per_draft": report["metrics"]["seconds_per_draft"]
    }
    assert ModelVersion.objects.filter(kind="adapter").count() == 1
