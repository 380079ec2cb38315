"""Fine-tune LoRA adapters in this process, with a progress bar; the admin's runs use the gpu queue."""

from __future__ import annotations

import sys
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from catalog.models import JobStatus
from generation import training
from generation.ml.prompts import LANGUAGES


class Command(BaseCommand):
    help = "Train the shared day-one adapters on the bootstrap corpus (--bootstrap)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--bootstrap", action="store_true", help="train the shared adapter of each language on the corpus"
        )
        parser.add_argument("--language", choices=LANGUAGES, help="only this language (default: both)")
        parser.add_argument("--epochs", type=int)
        parser.add_argument("--lr", type=float, help="learning rate")
        parser.add_argument("--rank", type=int, help="LoRA rank")
        parser.add_argument("--max-steps", type=int, help="stop after this many optimisation steps")
        parser.add_argument("--batch-size", type=int)
        parser.add_argument(
            "--queue", action="store_true", help="send the runs to the gpu queue instead of training here"
        )

    def handle(self, *args, **options) -> None:
        if not options["bootstrap"]:
            raise CommandError("Say what to train: --bootstrap trains the shared adapters on the corpus.")
        overrides = {
            name: options[option]
            for name, option in (
                ("epochs", "epochs"),
                ("learning_rate", "lr"),
                ("rank", "rank"),
                ("max_steps", "max_steps"),
                ("batch_size", "batch_size"),
            )
            if options[option] is not None
        }
        if "rank" in overrides:
            overrides["alpha"] = 2 * overrides["rank"]
        languages = [options["language"]] if options["language"] else list(LANGUAGES)
        failed = []
        for language in languages:
            try:
                run = training.bootstrap_training_start(language, config=overrides, enqueue=options["queue"])
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
            if options["queue"]:
                self.stdout.write(f"Queued training run {run.pk} ({language}) on the gpu queue.")
                continue
            self.stdout.write(f"Training the shared {language} adapter (run {run.pk})")
            run = training.training_run_execute(job_id=run.pk, report=_progress_bar(), queue_next=False)
            self.stdout.write("")
            if run.status != JobStatus.SUCCEEDED:
                failed.append(f"{language}: {run.error_message or run.status}")
                continue
            self.stdout.write(run.log)
            style = self.style.SUCCESS if run.version.is_promoted else self.style.WARNING
            self.stdout.write(style(f"{run.version.name} ({run.version.adapter_path})"))
        if failed:
            raise CommandError("; ".join(failed))


def _progress_bar():
    started = time.monotonic()

    def bar(stage: str, done: int, total: int) -> None:
        width = 30
        filled = int(width * done / max(total, 1))
        sys.stdout.write(
            f"\r{stage:8} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}  "
            f"{time.monotonic() - started:.0f} s"
        )
        sys.stdout.flush()

    return bar
