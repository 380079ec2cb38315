"""Retraining cost and effect: LoRA against full fine-tuning, and the copy each one writes.

Run: .venv/bin/python bench/retrain.py [--language en] [--pairs 240] [--max-steps 30] [--batch-size 8]
     [--rank 16] [--methods lora,full] [--eval-products 6] [--fields title,bullets,...]
     [--json bench/results/retrain-en-cpu.json] [--work-dir DIR] [--quick]

* training: `lora.train_lora` on the first --pairs (prompt, reference copy) pairs of the corpus's
  training split after a seeded shuffle, once per method (LoRA at learning rate 5e-4, full
  fine-tuning of every weight at 5e-5) and per device: the CPU always, the GPU as well when torch
  sees one. Each run is a child process of its own (multiprocessing, "spawn"), so its peak RSS
  (ru_maxrss) is that method's alone; on a GPU the peak of torch's allocator is reported too. The
  seconds are train_lora's own (after the model is loaded; validation and checkpoints included, as
  in a retraining job), pairs/s counts training pairs seen, and the losses are the final running
  training loss and the validation loss on train_lora's validation share of the pairs.
* quality: the base model zero-shot and every trained model write the same held-out corpus
  products greedily (`generation.ml.evaluation.evaluate_model`, generic channel), each in a child
  process of its own on the best device, and are scored against the reference copy.

--quick (32 pairs, 3 steps, 1 product, titles only) is a smoke run of the whole path and writes
bench/results/retrain-quick.json. The trained models live in --work-dir (a temporary folder,
removed at the end, unless one is given). Prints two tables and writes JSON. Not a test: nothing
here asserts a number.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import resource
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_copilot.settings")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.exceptions import ValidationError  # noqa: E402

from generation.evaluation import evaluation_key, evaluation_products, parse_fields, report_header  # noqa: E402
from generation.ml import lora  # noqa: E402
from generation.ml.corpus import CorpusProduct, shipped_split  # noqa: E402
from generation.ml.evaluation import EvaluationOptions  # noqa: E402
from generation.ml.model_store import BaseModelLocation, base_model_location  # noqa: E402
from generation.ml.prompts import FIELDS  # noqa: E402
from generation.models import ModelVersion  # noqa: E402

LEARNING_RATES = {"lora": 5e-4, "full": 5e-5}
QUICK = {"pairs": 32, "max_steps": 3, "eval_products": 1, "fields": "title"}


def base_model(language: str) -> BaseModelLocation:
    """The base model `base_version` picks, without its database row: a bench writes no rows."""
    configured = {"en": settings.COPILOT_BASE_MODEL_EN, "zh": settings.COPILOT_BASE_MODEL_ZH}[language]
    return base_model_location(language, store_dir=settings.COPILOT_MODEL_STORE, configured=configured)


def training_pairs(language: str, count: int, seed: int) -> list[lora.TrainingPair]:
    """Every reference of the corpus's training split as a pair; the first `count` after a shuffle."""
    train, _ = shipped_split()
    pairs = lora.corpus_pairs(train, language)
    random.Random(seed).shuffle(pairs)
    return pairs[:count]


def _use_device(device: str) -> None:
    """Hide the GPU from a child that should train on the CPU (before torch first asks for CUDA)."""
    if device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _folder_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


def train_job(
    method: str,
    device: str,
    base_dir: str,
    pairs: list[lora.TrainingPair],
    config: dict[str, Any],
    folder: str,
    checkpoint_every: int,
) -> dict[str, Any]:
    """In a child process: train one method on one device, save the model, report the numbers."""
    _use_device(device)
    import torch

    work, target = Path(folder) / "train", Path(folder) / "model"
    shutil.rmtree(work, ignore_errors=True)  # a checkpoint would resume and shorten the run
    settings = lora.LoraConfig.from_dict(config)

    def progress(step: int, total: int, loss: float) -> None:
        print(f"  {method} ({device}) step {step}/{total} loss {loss:.3f}", file=sys.stderr, flush=True)

    started = time.monotonic()
    result, model = lora.train_lora(
        Path(base_dir),
        pairs,
        work,
        settings,
        progress=progress,
        checkpoint_every=checkpoint_every,
        method=method,
    )
    total = time.monotonic() - started
    peak_rss = _rss_mb()
    gpu_peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None
    started = time.monotonic()
    lora.save_adapter(
        model,
        target,
        {"method": method, "base_model": base_dir, "config": settings.to_dict(), "bench": True},
        tokenizer_from=Path(base_dir) if method == "full" else None,
    )
    save_seconds = time.monotonic() - started
    shutil.rmtree(work, ignore_errors=True)  # a full model's checkpoint is several times its size
    return {
        "method": method,
        "device": device,
        "dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
        "pairs": len(pairs),
        "config": settings.to_dict(),
        "steps": result.steps,
        "examples_seen": result.examples_seen,
        "seconds": round(result.seconds, 2),
        "load_and_encode_seconds": round(total - result.seconds, 2),
        "pairs_per_second": round(result.examples_per_second, 3),
        "steps_per_second": round(result.steps / result.seconds, 4) if result.seconds else 0.0,
        "peak_rss_mb": round(peak_rss),
        "peak_gpu_mb": round(gpu_peak) if gpu_peak is not None else None,
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "train_loss": round(result.train_loss, 4),
        "validation_losses": [round(v, 4) for v in result.validation_losses],
        "validation_loss": round(result.validation_losses[-1], 4) if result.validation_losses else None,
        "early_stopped": result.early_stopped,
        "save_seconds": round(save_seconds, 2),
        "saved_mb": round(_folder_mb(target), 1),
        "model_dir": str(target),
    }


def evaluate_job(
    name: str, path: str, adapter_path: str, products: list[CorpusProduct], language: str, fields: list[str]
) -> dict[str, Any]:
    """In a child process: load one model, write the held-out products' copy greedily and score it."""
    from generation.ml.evaluation import evaluate_model
    from generation.ml.generator import device_and_dtype, load_language_model

    started = time.monotonic()
    model = load_language_model(path, name, adapter_path)
    load_seconds = time.monotonic() - started
    options = EvaluationOptions(language=language, fields=tuple(fields))
    started = time.monotonic()
    result = evaluate_model(model, products, options)
    return {
        **result.to_dict(),
        "device": device_and_dtype()[0],
        "load_seconds": round(load_seconds, 2),
        "seconds": round(time.monotonic() - started, 1),
        "peak_rss_mb": round(_rss_mb()),
        "samples": [{"field": d.field, "text": d.text, "reference": d.reference} for d in result.drafts[:3]],
    }


def in_child(function: Any, *args: Any) -> dict[str, Any]:
    """Run one job in a fresh spawned process; an error comes back as its traceback."""
    context = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            return pool.submit(function, *args).result()
    except Exception as error:  # a bench row that failed is a result too
        text = "".join(traceback.format_exception(error))
        print(text, file=sys.stderr)
        return {"error": text}


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *cells, strict=True)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True))
        )

    return "\n".join([line(headers), *(line(row) for row in cells)])


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def training_table(runs: list[dict[str, Any]]) -> str:
    gpu = any(r.get("peak_gpu_mb") is not None for r in runs)
    headers = ["method", "device", "pairs", "steps", "seconds", "pairs/s", "steps/s", "peak RSS MB"]
    headers += ["peak GPU MB"] * gpu + ["train loss", "val loss"]
    rows = []
    for r in runs:
        if "error" in r:
            rows.append([r["method"], r["device"], "failed", *[""] * (len(headers) - 3)])
            continue
        row = [r["method"], r["device"], r["pairs"], r["steps"], f"{r['seconds']:.1f}"]
        row += [f"{r['pairs_per_second']:.2f}", f"{r['steps_per_second']:.3f}", r["peak_rss_mb"]]
        row += [_number(r["peak_gpu_mb"], ".0f")] * gpu
        row += [f"{r['train_loss']:.3f}", _number(r["validation_loss"], ".3f")]
        rows.append(row)
    return table(headers, rows)


def quality_table(reports: list[dict[str, Any]]) -> str:
    headers = ["model", "drafts", "chrF", "ROUGE-L", "BLEU", "coverage", "unsupported", "rule breaks"]
    headers += ["distinct-2", "s/draft"]
    rows = []
    for r in reports:
        if "error" in r:
            rows.append([r["label"], "failed", *[""] * (len(headers) - 2)])
            continue
        m = r["metrics"]
        rows.append(
            [
                r["label"],
                m["drafts"],
                f"{m['chrf']:.1f}",
                f"{m['rouge_l']:.1f}",
                f"{m['bleu']:.1f}",
                f"{m['coverage']:.0%}",
                f"{m['ungrounded_rate']:.1%}",
                f"{m['violation_rate']:.1%}",
                f"{m['distinct_2']:.2f}",
                f"{m['seconds_per_draft']:.2f}",
            ]
        )
    return table(headers, rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--language", default="en", choices=["en", "zh"])
    parser.add_argument("--pairs", type=int, default=240, help="training pairs from the corpus train split")
    parser.add_argument("--max-steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--rank", type=int, default=16, help="LoRA rank (alpha is twice it)")
    parser.add_argument("--methods", default="lora,full")
    parser.add_argument("--lora-learning-rate", type=float, default=LEARNING_RATES["lora"])
    parser.add_argument("--full-learning-rate", type=float, default=LEARNING_RATES["full"])
    parser.add_argument("--devices", default="", help="cpu,cuda (default: the CPU, and the GPU if any)")
    parser.add_argument("--checkpoint-every", type=int, default=20, help="as in a retraining job")
    parser.add_argument("--eval-products", type=int, default=6, help="held-out products (0: none)")
    parser.add_argument("--fields", default=",".join(FIELDS))
    parser.add_argument("--seed", type=int, default=0, help="of the pair shuffle")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--work-dir", type=Path, default=None, help="kept; default a temporary folder")
    parser.add_argument("--quick", action="store_true", help="smoke run: " + json.dumps(QUICK))
    args = parser.parse_args()
    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, value)

    import torch

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in lora.METHODS]
    if unknown or not methods:
        parser.error(f"--methods takes {', '.join(lora.METHODS)}")
    gpu = torch.cuda.is_available()
    devices = [d.strip() for d in args.devices.split(",") if d.strip()] or ["cpu", *["cuda"] * gpu]
    if any(d not in ("cpu", "cuda") for d in devices) or ("cuda" in devices and not gpu):
        parser.error("--devices takes cpu and, where torch sees a GPU, cuda")
    try:
        fields = list(parse_fields(args.fields))
    except ValidationError as error:
        parser.error(error.messages[0])
    best_device = "cuda" if gpu else "cpu"
    if args.json is None:
        name = "retrain-quick.json" if args.quick else f"retrain-{args.language}-{best_device}.json"
        args.json = ROOT / "bench" / "results" / name

    base = base_model(args.language)  # converts the shipped GGUF on first use
    pairs = training_pairs(args.language, args.pairs, args.seed)
    products = evaluation_products(args.language, limit=args.eval_products) if args.eval_products else []
    options = EvaluationOptions(language=args.language, fields=tuple(fields))
    key = evaluation_key(products, options)
    results: dict[str, Any] = {
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "device": best_device,
            "gpu": torch.cuda.get_device_name(0) if gpu else None,
        },
        "language": args.language,
        "base_model": {"name": base.name, "path": str(base.path)},
        "pairs": len(pairs),
        "quick": args.quick,
        "training": [],
        "quality": [],
    }
    print(
        f"{len(pairs)} training pairs, {args.max_steps} steps of {args.batch_size}, methods "
        f"{', '.join(methods)} on {', '.join(devices)}; {len(products)} held-out products",
        file=sys.stderr,
    )

    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="retrain-bench-"))
    try:
        for device in devices:
            for method in methods:
                config = {
                    "rank": args.rank,
                    "alpha": 2 * args.rank,
                    "learning_rate": args.lora_learning_rate if method == "lora" else args.full_learning_rate,
                    "max_steps": args.max_steps,
                    "batch_size": args.batch_size,
                }
                print(f"training {method} on {device} …", file=sys.stderr)
                run = in_child(
                    train_job,
                    method,
                    device,
                    str(base.path),
                    pairs,
                    config,
                    str(work_dir / f"{method}-{device}"),
                    args.checkpoint_every,
                )
                results["training"].append({"method": method, "device": device, **run})

        if products:
            versions = [
                ModelVersion(
                    kind=ModelVersion.Kind.BASE,
                    language=args.language,
                    name=base.name,
                    base_model=str(base.path),
                )
            ]
            for run in results["training"]:
                if "error" not in run:
                    versions.append(
                        ModelVersion(
                            kind=ModelVersion.Kind.FULL
                            if run["method"] == "full"
                            else ModelVersion.Kind.ADAPTER,
                            language=args.language,
                            name=f"{run['method']} ({run['device']})" if len(devices) > 1 else run["method"],
                            base_model=str(base.path),
                            adapter_path=run["model_dir"],
                        )
                    )
            for version in versions:
                print(f"evaluating {version.name} …", file=sys.stderr)
                # As `load_version` loads them: a fully fine-tuned model is a whole model of its own.
                if version.kind == ModelVersion.Kind.FULL:
                    path, adapter_path = version.adapter_path, ""
                else:
                    path, adapter_path = version.base_model, version.adapter_path
                report = in_child(
                    evaluate_job, version.name, path, adapter_path, products, args.language, fields
                )
                mode = "zero-shot" if version.kind == ModelVersion.Kind.BASE else "adapter"
                header = report_header(version, mode, "held-out corpus split", products, key)
                results["quality"].append({"label": version.name, **header, "fields": fields, **report})
    finally:
        if args.work_dir is None:
            shutil.rmtree(work_dir, ignore_errors=True)

    print(f"\nTraining, {args.language}, base {base.name}, batch {args.batch_size}, rank {args.rank}")
    print(training_table(results["training"]))
    if results["quality"]:
        print(
            f"\nCopy quality on {len(products)} held-out products, fields {', '.join(fields)}, "
            "greedy, generic channel"
        )
        print(quality_table(results["quality"]))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"\nWrote {args.json}")


if __name__ == "__main__":
    main()
