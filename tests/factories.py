"""Factories for the domain, built through the services so every object obeys the same rules."""

from decimal import Decimal

import factory

from accounts.services import company_create
from creditnotes.services import credit_note_create, invoice_credit
from invoices.models import Client
from invoices.services import client_create, invoice_create, payment_record


def company(**overrides):
    values = {
        "name": "Stornare Demo SRL",
        "cif": "RO18547290",
        "registration_number": "J12/3456/2020",
        "address": "Str. Memorandumului 28",
        "city": "Cluj-Napoca",
        "county": "RO-CJ",
        "iban": "RO49AAAA1B31007593840000",
        "bank": "Banca Transilvania",
    }
    values.update(overrides)
    return company_create(**values)


class ClientFactory(factory.Factory):
    class Meta:
        model = Client

    name = factory.Sequence(lambda n: f"Client {n} SRL")
    cui = "RO14399840"
    is_vat_payer = True
    address = "Bd. Unirii 1"
    city = "Sector 3"
    county = "RO-B"
    country = "RO"
    email = "contabilitate@client.ro"

    @classmethod
    def _create(cls, model_class, company, **kwargs):
        return client_create(company=company, **kwargs)


def client(company, **overrides):
    return ClientFactory.create(company=company, **overrides)


def line(description="Servicii", quantity="1", unit_price="100.00", vat_rate="21", **extra):
    return {
        "description": description,
        "quantity": Decimal(str(quantity)),
        "unit_price": Decimal(str(unit_price)),
        "vat_rate": Decimal(str(vat_rate)),
        **extra,
    }


def invoice(company, *, client_=None, lines=None, issue=True, **values):
    """An invoice (issued by default) with the given service-level lines (see `line`)."""
    client_ = client_ or client(company)
    return invoice_create(company=company, client_id=client_.uuid, lines=lines or [line()], issue=issue, **values)


def credit(invoice_, *, issue=True, reason="Returned goods", **values):
    """A credit note against `invoice_` (POST /invoices/{id}/credit semantics)."""
    values.setdefault("auto_apply", False)
    return invoice_credit(invoice=invoice_, issue=issue, reason=reason, **values)


def standalone_note(company, *, client_, lines=None, issue=True, reason="Goodwill", **values):
    return credit_note_create(
        company=company, client_id=client_.uuid, lines=lines or [line()], issue=issue, reason=reason, **values
    )


def pay(invoice_, amount):
    return payment_record(document=invoice_, amount=Decimal(str(amount)))
