"""Convert the shipped base models into the model store now, instead of on the first job."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from generation.ml.model_store import ModelStoreError, base_model_location


class Command(BaseCommand):
    help = "Convert (once) and check the base language models; later runs return at once."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--language",
            choices=["en", "zh"],
            action="append",
            help="only this language (repeatable); default both",
        )

    def handle(self, *args, **options) -> None:
        configured = {"en": settings.COPILOT_BASE_MODEL_EN, "zh": settings.COPILOT_BASE_MODEL_ZH}
        for language in options["language"] or ["en", "zh"]:
            started = time.monotonic()
            try:
                location = base_model_location(
                    language, store_dir=settings.COPILOT_MODEL_STORE, configured=configured[language]
                )
            except ModelStoreError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(
                f"{language}: {location.name} ready in {location.path} ({time.monotonic() - started:.1f} s)"
            )
