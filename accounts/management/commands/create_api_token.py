from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.services import api_token_create, user_get_or_create


class Command(BaseCommand):
    help = "Creates an API token for USERNAME (created if needed); prints the token once, as the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="a label to tell tokens apart")
        parser.add_argument("--expires-in-days", type=int, help="leave out for a token that does not expire")

    def handle(self, *args, **options):
        user = user_get_or_create(username=options["username"])
        days = options.get("expires_in_days")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        token, key = api_token_create(user=user, name=options["name"], expires_at=expires_at)
        self.stdout.write(f"Token {token.prefix}… for {user.username}; store it now, it is not shown again.")
        self.stdout.write(key)
