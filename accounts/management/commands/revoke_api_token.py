from django.core.management.base import BaseCommand, CommandError

from accounts.models import ApiToken
from accounts.services import api_token_revoke


class Command(BaseCommand):
    help = "Revokes the API token whose prefix (as list_api_tokens shows it) is given."

    def add_arguments(self, parser):
        parser.add_argument("prefix", help="the token's first characters, e.g. stn_AbCdEfGh")

    def handle(self, *args, **options):
        matches = list(ApiToken.objects.filter(prefix__startswith=options["prefix"].rstrip("…"))[:2])
        if not matches:
            raise CommandError("No token has that prefix.")
        if len(matches) > 1:
            raise CommandError("Several tokens have that prefix; give more of it.")
        token = api_token_revoke(token=matches[0])
        self.stdout.write(f"Revoked {token.prefix}… of {token.user.username}.")
