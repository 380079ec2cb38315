"""Copy quality on the held-out corpus split: zero-shot vs few-shot vs the fine-tuned adapter.

Run: .venv/bin/python bench/copy_quality.py [--language en zh] [--fields ...] [--limit N]
     [--json bench/results/copy-quality.json]

Each row is `manage.py evaluate` (greedy decoding, generic channel) on the same held-out products:
the base model zero-shot, the base model with two examples from the corpus's training split, and
the newest shared adapter, promoted or not (train it first: `manage.py retrain --bootstrap`).
A zero-shot result that a promotion already stored for the same products and options (the same
evaluation key) is read instead of measured again, unless --fresh. Prints a table per language
and writes all reports to one JSON file. Not a test: nothing here asserts a number.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from io import StringIO
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_copilot.settings")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from generation.evaluation import (  # noqa: E402
    evaluation_key,
    evaluation_products,
    report_header,
    resolve_version,
)
from generation.language_models import base_version  # noqa: E402
from generation.ml.evaluation import EvaluationOptions  # noqa: E402
from generation.ml.metrics import Metrics, format_table  # noqa: E402
from generation.ml.prompts import FIELDS  # noqa: E402
from generation.models import ModelVersion  # noqa: E402

MODES = ("zero-shot", "few-shot", "adapter")


def newest_shared_adapter(language: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(
        kind=ModelVersion.Kind.ADAPTER,
        merchant__isnull=True,
        language=language,
        base_model=base_version(language).base_model,
    ).first()


def evaluate(language: str, mode: str, model: str, fields: str, limit: int) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / "report.json"
        args = ["--language", language, "--mode", mode, "--model", model, "--fields", fields]
        args += ["--limit", str(limit), "--json", str(target)]
        call_command("evaluate", *args, stdout=StringIO())
        return json.loads(target.read_text())


def stored(language: str, mode: str, model: str, fields: str, limit: int) -> dict | None:
    """A zero-shot result a promotion stored for exactly these products and options."""
    if mode == "few-shot":
        return None
    version = resolve_version(model, language)
    products = evaluation_products(language, limit=limit)
    options = EvaluationOptions(language=language, fields=tuple(fields.split(",")))
    key = evaluation_key(products, options)
    result = version.metrics.get("evaluation", {}).get(key)
    if result is None:
        return None
    return {**report_header(version, mode, "held-out corpus split", products, key), "stored": True, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", nargs="+", default=["en", "zh"])
    parser.add_argument("--fields", default=",".join(FIELDS))
    parser.add_argument("--limit", type=int, default=0, help="held-out products per language (0: all)")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "copy-quality.json")
    parser.add_argument("--fresh", action="store_true", help="measure every row, even stored ones")
    args = parser.parse_args()

    import torch

    results = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        },
        "reports": [],
    }
    for language in args.language:
        rows, adapter = [], None
        for mode in MODES:
            model = "base"
            if mode == "adapter":
                adapter = newest_shared_adapter(language)
                if adapter is None:
                    print(f"{language}: no adapter yet; run `manage.py retrain --bootstrap` first")
                    continue
                model = str(adapter.pk)
            report = None if args.fresh else stored(language, mode, model, args.fields, args.limit)
            if report is None:
                print(f"{language}: {mode} …", file=sys.stderr)
                report = evaluate(language, mode, model, args.fields, args.limit)
                report.pop("drafts")
            results["reports"].append(report)
            if mode == "adapter":
                report["decision"] = adapter.decision
            rows.append((f"{report['model']['name']} {mode}", Metrics(**report["metrics"])))
        print(f"\n{language} ({results['reports'][-1]['products']} held-out products)")
        print(format_table(rows))
        if adapter is not None:
            print(adapter.decision)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"\nWrote {args.json}")


if __name__ == "__main__":
    main()
