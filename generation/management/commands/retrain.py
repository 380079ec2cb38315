"""Fine-tune copy models on accepted copy (or the corpus), here with a progress bar or on the gpu queue.

manage.py retrain                      every merchant with accepted copy whose data changed
manage.py retrain --merchant acme      one merchant's own adapter
manage.py retrain --global             the shared adapter, from the merchants who opted in
manage.py retrain --bootstrap          the shared day-one adapters, from the shipped corpus
manage.py retrain --dry-run            say what would be trained and why, train nothing
"""

from __future__ import annotations

import sys
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from catalog.models import JobStatus, Merchant
from generation import training
from generation.ml.prompts import LANGUAGES
from generation.models import TrainingRun


class Command(BaseCommand):
    help = (
        "Fine-tune copy models: every merchant with new accepted copy (default), one --merchant, "
        "the shared model from opted-in merchants (--global), or the day-one adapters (--bootstrap)."
    )

    def add_arguments(self, parser) -> None:
        who = parser.add_mutually_exclusive_group()
        who.add_argument("--merchant", metavar="SLUG", help="train this merchant's own adapter")
        who.add_argument(
            "--global",
            dest="shared",
            action="store_true",
            help="train the shared adapter on the accepted copy of merchants who opted in",
        )
        who.add_argument(
            "--bootstrap", action="store_true", help="train the shared day-one adapters on the corpus"
        )
        parser.add_argument("--full", action="store_true", help="fine-tune every weight instead of LoRA")
        parser.add_argument("--language", choices=LANGUAGES, help="only this language (default: both)")
        parser.add_argument("--epochs", type=int)
        parser.add_argument("--lr", type=float, help="learning rate")
        parser.add_argument("--rank", type=int, help="LoRA rank")
        parser.add_argument("--max-steps", type=int, help="stop after this many optimisation steps")
        parser.add_argument("--batch-size", type=int)
        parser.add_argument("--dry-run", action="store_true", help="report what would be trained and why")
        parser.add_argument(
            "--queue", action="store_true", help="send the runs to the gpu queue instead of training here"
        )

    def handle(self, *args, **options) -> None:
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
        languages = (options["language"],) if options["language"] else LANGUAGES
        method = TrainingRun.Method.FULL if options["full"] else TrainingRun.Method.LORA
        try:
            if options["bootstrap"]:
                if options["full"] or options["dry_run"]:
                    raise CommandError(
                        "--bootstrap trains LoRA adapters on the corpus; drop --full / --dry-run."
                    )
                runs = [
                    training.bootstrap_training_start(language, config=overrides, enqueue=options["queue"])
                    for language in languages
                ]
            else:
                runs = self._planned_runs(options, languages, method, overrides)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        if options["queue"]:
            for run in runs:
                self.stdout.write(f"Queued training run {run.pk} ({run.get_kind_display()}, {run.language}).")
            return
        failed = [failure for run in runs if (failure := self._train_here(run))]
        if failed:
            raise CommandError("; ".join(failed))

    def _planned_runs(self, options, languages, method, overrides) -> list[TrainingRun]:
        merchants = None
        if options["merchant"]:
            merchant = Merchant.objects.filter(slug=options["merchant"]).first()
            if merchant is None:
                raise CommandError(f"No merchant with the slug '{options['merchant']}'.")
            merchants = [merchant]
        plans = training.retrain_plan(
            merchants=merchants,
            shared=options["shared"],
            languages=languages,
            method=method,
            config=overrides,
        )
        if not plans:
            self.stdout.write("No merchant has accepted copy yet: nothing to train.")
            return []
        self.stdout.write(f"{'model':32} {'lang':4} {'examples':>8} {'held out':>8} {'general':>7}  decision")
        for plan in plans:
            excluded = ", ".join(f"{n} {reason}" for reason, n in plan.dataset.get("excluded", {}).items())
            self.stdout.write(
                f"{plan.owner:32} {plan.language:4} {plan.examples:>8} {plan.dataset.get('held_out', 0):>8} "
                f"{plan.dataset.get('general', 0):>7}  {plan.action}: {plan.reason}"
                + (f" (left out: {excluded})" if excluded else "")
            )
        if options["dry_run"]:
            return []
        return [
            training.retrain_start(
                language=plan.language,
                merchant=plan.merchant,
                method=method,
                config=overrides,
                enqueue=options["queue"],
            )
            for plan in plans
            if plan.action == "train"
        ]

    def _train_here(self, run: TrainingRun) -> str:
        owner = run.merchant.slug if run.merchant_id else "shared"
        self.stdout.write(f"Training {owner} {run.language} ({run.get_method_display()}, run {run.pk})")
        run = training.training_run_execute(job_id=run.pk, report=_progress_bar(), queue_next=False)
        self.stdout.write("")
        if run.status != JobStatus.SUCCEEDED:
            return f"{owner} {run.language}: {run.error_message or run.status}"
        self.stdout.write(run.log)
        if run.version is not None:
            style = self.style.SUCCESS if run.version.is_promoted else self.style.WARNING
            self.stdout.write(style(f"{run.version.name} ({run.version.adapter_path})"))
        return ""


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
