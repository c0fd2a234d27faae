from django.core.management.base import BaseCommand

from accounts.models import ApiToken


class Command(BaseCommand):
    help = "Lists API tokens (prefix, name, user, created, last used, expiry, state); never the tokens themselves."

    def add_arguments(self, parser):
        parser.add_argument("username", nargs="?", help="only this user's tokens")

    def handle(self, *args, **options):
        tokens = ApiToken.objects.select_related("user").order_by("-created")
        if options.get("username"):
            tokens = tokens.filter(user__username=options["username"])
        for token in tokens:
            state = "revoked" if token.revoked else "active"
            self.stdout.write(
                f"{token.prefix}…  {token.user.username}  {token.name or '-'}  created {token.created:%Y-%m-%d}  "
                f"last used {token.last_used or 'never'}  expires {token.expires_at or 'never'}  {state}"
            )
