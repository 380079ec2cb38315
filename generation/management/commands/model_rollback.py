"""Stop a merchant's (or the shared) newest promoted model; the one promoted before writes again."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from catalog.models import Merchant
from generation.ml.prompts import LANGUAGES
from generation.promotion import model_rollback


class Command(BaseCommand):
    help = (
        "Roll back MERCHANT's promoted copy model (or the shared one: 'shared'); the model promoted "
        "before it writes the next drafts, or the shared / base model when there was none."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("merchant", metavar="MERCHANT", help="the merchant's slug, or 'shared'")
        parser.add_argument("--language", choices=LANGUAGES, default="en")

    def handle(self, *args, merchant: str, language: str, **options) -> None:
        owner = None
        if merchant != "shared":
            owner = Merchant.objects.filter(slug=merchant).first()
            if owner is None:
                raise CommandError(f"No merchant with the slug '{merchant}'.")
        try:
            retired, restored = model_rollback(merchant=owner, language=language)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(f"Retired {retired.name}.")
        if restored is not None:
            self.stdout.write(
                self.style.SUCCESS(f"{restored.name} writes {merchant}'s {language} copy again.")
            )
        else:
            fallback = "the shared model" if owner is not None else "the base model"
            self.stdout.write(
                self.style.WARNING(f"No earlier model: {fallback} writes {merchant}'s {language} copy.")
            )
