import datetime
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Company
from accounts.services import api_token_create, company_create, user_get_or_create
from creditnotes.services import credit_note_apply, credit_note_create, invoice_credit
from invoices.services import client_create, invoice_create, payment_record, today_in_romania

DEMO_CIF = "18547290"
DEMO_USER = "demo"


def _line(description, quantity, unit_price, vat_rate="21", **extra):
    return {
        "description": description,
        "quantity": Decimal(quantity),
        "unit_price": Decimal(unit_price),
        "vat_rate": Decimal(vat_rate),
        **extra,
    }


class Command(BaseCommand):
    help = "Loads a demo company with clients, invoices and credit notes (once); prints its id and a new API token."

    def handle(self, *args, **options):
        user = user_get_or_create(username=DEMO_USER)
        company = Company.objects.filter(cif=DEMO_CIF, memberships__user=user).first()
        if company is None:
            with transaction.atomic():
                company = self._load(user)
            self.stdout.write(f"Loaded the demo company {company.name} with clients, invoices and credit notes.")
        _, key = api_token_create(user=user, name="make run")
        self.stdout.write(f"Company id: {company.uuid}")
        self.stdout.write(f"API token:  {key}")

    def _load(self, user):
        company = company_create(
            name="Stornare Demo SRL",
            cif=f"RO{DEMO_CIF}",
            owner=user,
            registration_number="J12/3456/2020",
            address="Str. Memorandumului 28",
            city="Cluj-Napoca",
            county="RO-CJ",
            postal_code="400114",
            iban="RO49AAAA1B31007593840000",
            bank="Banca Transilvania",
            email="facturare@stornare.example",
        )
        acme = client_create(
            company=company,
            name="Acme Distribuție SRL",
            cui="RO14399840",
            is_vat_payer=True,
            registration_number="J40/1234/2001",
            address="Bd. Unirii 1",
            city="Sector 3",
            county="RO-B",
            email="contabilitate@acme.example",
        )
        carpati = client_create(
            company=company,
            name="Carpați Soft SRL",
            cui="RO18547290",
            is_vat_payer=True,
            address="Str. Lungă 10",
            city="Brașov",
            county="RO-BV",
        )
        ion = client_create(
            company=company,
            type="individual",
            name="Ion Popescu",
            address="Str. Florilor 3",
            city="Iași",
            county="RO-IS",
        )
        today = today_in_romania()

        def day(days_ago: int) -> datetime.date:
            return max(today - datetime.timedelta(days=days_ago), today.replace(month=1, day=1))

        def invoice(client, lines, days_ago):
            return invoice_create(
                company=company, user=user, client_id=client.uuid, lines=lines, issue_date=day(days_ago), issue=True
            )

        services = invoice(
            acme,
            [
                _line("Consultanță implementare", "20", "250.00", unit_of_measure="HUR"),
                _line("Licență anuală", "1", "1200.00"),
                _line("Manual tipărit", "5", "45.50", "11"),
            ],
            40,
        )
        hardware = invoice(carpati, [_line("Laptop", "3", "4200.00"), _line("Garanție extinsă", "3", "300.00")], 30)
        books = invoice(ion, [_line("Carte", "4", "59.90", "11")], 20)
        invoice(acme, [_line("Mentenanță lunară", "1", "1500.00")], 10)
        invoice_create(
            company=company, user=user, client_id=acme.uuid, lines=[_line("Audit securitate", "8", "300.00")]
        )

        payment_record(document=services, amount=Decimal("2000.00"), method="bank_transfer", reference="OP 117")
        # A partial credit by line, applied to what is still owed.
        invoice_credit(
            invoice=services,
            user=user,
            reason="Ore facturate în plus",
            lines=[{"parent_line_id": services.lines.get(position=1).uuid, "quantity": Decimal("4")}],
            issue_date=day(35),
            issue=True,
        )
        # A full storno of an invoice, refund-ready.
        invoice_credit(
            invoice=books, user=user, reason="Comandă anulată", issue_date=day(15), issue=True, auto_apply=False
        )
        # A credit by amount (a price reduction) applied by hand.
        discount = invoice_credit(
            invoice=hardware,
            user=user,
            reason="Reducere comercială",
            amount=Decimal("1210.00"),
            vat_rate=Decimal("21"),
            issue_date=day(25),
            issue=True,
            auto_apply=False,
        )
        credit_note_apply(document=discount, invoice_id=hardware.uuid, amount=Decimal("605.00"), user=user)
        # A standalone goodwill note, still a draft.
        credit_note_create(
            company=company,
            user=user,
            client_id=ion.uuid,
            reason="Gest comercial",
            lines=[_line("Voucher fidelitate", "1", "50.00")],
        )
        return company
