from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from catalog import services
from catalog.models import JobStatus, Merchant


class Command(BaseCommand):
    help = "Import a CSV or JSON Lines catalog file for a merchant (by slug), in this process."

    def add_arguments(self, parser):
        parser.add_argument("merchant", help="the merchant's slug")
        parser.add_argument("file", help="path to a .csv or .jsonl file")

    def handle(self, *args, **options):
        merchant = Merchant.objects.filter(slug=options["merchant"]).first()
        if merchant is None:
            raise CommandError(f"No merchant with the slug '{options['merchant']}'.")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            job = services.import_catalog_file(merchant=merchant, path=str(path))
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        if job.status != JobStatus.SUCCEEDED:
            lines = [job.error_message]
            lines += [f"  row {e['row']}, {e['column']}: {e['message']}" for e in job.errors]
            raise CommandError("\n".join(lines))
        self.stdout.write(
            f"Imported {job.total} products into '{merchant.slug}': "
            f"{job.created_count} new, {job.updated_count} updated (import #{job.pk})."
        )
