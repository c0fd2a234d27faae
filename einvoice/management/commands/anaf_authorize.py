"""Walks a person through ANAF's OAuth authorization-code step for one company, and stores the tokens.

ANAF's authorize page needs the company's qualified certificate in the person's browser; this command prints the
URL to open there, then takes the `code` from the address the browser was sent back to (it is valid 60 s).
"""

import uuid
from urllib.parse import parse_qs, urlparse

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Company
from einvoice import tokens
from einvoice.anaf import oauth
from einvoice.anaf.client import AnafError
from einvoice.models import AnafCredentials


class Command(BaseCommand):
    help = "Authorize stornare at ANAF for a company (OAuth authorization code) and store its tokens, encrypted."

    def add_arguments(self, parser):
        parser.add_argument("--company", required=True, help="The company's UUID or CIF.")
        parser.add_argument("--client-id", help="The OAuth client registered at ANAF (kept from a previous run).")
        parser.add_argument("--client-secret", help="Its secret (kept, encrypted, from a previous run).")
        parser.add_argument("--redirect-uri", help="The callback registered with the client, exactly.")
        parser.add_argument(
            "--code", help="The code ANAF redirected with; asked for (code or whole address) if absent."
        )
        parser.add_argument("--oauth-url", default=oauth.OAUTH_BASE_URL, help="ANAF's identity provider (tests).")

    def handle(self, *args, **options):
        company = self.company(options["company"])
        credentials = self.credentials(company, options)
        state = uuid.uuid4().hex
        self.stdout.write("Open this address in a browser that has the company's qualified certificate:\n")
        url = oauth.authorize_url(
            credentials.client_id, credentials.redirect_uri, state=state, base_url=options["oauth_url"]
        )
        self.stdout.write(url + "\n")
        answer = options["code"] or input("Paste the address you were sent back to (or just its code): ")
        code = self.code_from(answer.strip(), state)
        try:
            issued = oauth.exchange_code(
                client_id=credentials.client_id,
                client_secret=tokens.unseal(credentials.client_secret),
                code=code,
                redirect_uri=credentials.redirect_uri,
                base_url=options["oauth_url"],
            )
        except AnafError as error:
            raise CommandError(f"ANAF did not exchange the code: {error}") from None
        tokens.store(credentials, issued)
        self.stdout.write(
            self.style.SUCCESS(
                f"Stored. Access token valid until {issued.expires_at:%Y-%m-%d}; "
                f"authorize again before {credentials.refresh_expires_at:%Y-%m-%d}."
            )
        )

    def company(self, reference: str) -> Company:
        try:
            return Company.objects.get(uuid=uuid.UUID(reference))
        except ValueError:
            companies = list(Company.objects.filter(cif=reference.upper().removeprefix("RO"))[:2])
        except Company.DoesNotExist:
            companies = []
        if len(companies) != 1:
            raise CommandError(f"No single company {reference!r}: give its UUID.")
        return companies[0]

    def credentials(self, company: Company, options) -> AnafCredentials:
        credentials = AnafCredentials.objects.filter(company=company).first() or AnafCredentials(company=company)
        for field in ("client_id", "redirect_uri"):
            if options[field]:
                setattr(credentials, field, options[field])
        if options["client_secret"]:
            credentials.client_secret = tokens.seal(options["client_secret"])
        if not (credentials.client_id and credentials.redirect_uri and credentials.client_secret):
            raise CommandError("First run: give --client-id, --client-secret and --redirect-uri.")
        credentials.save()
        return credentials

    def code_from(self, answer: str, state: str) -> str:
        if "://" not in answer:
            return answer
        query = parse_qs(urlparse(answer).query)
        if query.get("state", [None])[0] != state:
            raise CommandError("That address answers another authorization (its state differs): start again.")
        if "code" not in query:
            raise CommandError(f"ANAF sent no code back: {query.get('error', ['?'])[0]}")
        return query["code"][0]
