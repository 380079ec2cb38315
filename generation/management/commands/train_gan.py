"""Train the product-image GAN in this process, with a progress bar; the admin's runs use the gpu queue."""

from __future__ import annotations

import shutil
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from catalog.models import JobStatus, Merchant
from generation import gan_training
from generation.ml.gan.train import CHECKPOINT_NAME
from generation.models import ImageModelVersion, ImageTrainingRun


class Command(BaseCommand):
    help = "Train the conditional GAN on tinted Fashion-MNIST (demo) or a merchant's catalog photos."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--source", choices=ImageModelVersion.Source.values, default="fashion-mnist")
        parser.add_argument("--merchant", help="merchant slug (needed for --source catalog)")
        parser.add_argument("--epochs", type=int, default=1)
        parser.add_argument("--max-steps", type=int, help="stop after this many steps in all")
        parser.add_argument("--batch-size", type=int, default=64)
        parser.add_argument("--image-size", type=int, choices=[32, 64, 128], default=None)
        parser.add_argument("--limit", type=int, help="use only the first N training images")
        parser.add_argument("--resume", action="store_true", help="continue the last unfinished run")

    def handle(self, *args, **options) -> None:
        merchant = None
        if options["merchant"]:
            merchant = Merchant.objects.filter(slug=options["merchant"]).first()
            if merchant is None:
                raise CommandError(f"No merchant with the slug '{options['merchant']}'.")
        config = {"epochs": options["epochs"], "batch_size": options["batch_size"]}
        for name in ("max_steps", "image_size", "limit"):
            if options[name]:
                config[name] = options[name]
        previous = None
        if options["resume"]:
            previous = (
                ImageTrainingRun.objects.filter(source=options["source"], merchant=merchant)
                .exclude(status=JobStatus.SUCCEEDED)
                .first()
            )
            checkpoint = previous and gan_training.training_work_dir(previous) / CHECKPOINT_NAME
            if not checkpoint or not checkpoint.exists():
                raise CommandError("There is no unfinished run with a checkpoint to resume.")
            config = previous.config
        try:
            run = gan_training.image_training_start(
                source=options["source"], merchant=merchant, config=config, enqueue=False
            )
        except Exception as exc:
            raise CommandError(str(exc)) from exc
        if previous is not None:
            target = gan_training.training_work_dir(run)
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(
                gan_training.training_work_dir(previous) / CHECKPOINT_NAME, target / CHECKPOINT_NAME
            )
        started = time.monotonic()

        def bar(step: int, total: int, losses: dict[str, float]) -> None:
            width = 30
            filled = int(width * step / max(total, 1))
            sys.stdout.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {step}/{total} steps  "
                f"D {losses.get('d_loss', 0):.3f}  G {losses.get('g_loss', 0):.3f}  "
                f"{time.monotonic() - started:.0f} s"
            )
            sys.stdout.flush()

        run = gan_training.image_training_run(job_id=run.pk, report=bar)
        self.stdout.write("")
        if run.status != JobStatus.SUCCEEDED:
            raise CommandError(run.error_message or f"The run ended {run.status}.")
        metrics = run.version.metrics
        self.stdout.write(self.style.SUCCESS(f"{run.log}. Saved {run.version.artifact_path}"))
        self.stdout.write(
            "classifier match: category {category_match:.0%}, colour {colour_match:.0%}, "
            "both {both_match:.0%}; "
            "Fréchet distance {frechet_distance:.2f}".format(**metrics)
        )
        self.stdout.write(f"sample grids: {gan_training.training_work_dir(run) / 'samples'}")
