from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from catalog import services


class Command(BaseCommand):
    help = "Create a merchant with its first user, and print that user's API token."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the merchant's display name")
        parser.add_argument("--user", required=True, help="username of the first user")
        parser.add_argument("--password", required=True, help="that user's password")
        parser.add_argument("--slug", default="", help="short id (default: from the name)")

    def handle(self, *args, **options):
        try:
            account = services.merchant_create(
                name=options["name"],
                slug=options["slug"],
                username=options["user"],
                password=options["password"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(
            f"Created merchant '{account.merchant.name}' (slug {account.merchant.slug}) "
            f"with user '{account.user.username}'."
        )
        self.stdout.write(f"API token: {account.token}")
