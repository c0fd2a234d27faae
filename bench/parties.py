"""The seller and buyer every benchmark issues between: parties complete enough to issue (einvoice.readiness)."""

from accounts.services import company_create
from invoices.services import client_create


def bench_company(name: str):
    return company_create(
        name=name, cif="RO18547290", address="Str. Memorandumului 28", county="RO-CJ", city="Cluj-Napoca"
    )


def bench_client(company, name: str = "Client SRL"):
    return client_create(
        company=company, name=name, cui="RO14399840", address="Bd. Unirii 1", county="RO-B", city="Sector 1"
    )
