from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

from catalog import services
from catalog.models import JobStatus, Merchant, User

DEMO_CATALOG = Path(__file__).resolve().parents[2] / "demo" / "demo_catalog.jsonl"
DEMO_MERCHANT = "Demo Store"
DEMO_SLUG = "demo"
DEMO_USER = "demo"
DEMO_PASSWORD = "demo-copilot"  # noqa: S105 - stated in the README; a demo, not a secret
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin-copilot"  # noqa: S105 - documented demo login


class Command(BaseCommand):
    help = (
        "Create the demo merchant (login demo / demo-copilot), a platform admin "
        "(admin / admin-copilot) and the demo catalog. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-admin", action="store_true", help="skip the platform admin user")

    def handle(self, *args, **options):
        merchant = Merchant.objects.filter(slug=DEMO_SLUG).first()
        if merchant is None:
            account = services.merchant_create(
                name=DEMO_MERCHANT, slug=DEMO_SLUG, username=DEMO_USER, password=DEMO_PASSWORD
            )
            merchant = account.merchant
            self.stdout.write(f"Created merchant '{DEMO_MERCHANT}' with user '{DEMO_USER}'.")
        if not options["no_admin"] and not User.objects.filter(username=ADMIN_USER).exists():
            User.objects.create_superuser(ADMIN_USER, password=ADMIN_PASSWORD)
            self.stdout.write(f"Created platform admin '{ADMIN_USER}'.")
        job = services.import_catalog_file(merchant=merchant, path=str(DEMO_CATALOG))
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(f"The demo catalog did not import: {job.error_message}")
        token = Token.objects.filter(user__username=DEMO_USER).values_list("key", flat=True).first()
        self.stdout.write(
            f"Demo catalog: {job.total} products ({job.created_count} new). "
            f"Log in as {DEMO_USER} / {DEMO_PASSWORD}. API token: {token}"
        )
