"""Helpers shared by the API tests: build objects through the API itself and check API.md's error shape."""

import re
from decimal import Decimal

import pytest

from tests import factories

V1 = "/api/v1"
MONEY = re.compile(r"^-?\d+\.\d{2}$")
QUANTITY = re.compile(r"^-?\d+\.\d{4}$")
RATE6 = re.compile(r"^\d+\.\d{6}$")


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    """The response is API.md's error shape with this status and code (and `field` in details)."""
    assert response.status_code == status, (response.status_code, response.data_json)
    body = response.data_json
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["details"], dict), error
    if field is not None:
        assert field in error["details"], (field, error["details"])
    return error


def assert_error_shape(response) -> None:
    """Any 4xx: the one error shape, whatever the code."""
    body = response.data_json
    assert isinstance(body, dict) and set(body) == {"error"}, (response.status_code, body)
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["details"], dict)


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, (response.status_code, response.data_json)
    return response.data_json


def line(description="Servicii consultanță", quantity="2", unit_price="100.00", vat_rate="21", **extra) -> dict:
    return {"description": description, "quantity": quantity, "unitPrice": unit_price, "vatRate": vat_rate, **extra}


CLIENT_BODY = {
    "name": "Acme Distribuție SRL",
    "cui": "RO14399840",
    "isVatPayer": True,
    "address": "Bd. Unirii 1",
    "city": "Sector 3",
    "county": "RO-B",
    "country": "RO",
    "email": "contabilitate@acme.ro",
}


def make_client(api, **overrides) -> dict:
    return ok(api.post(f"{V1}/clients", {**CLIENT_BODY, **overrides}), 201)


def make_invoice(api, client_id, *, lines=None, issue=True, **extra) -> dict:
    body = {"clientId": str(client_id), "lines": lines or [line()], "issue": issue, **extra}
    return ok(api.post(f"{V1}/invoices", body), 201)


def make_credit(api, invoice_id, **body) -> dict:
    body.setdefault("issue", True)
    body.setdefault("autoApply", False)
    return ok(api.post(f"{V1}/invoices/{invoice_id}/credit", body), 201)


def make_note(api, client_id, *, lines=None, issue=True, reason="Discount comercial", **extra) -> dict:
    body = {"clientId": str(client_id), "lines": lines or [line()], "issue": issue, "reason": reason, **extra}
    return ok(api.post(f"{V1}/credit_notes", body), 201)


@pytest.fixture
def client_(api) -> dict:
    return make_client(api)


@pytest.fixture
def foreign(other_company):
    """Objects of another company: a client, its series, an issued invoice, drafts and notes."""
    client = factories.client(other_company)
    invoice = factories.invoice(other_company, client_=client)
    draft = factories.invoice(other_company, client_=client, issue=False)
    note = factories.credit(invoice, amount=Decimal("10.00"))
    draft_note = factories.standalone_note(other_company, client_=client, issue=False)
    series = other_company.series.get(name="FAC")
    return {
        "client": client,
        "invoice": invoice,
        "draft": draft,
        "note": note,
        "draft_note": draft_note,
        "series": series,
        "line": invoice.lines.first(),
    }
