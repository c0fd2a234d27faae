from django.core.management.base import BaseCommand, CommandError

from accounts.services import COMPANY_PROFILE_FIELDS, company_create, user_get_or_create
from config.errors import ApplicationError


class Command(BaseCommand):
    help = "Creates a company with its default series; prints the company UUID as the last line."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--cif", required=True, help="CUI/CIF, with or without the RO prefix")
        parser.add_argument("--currency", default="RON")
        parser.add_argument("--owner", help="username; created if needed and made a member")
        parser.add_argument("--vat-code")
        parser.add_argument("--not-vat-payer", action="store_true")
        parser.add_argument("--registration-number")
        parser.add_argument("--address")
        parser.add_argument("--city")
        parser.add_argument("--county", help="ISO 3166-2:RO, e.g. RO-CJ or CJ")
        parser.add_argument("--country")
        parser.add_argument("--postal-code")
        parser.add_argument("--iban")
        parser.add_argument("--bank")
        parser.add_argument("--email")
        parser.add_argument("--credit-note-format", choices=["credit_note", "storno_invoice"])

    def handle(self, *args, **options):
        passed_apart = ("name", "cif", "is_vat_payer")
        profile = {
            field: options[field]
            for field in COMPANY_PROFILE_FIELDS
            if field not in passed_apart and options.get(field) is not None
        }
        profile["currency"] = options["currency"]
        profile["is_vat_payer"] = not options["not_vat_payer"]
        owner = user_get_or_create(username=options["owner"]) if options.get("owner") else None
        try:
            company = company_create(name=options["name"], cif=options["cif"], owner=owner, **profile)
        except ApplicationError as error:
            problems = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.details.items())
            raise CommandError(problems or error.message) from error
        self.stdout.write(f"Created {company.name} with series FAC- and CN-.")
        self.stdout.write(str(company.uuid))
