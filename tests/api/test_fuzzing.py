"""Schemathesis against the live schema, in process: every operation, with generated valid and invalid
data, must never answer 5xx, and must answer only documented statuses and bodies that match the schema.

Path ids are those of real objects of the acting company (the tenancy matrix covers foreign and unknown
ids), so the generated bodies reach the services rather than stopping at a 404.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests import factories
from tests.api.test_tenancy_matrix import owner_of

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


# Built once, at collection: the schema view needs no database.
SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
OPERATIONS = {operation.label: operation for operation in (r.ok() for r in SCHEMA.get_all_operations())}


@pytest.fixture
def in_process_requests(db):
    # Called as a WSGI app, Django would close the test's connection at the end of each request (its
    # test client turns that off too); the test transaction must outlive the requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def objects(company):
    """One of each thing a path can name, in states where most actions can still happen."""
    client = factories.client(company)
    invoice = factories.invoice(
        company, client_=client, lines=[factories.line(quantity="5"), factories.line(vat_rate="11")]
    )
    note = factories.credit(invoice, lines=None, amount=factories.Decimal("50.00"), vat_rate=factories.Decimal("21"))
    return {
        "invoice": invoice,
        "note": note,
        "draft_note": factories.standalone_note(company, client_=client, issue=False),
        "client": client,
        "series": company.series.get(name="FAC"),
    }


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_every_operation_stays_within_its_schema(label, mode, in_process_requests, objects, token, company):
    operation = OPERATIONS[label]
    headers = {"authtoken": token, "X-Company": str(company.uuid)}
    path_parameters = {"id": str(objects[owner_of(operation.path)].uuid)} if "{id}" in operation.path else None

    @given(case=operation.as_strategy(mode, headers=headers, path_parameters=path_parameters))
    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def stays_within_schema(case):
        case.headers.pop("Authorization", None)
        case.call_and_validate(checks=CHECKS)

    stays_within_schema()
