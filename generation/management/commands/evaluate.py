"""Score a model on the held-out corpus products (or any corpus-format file): a table and JSON."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from generation.evaluation import (
    evaluate_version,
    evaluation_key,
    evaluation_products,
    parse_fields,
    report_header,
    resolve_version,
)
from generation.ml.channels import channel_profiles
from generation.ml.evaluation import MODES, EvaluationOptions
from generation.ml.metrics import format_table
from generation.ml.prompts import FIELDS, LANGUAGES
from generation.models import ModelVersion


class Command(BaseCommand):
    help = (
        "Write copy for the held-out corpus products and report BLEU, chrF, ROUGE-L, coverage, "
        "unsupported claims, rule breaks, distinct-2, repetition, length and speed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--language", choices=LANGUAGES, default="en")
        parser.add_argument(
            "--mode",
            choices=MODES,
            default="zero-shot",
            help="zero-shot or few-shot prompts on the model's weights; adapter: the model is an adapter",
        )
        parser.add_argument(
            "--model",
            help="'base', 'current' (the promoted adapter, else the base) or a model version id "
            "(default: current for --mode adapter, base otherwise)",
        )
        parser.add_argument("--fields", default=",".join(FIELDS), help="comma-separated fields")
        parser.add_argument("--limit", type=int, default=0, help="only the first N products")
        parser.add_argument("--data", type=Path, help="a JSON Lines file in the corpus format instead")
        parser.add_argument("--examples", type=int, default=2, help="examples per prompt in few-shot mode")
        parser.add_argument("--candidates", type=int, default=1, help="1: greedy; more: sampled and ranked")
        parser.add_argument("--channel", default="generic", help="channel profile for prompts and rules")
        parser.add_argument("--batch-size", type=int, default=8)
        parser.add_argument("--json", type=Path, dest="json_out", help="write the results here")

    def handle(self, *args, **options) -> None:
        mode, language = options["mode"], options["language"]
        profiles = channel_profiles()
        if options["channel"] not in profiles:
            raise CommandError(f"Unknown channel '{options['channel']}'; choose from {', '.join(profiles)}.")
        if options["limit"] < 0 or options["candidates"] < 1 or options["batch_size"] < 1:
            raise CommandError("--limit must be 0 or more; --candidates and --batch-size at least 1.")
        try:
            fields = parse_fields(options["fields"])
            version = resolve_version(
                options["model"] or ("current" if mode == "adapter" else "base"), language
            )
            products = evaluation_products(language, data=options["data"], limit=options["limit"])
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        if mode == "adapter" and version.kind != ModelVersion.Kind.ADAPTER:
            raise CommandError(
                f"--mode adapter needs an adapter, but {version.name} is a base model: train one with "
                "`manage.py retrain --bootstrap`, or pass its version id with --model."
            )
        evaluation_options = EvaluationOptions(
            language=language,
            fields=fields,
            few_shot_examples=options["examples"] if mode == "few-shot" else 0,
            batch_size=options["batch_size"],
            candidates=options["candidates"],
            profile=profiles[options["channel"]],
        )
        source = str(options["data"]) if options["data"] else "held-out corpus split"
        self.stdout.write(f"{version.name} ({mode}) on {len(products)} {language} products from the {source}")
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            sys.stderr.write(f"\r{done}/{total} drafts  {time.monotonic() - started:.0f} s")
            sys.stderr.flush()

        result = evaluate_version(version, products, evaluation_options, progress=progress)
        sys.stderr.write("\n")
        label = f"{version.name} {mode}"
        rows = [(label, result.metrics)] + [(f"  {name}", m) for name, m in result.by_field.items()]
        self.stdout.write(format_table(rows))
        if options["json_out"]:
            report = {
                **report_header(
                    version, mode, source, products, evaluation_key(products, evaluation_options)
                ),
                "options": {
                    "fields": list(fields),
                    "examples": evaluation_options.few_shot_examples,
                    "candidates": evaluation_options.candidates,
                    "channel": options["channel"],
                },
                **result.to_dict(),
                "drafts": [
                    {"field": d.field, "text": d.text, "reference": d.reference} for d in result.drafts
                ],
            }
            options["json_out"].parent.mkdir(parents=True, exist_ok=True)
            options["json_out"].write_text(json.dumps(report, indent=2, ensure_ascii=False))
            self.stdout.write(f"Wrote {options['json_out']}")
