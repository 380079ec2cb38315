"""Draft throughput: Shop Copilot's batched generate-check-choose against a plain pipeline.

Run: .venv/bin/python bench/generation.py [--products 100] [--fields title bullets description]
     [--baseline-products 20] [--candidates 4] [--batch-size 8] [--json bench/results/generation-cpu.json]

* batched: the product's path (`generation.ml.writer.write_field`: one generate() call per batch
  of prompts with several sampled candidates each, every candidate cleaned, grounding-checked and
  ranked), for products x fields drafts.
* pipeline: what a user would write first: transformers' text-generation pipeline called once per
  product and field, one candidate, no checks. Measured on --baseline-products products (a rate,
  so a subset is enough on a slow machine); the products are the same demo products.
* model load: converting the shipped GGUF into a fresh store (first use), then loading the
  converted folder (every later worker start).

Prints a table and writes JSON. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generation.ml.channels import channel_profile  # noqa: E402
from generation.ml.generator import SamplingOptions, load_language_model  # noqa: E402
from generation.ml.model_store import SHIPPED_MODELS, base_model_location, ensure_converted  # noqa: E402
from generation.ml.prompts import ProductFacts, PromptOptions, build_prompt  # noqa: E402
from generation.ml.writer import FieldRequest, write_field  # noqa: E402

DEMO = ROOT / "catalog" / "demo" / "demo_catalog.jsonl"


def demo_products(language: str, count: int) -> list[ProductFacts]:
    rows = [json.loads(line) for line in DEMO.read_text().splitlines() if line.strip()]
    facts = [
        ProductFacts(
            name=r["name"], category=r.get("category", ""), attributes=tuple(r["attributes"].items())
        )
        for r in rows
        if r.get("language", "en") == language
    ]
    return list(itertools.islice(itertools.cycle(facts), count))


def peak_memory_mb() -> float:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_load(language: str, store: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        ensure_converted(SHIPPED_MODELS[language], store_dir=Path(scratch))
        first = time.perf_counter() - started
    location = base_model_location(language, store_dir=store)
    started = time.perf_counter()
    load_language_model.cache_clear()
    load_language_model(str(location.path), location.name)
    cached = time.perf_counter() - started
    return {"first_conversion_s": round(first, 2), "cached_load_s": round(cached, 2)}


def run_batched(products, fields, language, args) -> dict[str, float]:
    location = base_model_location(language, store_dir=args.store)
    model = load_language_model(str(location.path), location.name)
    sampling = SamplingOptions(num_candidates=args.candidates, seed=0)
    profile = channel_profile("generic")
    drafts = tokens = ungrounded = 0
    started = time.perf_counter()
    for field in fields:
        request = FieldRequest(
            field=field, language=language, tone="professional", length="medium", profile=profile
        )
        for start in range(0, len(products), args.batch_size):
            batch = [(facts, ()) for facts in products[start : start + args.batch_size]]
            for result in write_field(model, request, batch, sampling):
                ungrounded += bool(result.best.grounding.ungrounded)
                tokens += result.new_tokens
                drafts += 1
    seconds = time.perf_counter() - started
    return {
        "drafts": drafts,
        "seconds": round(seconds, 1),
        "drafts_per_min": round(60 * drafts / seconds, 1),
        "tokens_per_s": round(tokens / seconds, 1),
        "candidates_per_draft": args.candidates,
        "drafts_with_ungrounded_claims": ungrounded,
        "peak_memory_mb": round(peak_memory_mb()),
    }


def run_pipeline(products, fields, language, args) -> dict[str, float]:
    """The baseline: one pipeline call per product and field, one candidate, no checks."""
    import torch
    from transformers import pipeline

    location = base_model_location(language, store_dir=args.store)
    model = load_language_model(str(location.path), location.name)
    generator = pipeline(
        "text-generation",
        model=model.model,
        tokenizer=model.tokenizer,
        device=0 if torch.cuda.is_available() else -1,
    )
    drafts = tokens = 0
    started = time.perf_counter()
    for field in fields:
        options = PromptOptions(field=field, language=language)
        for facts in products:
            prompt = build_prompt(facts, options)
            out = generator(
                list(prompt.messages),
                max_new_tokens=prompt.max_new_tokens,
                do_sample=True,
                temperature=0.7,
                top_p=0.9,
                return_full_text=False,
            )
            text = out[0]["generated_text"]
            tokens += len(
                model.tokenizer(text if isinstance(text, str) else text[-1]["content"])["input_ids"]
            )
            drafts += 1
    seconds = time.perf_counter() - started
    return {
        "drafts": drafts,
        "seconds": round(seconds, 1),
        "drafts_per_min": round(60 * drafts / seconds, 1),
        "tokens_per_s": round(tokens / seconds, 1),
        "candidates_per_draft": 1,
        "peak_memory_mb": round(peak_memory_mb()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--language", default="en", choices=["en", "zh"])
    parser.add_argument("--products", type=int, default=100)
    parser.add_argument("--baseline-products", type=int, default=20)
    parser.add_argument("--fields", nargs="+", default=["title", "bullets", "description"])
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument(
        "--store", type=Path, default=Path(os.environ.get("COPILOT_MODEL_STORE", ROOT / "var" / "models"))
    )
    parser.add_argument("--skip-load", action="store_true", help="skip the first-conversion timing")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import torch

    from generation.ml.generator import configure_torch_threads

    configure_torch_threads()
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU ({os.cpu_count()} cores)"
    products = demo_products(args.language, args.products)
    results: dict[str, object] = {
        "device": device,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "language": args.language,
        "fields": args.fields,
        "products": args.products,
    }
    results["batched"] = run_batched(products, args.fields, args.language, args)
    if args.baseline_products:
        results["pipeline"] = run_pipeline(
            products[: args.baseline_products], args.fields, args.language, args
        )
    if not args.skip_load:  # last: converting reads the whole GGUF and would inflate peak memory
        results["model_load"] = measure_load(args.language, args.store)

    print(f"\nDraft generation on {device}, {args.language}, fields {', '.join(args.fields)}")
    header = ("path", "drafts", "seconds", "drafts/min", "tokens/s", "cand.", "peak MB")
    print(f"{header[0]:<10} " + " ".join(f"{h:>10}" for h in header[1:]))
    for name in ("batched", "pipeline"):
        row = results.get(name)
        if row:
            values = (row["drafts"], row["seconds"], row["drafts_per_min"], row["tokens_per_s"],
                      row["candidates_per_draft"], row["peak_memory_mb"])
            print(f"{name:<10} " + " ".join(f"{v:>10}" for v in values))
    if "model_load" in results:
        load = results["model_load"]
        print(
            f"model load: first conversion {load['first_conversion_s']} s, cached {load['cached_load_s']} s"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
