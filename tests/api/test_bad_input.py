"""Garbage in, never a 500 out: every 4xx in API.md's error shape, with the status and code it names."""

import json
import re
import uuid

import pytest

from tests.api.conftest import (
    V1,
    assert_error,
    assert_error_shape,
    line,
    make_client,
    make_invoice,
    make_note,
)
from tests.conftest import JsonClient

pytestmark = pytest.mark.django_db

HUGE = "x" * 100_000  # 100 KB

# Every endpoint that takes a body, with a body it accepts (placeholders filled by `world`).
BODY_ENDPOINTS = [
    ("post", "/invoices", {"clientId": "{client}", "lines": [line()]}),
    ("patch", "/invoices/{draft}", {"notes": "n"}),
    ("put", "/invoices/{draft}", {"clientId": "{client}", "lines": [line()]}),
    ("post", "/invoices/{draft}/issue", {}),
    ("post", "/invoices/{invoice}/credit", {"amount": "1.00"}),
    ("post", "/invoices/{invoice}/payments", {"amount": "1.00"}),
    ("post", "/credit_notes", {"clientId": "{client}", "reason": "r", "lines": [line()]}),
    ("post", "/credit_notes/preview", {"clientId": "{client}", "reason": "r", "lines": [line()]}),
    ("patch", "/credit_notes/{draft_note}", {"notes": "n"}),
    ("put", "/credit_notes/{draft_note}", {"clientId": "{client}", "reason": "r", "lines": [line()]}),
    ("post", "/credit_notes/{draft_note}/issue", {}),
    ("post", "/credit_notes/{note}/apply", {"invoiceId": "{invoice}", "amount": "1.00"}),
    ("post", "/credit_notes/{note}/refund", {"amount": "1.00"}),
    ("post", "/credit_notes/{note}/void", {}),
    ("patch", "/company", {"phone": "0722"}),
    ("post", "/clients", {"name": "Nou SRL"}),
    ("patch", "/clients/{client}", {"phone": "0722"}),
    ("post", "/series", {"name": "NEW", "kind": "invoice"}),
    ("patch", "/series/{series}", {"padding": 5}),
]
ENDPOINT_IDS = [f"{method} {path}" for method, path, _ in BODY_ENDPOINTS]


@pytest.fixture
def world(api):
    client = make_client(api)
    invoice = make_invoice(api, client["id"], lines=[line(quantity="10")])
    series = api.get(f"{V1}/series").data_json["data"][0]
    return {
        "client": client["id"],
        "invoice": invoice["id"],
        "invoice_line": invoice["lines"][0]["id"],
        "draft": make_invoice(api, client["id"], issue=False)["id"],
        "note": make_note(api, client["id"])["id"],
        "draft_note": make_note(api, client["id"], issue=False)["id"],
        "series": series["id"],
    }


def fill(value, world):
    """The placeholders of a path or body replaced by the ids of `world`."""
    if isinstance(value, str):
        return value.format(**world) if "{" in value else value
    if isinstance(value, dict):
        return {key: fill(item, world) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, world) for item in value]
    return value


def send(api, method, path, body=None, **headers):
    return (
        getattr(api, method)(V1 + path, body, **headers)
        if method not in ("get", "delete")
        else getattr(api, method)(V1 + path, **headers)
    )


def normalized(key: str) -> str:
    """`lines.0.quantity` → `lines[0].quantity`, `lines.non_field_errors` → `lines`: the field, whatever the notation
    (the notation itself is checked once, in test_error_paths_use_api_md_notation)."""
    key = re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", key)
    return key.removesuffix(".non_field_errors")


def assert_invalid(response, field: str) -> dict:
    """422 validation_error naming `field` in its details."""
    error = assert_error(response, 422, "validation_error")
    assert field in {normalized(key) for key in error["details"]}, (field, error["details"])
    return error


def assert_never_500(response) -> None:
    assert response.status_code < 500, (response.status_code, response.data_json)
    if 400 <= response.status_code < 500:
        assert_error_shape(response)


# --- bodies that are not JSON objects ------------------------------------------------------------------------

NOT_JSON = [
    '{"a":',
    "{bad json}",
    "{'single': 'quotes'}",
    '{"a": 1} trailing',
    '{"quantity": NaN}',
    "\x00",
    '{"quantity": Infinity}',
]
NOT_AN_OBJECT = ["[]", "[1, 2]", '"a string"', "42", "null", "true", '[{"clientId": "x"}]']


# The bodies are looped over inside one test per endpoint: each test builds its world of documents through the
# API, and that set-up, not the requests, is what a parameter per body would multiply.
@pytest.mark.parametrize("method,path,body", BODY_ENDPOINTS, ids=ENDPOINT_IDS)
def test_malformed_json_is_400(api, world, method, path, body):
    for raw in NOT_JSON:
        response = send(api, method, fill(path, world), raw)
        assert (response.status_code, error_code(response)) == (400, "malformed_request"), raw
        assert_error(response, 400, "malformed_request")


@pytest.mark.parametrize("method,path,body", BODY_ENDPOINTS, ids=ENDPOINT_IDS)
def test_json_that_is_not_an_object_is_400(api, world, method, path, body):
    for raw in NOT_AN_OBJECT:
        response = send(api, method, fill(path, world), raw)
        assert (response.status_code, error_code(response)) == (400, "malformed_request"), raw
        assert_error(response, 400, "malformed_request")


def error_code(response) -> str | None:
    return (response.data_json or {}).get("error", {}).get("code")


def test_deeply_nested_json_is_400(api, world):
    """A body nested deeper than the parser's recursion limit is still just malformed JSON."""
    failures = []
    for method, path, _ in BODY_ENDPOINTS:
        for raw in ("[" * 100_000, '{"a":' * 50_000):
            response = send(api, method, fill(path, world), raw)
            if (
                response.status_code != 400
                or (response.data_json or {}).get("error", {}).get("code") != "malformed_request"
            ):
                failures.append((method, path, raw[:3], response.status_code))
    assert not failures, failures


def test_invalid_utf8_is_400(api, world):
    response = api.client.post(
        f"{V1}/clients", data=b'{"name": "\xff\xfe"}', content_type="application/json", headers=api.headers
    )
    assert response.status_code == 400
    assert json.loads(response.content)["error"]["code"] == "malformed_request"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_other_content_types_never_500(api, world, content_type):
    response = api.client.post(
        f"{V1}/clients", data='{"name": "X SRL"}', content_type=content_type, headers=api.headers
    )
    assert 400 <= response.status_code < 500
    body = json.loads(response.content)
    assert set(body["error"]) == {"code", "message", "details"}


def test_a_body_without_content_type_is_read_as_json(api, world):
    response = api.client.generic("POST", f"{V1}/clients", data=b"{bad", headers=api.headers, content_type="")
    assert response.status_code == 400


def test_body_over_the_size_cap_is_413(api, world):
    body = json.dumps({"name": "Mare SRL", "address": "y" * (12 * 1024 * 1024)})
    assert_error(api.post(f"{V1}/clients", body), 413, "payload_too_large")


# --- an empty body is {} ------------------------------------------------------------------------------------


@pytest.mark.parametrize("with_content_type", [True, False])
def test_empty_body_on_actions_is_an_empty_object(api, world, with_content_type):
    def post(path):
        return api.post(V1 + path, "") if with_content_type else api.post(V1 + path)

    response = post(f"/invoices/{world['draft']}/issue")
    assert response.status_code == 200, response.data_json
    assert response.data_json["status"] == "issued"
    response = post(f"/credit_notes/{world['draft_note']}/issue")
    assert response.status_code == 200 and response.data_json["status"] == "issued"
    response = post(f"/credit_notes/{world['note']}/void")
    assert response.status_code == 200 and response.data_json["status"] == "voided"
    response = post(f"/invoices/{world['invoice']}/credit")  # credits everything left
    assert response.status_code == 201 and response.data_json["total"] == "-1210.00"
    other = make_note(api, world["client"])
    response = post(f"/credit_notes/{other['id']}/refund")  # refunds all the remaining credit
    assert response.status_code == 201 and response.data_json["amount"] == "242.00"
    fresh = make_note(api, world["client"])
    assert_error(post(f"/credit_notes/{fresh['id']}/apply"), 422, "validation_error", "invoiceId")
    assert_error(post("/invoices"), 422, "validation_error")


def test_empty_patch_changes_nothing(api, world):
    def content(doc):
        lines = [{k: v for k, v in row.items() if k not in ("id", "uuid")} for row in doc["lines"]]
        return {**{k: v for k, v in doc.items() if k != "updatedAt"}, "lines": lines}

    before = api.get(f"{V1}/invoices/{world['draft']}").data_json
    response = api.patch(f"{V1}/invoices/{world['draft']}", "")
    assert response.status_code == 200
    assert content(response.data_json) == content(before)


# --- wrong values in the fields of a document -----------------------------------------------------------


def invoice_body(world, **line_changes):
    return {"clientId": world["client"], "lines": [line(**line_changes)]}


BAD_LINE_VALUES = [
    ("quantity", {"a": 1}),
    ("quantity", [1]),
    ("quantity", True),
    ("quantity", None),
    ("quantity", "abc"),
    ("quantity", "NaN"),
    ("quantity", "nan"),
    ("quantity", "Infinity"),
    ("quantity", "-Infinity"),
    ("quantity", "inf"),
    ("quantity", "1e30"),
    ("quantity", 10**40),
    ("quantity", "1.23456"),
    ("quantity", ""),
    ("quantity", "0"),
    ("quantity", "1e-999999"),
    ("unitPrice", "1.234"),
    ("unitPrice", "NaN"),
    ("unitPrice", "Infinity"),
    ("unitPrice", "1e30"),
    ("unitPrice", 10**40),
    ("unitPrice", {"x": 1}),
    ("unitPrice", False),
    ("unitPrice", "-1.00"),
    ("discount", "1.234"),
    ("discount", "-1"),
    ("discount", "NaN"),
    ("discount", "1000000.00"),
    ("vatRate", "101"),
    ("vatRate", "-1"),
    ("vatRate", "abc"),
    ("vatRate", "21.001"),
    ("vatRate", "NaN"),
    ("description", HUGE),
    ("description", ""),
    ("description", None),
    ("description", ["a"]),
    ("description", "a\x00b"),
    ("description", "   "),
    ("unitOfMeasure", HUGE),
    ("unitOfMeasure", "a!"),
    ("vatCategory", "X"),
    ("vatCategory", HUGE),
    ("vatExemptionReason", HUGE),
    ("vatExemptionCode", HUGE),
]


@pytest.mark.parametrize("field,value", BAD_LINE_VALUES, ids=[f"{f}={str(v)[:12]}" for f, v in BAD_LINE_VALUES])
def test_bad_line_values_are_422(api, world, field, value):
    body = invoice_body(world, **{field: value})
    responses = {
        "invoice": api.post(f"{V1}/invoices", body),
        "credit_note": api.post(f"{V1}/credit_notes", {**body, "reason": "r"}),
        "preview": api.post(f"{V1}/credit_notes/preview", {**body, "reason": "r"}),
        "patch": api.patch(f"{V1}/invoices/{world['draft']}", {"lines": body["lines"]}),
    }
    for response in responses.values():
        assert_invalid(response, f"lines[0].{field}")


def test_zero_rate_with_standard_category_is_422(api, world):
    body = invoice_body(world, vatRate="0", vatCategory="S")
    assert_error(api.post(f"{V1}/invoices", body), 422, "validation_error", "lines[0].vatRate")
    body = invoice_body(world, vatRate="0")
    assert_error(api.post(f"{V1}/invoices", body), 422, "validation_error", "lines[0].vatCategory")
    body = invoice_body(world, vatRate="0", vatCategory="E")
    assert_error(api.post(f"{V1}/invoices", body), 422, "validation_error", "lines[0].vatExemptionReason")


BAD_DOCUMENT_VALUES = [
    ("clientId", 123),
    ("clientId", "not-a-uuid"),
    ("clientId", None),
    ("clientId", HUGE),
    ("seriesId", "x"),
    ("seriesId", ["a"]),
    ("issueDate", "2026-02-30"),
    ("issueDate", "2026-13-01"),
    ("issueDate", "yesterday"),
    ("issueDate", 20260101),
    ("issueDate", "30.01.2026"),
    ("issueDate", HUGE),
    ("dueDate", "2026-02-29"),
    ("dueDate", "tomorrow"),
    ("dueDate", "2020-01-01"),
    ("currency", "EURO"),
    ("currency", "ZZZ"),
    ("currency", 123),
    ("currency", HUGE),
    ("currency", "XAU"),
    ("exchangeRate", "NaN"),
    ("exchangeRate", "0"),
    ("exchangeRate", "-1"),
    ("exchangeRate", "1.1234567"),
    ("exchangeRate", "1e30"),
    ("exchangeRate", "Infinity"),
    ("notes", HUGE),
    ("internalNotes", HUGE),
    ("notes", {"a": 1}),
    ("notes", "a\x00b"),
    ("lines", "abc"),
    ("lines", {}),
    ("lines", [1]),
    ("lines", []),
    ("lines", None),
    ("lines", [None]),
    ("lines", [[]]),
    ("issue", "maybe"),
    ("issue", {"a": 1}),
    ("isCreditNote", "maybe"),
]


@pytest.mark.parametrize("field,value", BAD_DOCUMENT_VALUES, ids=[f"{f}={str(v)[:12]}" for f, v in BAD_DOCUMENT_VALUES])
def test_bad_invoice_values_are_422(api, world, field, value):
    body = {**invoice_body(world), "issueDate": "2026-03-01", field: value}
    if field == "exchangeRate":
        body["currency"] = "EUR"
    if field == "currency":
        body["exchangeRate"] = "5"  # so that only the currency itself can be wrong
    error = assert_error(api.post(f"{V1}/invoices", body), 422, "validation_error")
    assert any(key.startswith(field) for key in error["details"]), error["details"]


@pytest.mark.parametrize("field,value", BAD_DOCUMENT_VALUES, ids=[f"{f}={str(v)[:12]}" for f, v in BAD_DOCUMENT_VALUES])
def test_bad_draft_patch_values_are_422(api, world, field, value):
    body = {field: value, "issueDate": "2026-03-01"} if field != "issueDate" else {field: value}
    if field == "exchangeRate":
        body["currency"] = "EUR"
    if field == "currency":
        body["exchangeRate"] = "5"
    error = assert_error(api.patch(f"{V1}/invoices/{world['draft']}", body), 422, "validation_error")
    assert any(key.startswith(field) for key in error["details"]), error["details"]


BAD_CREDIT_NOTE_VALUES = [
    ("reason", HUGE),
    ("reason", ""),
    ("reason", "   "),
    ("reason", None),
    ("reason", ["x"]),
    ("amount", "NaN"),
    ("amount", "1e30"),
    ("amount", 10**40),
    ("amount", "-1"),
    ("amount", "1.001"),
    ("amount", "Infinity"),
    ("amount", {"a": 1}),
    ("vatRate", "abc"),
    ("vatRate", "101"),
    ("parentDocumentId", "x"),
    ("parentDocumentId", 7),
    ("autoApply", "maybe"),
    ("vatCategory", "Q"),
    ("vatExemptionReason", HUGE),
    ("notes", HUGE),
    ("internalNotes", HUGE),
    ("isCreditNote", "maybe"),
]


@pytest.mark.parametrize(
    "field,value", BAD_CREDIT_NOTE_VALUES, ids=[f"{f}={str(v)[:12]}" for f, v in BAD_CREDIT_NOTE_VALUES]
)
@pytest.mark.parametrize("path", ["/credit_notes", "/credit_notes/preview", "/invoices"])
def test_bad_credit_note_values_are_422(api, world, path, field, value):
    body = {"isCreditNote": True, "clientId": world["client"], "reason": "r", "amount": "10.00", "vatRate": "21"}
    body[field] = value
    if field in ("amount", "vatRate"):
        body.pop("lines", None)
    error = assert_error(api.post(V1 + path, body), 422, "validation_error")
    assert field in error["details"] or any(k.startswith(field) for k in error["details"]), error["details"]


BAD_CREDIT_REQUESTS = [
    ({"amount": "NaN"}, "amount"),
    ({"amount": "1e30"}, "amount"),
    ({"amount": 10**40}, "amount"),
    ({"amount": "1.001"}, "amount"),
    ({"amount": "Infinity"}, "amount"),
    ({"amount": "-1"}, "amount"),
    ({"amount": "1210.01"}, "amount"),
    ({"lines": "all"}, "lines"),
    ({"lines": [{"parentLineId": "x", "quantity": "1"}]}, "lines[0].parentLineId"),
    ({"lines": [{"parentLineId": "{invoice_line}", "quantity": "1.23456"}]}, "lines[0].quantity"),
    ({"lines": [{"parentLineId": "{invoice_line}", "quantity": "NaN"}]}, "lines[0].quantity"),
    ({"lines": [{"parentLineId": "{invoice_line}", "quantity": "11"}]}, "lines[0].quantity"),
    ({"lines": [{"parentLineId": "{invoice_line}", "quantity": "1", "unitPrice": "5"}]}, "lines[0].unitPrice"),
    ({"lines": [{"parentLineId": "{invoice_line}"}]}, "lines[0].quantity"),
    ({"reason": HUGE}, "reason"),
    ({"notes": HUGE}, "notes"),
    ({"internalNotes": HUGE}, "internalNotes"),
    ({"issueDate": "2026-02-30"}, "issueDate"),
    ({"issueDate": "yesterday"}, "issueDate"),
    ({"issueDate": "2000-01-01"}, "issueDate"),
    ({"dueDate": "soon"}, "dueDate"),
    ({"exchangeRate": "NaN"}, "exchangeRate"),
    ({"issue": "maybe"}, "issue"),
    ({"autoApply": []}, "autoApply"),
    ({"seriesId": "x"}, "seriesId"),
    ({"clientId": "{client}"}, "clientId"),
    ({"currency": "EUR"}, "currency"),
]


@pytest.mark.parametrize("body,field", BAD_CREDIT_REQUESTS, ids=[f for _, f in BAD_CREDIT_REQUESTS])
def test_bad_credit_requests_are_422(api, world, body, field):
    response = api.post(f"{V1}/invoices/{world['invoice']}/credit", fill(body, world))
    assert_invalid(response, field)


BAD_PAYMENTS = [
    ({"amount": "NaN"}, "amount"),
    ({"amount": "1e30"}, "amount"),
    ({"amount": 10**40}, "amount"),
    ({"amount": "1.001"}, "amount"),
    ({"amount": "0"}, "amount"),
    ({"amount": "-5"}, "amount"),
    ({"amount": {"a": 1}}, "amount"),
    ({"amount": True}, "amount"),
    ({}, "amount"),
    ({"amount": "Infinity"}, "amount"),
    ({"amount": "1.00", "date": "2026-02-30"}, "date"),
    ({"amount": "1.00", "date": "yesterday"}, "date"),
    ({"amount": "1.00", "method": "bitcoin"}, "method"),
    ({"amount": "1.00", "method": HUGE}, "method"),
    ({"amount": "1.00", "reference": HUGE}, "reference"),
    ({"amount": "1.00", "reference": ["a"]}, "reference"),
]


@pytest.mark.parametrize("body,field", BAD_PAYMENTS, ids=[f"{f}-{i}" for i, (_, f) in enumerate(BAD_PAYMENTS)])
def test_bad_payments_are_422(api, world, body, field):
    assert_error(api.post(f"{V1}/invoices/{world['invoice']}/payments", body), 422, "validation_error", field)


BAD_APPLY_REFUND = [
    ("apply", {"invoiceId": "x"}, "invoiceId"),
    ("apply", {"invoiceId": 123}, "invoiceId"),
    ("apply", {"invoiceId": HUGE}, "invoiceId"),
    ("apply", {"invoiceId": "{invoice}", "amount": "NaN"}, "amount"),
    ("apply", {"invoiceId": "{invoice}", "amount": "1.001"}, "amount"),
    ("apply", {"invoiceId": "{invoice}", "amount": "-1"}, "amount"),
    ("apply", {"invoiceId": "{invoice}", "amount": "0"}, "amount"),
    ("apply", {"invoiceId": "{invoice}", "amount": "1e30"}, "amount"),
    ("apply", {"invoiceId": "{note}"}, "invoiceId"),
    ("apply", {"invoiceId": "{draft}"}, "invoiceId"),
    ("refund", {"amount": "NaN"}, "amount"),
    ("refund", {"amount": "1e30"}, "amount"),
    ("refund", {"amount": "1.001"}, "amount"),
    ("refund", {"amount": "-1"}, "amount"),
    ("refund", {"amount": "0"}, "amount"),
    ("refund", {"amount": "242.01"}, "amount"),
    ("refund", {"method": "x"}, "method"),
    ("refund", {"reference": HUGE}, "reference"),
]


@pytest.mark.parametrize(
    "action,body,field", BAD_APPLY_REFUND, ids=[f"{a}-{f}-{i}" for i, (a, _, f) in enumerate(BAD_APPLY_REFUND)]
)
def test_bad_apply_and_refund_bodies_are_422(api, world, action, body, field):
    response = api.post(f"{V1}/credit_notes/{world['note']}/{action}", fill(body, world))
    assert_error(response, 422, "validation_error", field)


BAD_CLIENTS = [
    ("name", HUGE),
    ("name", ""),
    ("name", None),
    ("name", "  "),
    ("address", HUGE),
    ("city", HUGE),
    ("county", HUGE),
    ("county", "RO-XX"),
    ("country", "ROU"),
    ("country", "ZZ"),
    ("cui", HUGE),
    ("cui", "RO123"),
    ("vatCode", HUGE),
    ("registrationNumber", HUGE),
    ("postalCode", HUGE),
    ("phone", HUGE),
    ("email", HUGE),
    ("email", "not-an-email"),
    ("email", "a" * 250 + "@example.com"),
    ("type", "alien"),
    ("isVatPayer", "maybe"),
    ("name", {"a": 1}),
    ("name", "a\x00b"),
]


@pytest.mark.parametrize("field,value", BAD_CLIENTS, ids=[f"{f}={str(v)[:12]}" for f, v in BAD_CLIENTS])
@pytest.mark.parametrize("method", ["post", "patch"])
def test_bad_client_values_are_422(api, world, method, field, value):
    body = {"name": "Client SRL", field: value}
    response = (
        api.post(f"{V1}/clients", body) if method == "post" else api.patch(f"{V1}/clients/{world['client']}", body)
    )
    assert_error(response, 422, "validation_error", field)


BAD_COMPANY = [
    ("name", HUGE),
    ("name", ""),
    ("address", HUGE),
    ("city", HUGE),
    ("county", HUGE),
    ("county", "RO-XX"),
    ("iban", HUGE),
    ("iban", "RO00AAAA1B31007593840000"),
    ("bank", HUGE),
    ("email", HUGE),
    ("email", "x"),
    ("email", "a" * 250 + "@example.com"),
    ("phone", HUGE),
    ("postalCode", HUGE),
    ("registrationNumber", HUGE),
    ("vatCode", HUGE),
    ("cif", HUGE),
    ("cif", "123"),
    ("currency", "XXXX"),
    ("currency", "ZZZ"),
    ("creditNoteFormat", "x"),
    ("country", "ZZ"),
    ("isVatPayer", "maybe"),
]


@pytest.mark.parametrize("field,value", BAD_COMPANY, ids=[f"{f}={str(v)[:12]}" for f, v in BAD_COMPANY])
def test_bad_company_values_are_422(api, world, field, value):
    assert_error(api.patch(f"{V1}/company", {field: value}), 422, "validation_error", field)


BAD_SERIES = [
    ("name", HUGE),
    ("name", "bad name!"),
    ("name", ""),
    ("prefix", HUGE),
    ("padding", 11),
    ("padding", -1),
    ("nextNumber", 0),
    ("nextNumber", 10**40),
    ("nextNumber", "abc"),
    ("nextNumber", 1.5),
    ("kind", "x"),
    ("yearly", "maybe"),
    ("isDefault", [1]),
]


@pytest.mark.parametrize("field,value", BAD_SERIES, ids=[f"{f}={str(v)[:12]}" for f, v in BAD_SERIES])
def test_bad_series_values_are_422(api, world, field, value):
    body = {"name": "NEW", "kind": "invoice", field: value}
    assert_error(api.post(f"{V1}/series", body), 422, "validation_error", field)
    if field not in ("kind", "yearly"):
        assert_error(api.patch(f"{V1}/series/{world['series']}", {field: value}), 422, "validation_error", field)


# --- unknown and read-only fields ---------------------------------------------------------------------------

FOREIGN_FIELDS = ["number", "status", "total", "id", "uuid", "createdAt", "amountPaid", "frobnicate"]


@pytest.mark.parametrize("method,path,body", BODY_ENDPOINTS, ids=ENDPOINT_IDS)
def test_unknown_and_read_only_fields_are_422(api, world, method, path, body):
    for extra in FOREIGN_FIELDS:
        response = send(api, method, fill(path, world), {**fill(body, world), extra: "X-1"})
        assert_error(response, 422, "validation_error", extra)


@pytest.mark.parametrize("extra", ["lineTotal", "netAmount", "id", "parentLineId", "frobnicate"])
def test_unknown_fields_in_a_line_are_422(api, world, extra):
    body = invoice_body(world, **{extra: "1.00"})
    assert_invalid(api.post(f"{V1}/invoices", body), f"lines[0].{extra}")
    body = {**body, "reason": "r"}
    assert_invalid(api.post(f"{V1}/credit_notes", body), f"lines[0].{extra}")


def test_unknown_fields_in_a_credited_line_are_422(api, world):
    body = {"lines": [{"parentLineId": world["invoice_line"], "quantity": "1", "unitPrice": "1.00"}]}
    response = api.post(f"{V1}/invoices/{world['invoice']}/credit", body)
    assert_invalid(response, "lines[0].unitPrice")
    body = {"parentDocumentId": world["invoice"], "reason": "r", **body}
    assert_invalid(api.post(f"{V1}/credit_notes", body), "lines[0].unitPrice")


NOTATION_CASES = [
    ("post", "/invoices", {"clientId": "{client}", "lines": [line(quantity="abc")]}, "lines[0].quantity"),
    ("post", "/invoices", {"clientId": "{client}", "lines": [line(), line(unitPrice="1.234")]}, "lines[1].unitPrice"),
    ("post", "/invoices", {"clientId": "{client}", "lines": [line(frobnicate=1)]}, "lines[0].frobnicate"),
    ("post", "/invoices", {"clientId": "{client}", "lines": [line()] * 501}, "lines"),
    ("post", "/invoices", {"clientId": "{client}", "lines": "abc"}, "lines"),
    ("patch", "/invoices/{draft}", {"lines": [line(vatRate="101")]}, "lines[0].vatRate"),
    (
        "post",
        "/invoices/{invoice}/credit",
        {"lines": [{"parentLineId": "x", "quantity": "1"}]},
        "lines[0].parentLineId",
    ),
    (
        "post",
        "/invoices/{invoice}/credit",
        {"lines": [{"parentLineId": "{invoice_line}", "quantity": "99"}]},
        "lines[0].quantity",
    ),
    (
        "post",
        "/credit_notes",
        {"clientId": "{client}", "reason": "r", "lines": [line(quantity="abc")]},
        "lines[0].quantity",
    ),
    ("post", "/credit_notes", {"clientId": "{client}", "reason": "r", "lines": [1]}, "lines[0]"),
]


def test_error_paths_use_api_md_notation(api, world):
    """API.md: details are keyed by the field's path, `lines[0].quantity`, and `lines` for the list itself."""
    wrong = []
    for method, path, body, field in NOTATION_CASES:
        response = send(api, method, fill(path, world), fill(body, world))
        assert_error(response, 422, "validation_error")
        if field not in response.data_json["error"]["details"]:
            wrong.append((f"{method} {path}", field, sorted(response.data_json["error"]["details"])))
    assert not wrong, wrong


def test_actions_on_the_wrong_kind_of_document_never_500(api, world):
    note, draft = world["note"], world["draft"]
    assert_never_500(api.get(f"{V1}/invoices/{note}/creditable"))
    assert_never_500(api.get(f"{V1}/invoices/{draft}/creditable"))
    assert_invalid(api.post(f"{V1}/invoices/{note}/credit", {}), "parentDocumentId")
    assert_invalid(api.post(f"{V1}/invoices/{draft}/credit", {}), "parentDocumentId")
    assert_invalid(api.post(f"{V1}/invoices/{note}/payments", {"amount": "1.00"}), "amount")
    assert_never_500(api.post(f"{V1}/credit_notes/{world['draft_note']}/refund", {}))


def test_issue_flag_in_a_patch_is_422(api, world):
    assert_error(api.patch(f"{V1}/invoices/{world['draft']}", {"issue": True}), 422, "validation_error", "issue")
    assert api.get(f"{V1}/invoices/{world['draft']}").data_json["status"] == "draft"


# --- sizes ------------------------------------------------------------------------------------------------


def test_more_than_500_lines_is_422(api, world):
    lines = [line(quantity="1", unit_price="1.00")] * 501
    body = {"clientId": world["client"], "lines": lines}
    assert_invalid(api.post(f"{V1}/invoices", body), "lines")
    assert_invalid(api.patch(f"{V1}/invoices/{world['draft']}", {"lines": lines}), "lines")
    assert_invalid(api.post(f"{V1}/credit_notes", {**body, "reason": "r"}), "lines")
    assert_invalid(api.post(f"{V1}/credit_notes/preview", {**body, "reason": "r"}), "lines")
    credit = {"lines": [{"parentLineId": world["invoice_line"], "quantity": "0.01"}] * 501}
    assert_invalid(api.post(f"{V1}/invoices/{world['invoice']}/credit", credit), "lines")


def test_500_lines_are_fine(api, world):
    body = {"clientId": world["client"], "lines": [line(quantity="1", unit_price="1.00")] * 500}
    response = api.post(f"{V1}/invoices", body)
    assert response.status_code == 201
    assert len(response.data_json["lines"]) == 500 and response.data_json["subtotal"] == "500.00"


@pytest.mark.parametrize(
    "lines",
    [
        [line(quantity="999999999.9999", unit_price="999999999999.99")],
        [
            line(quantity="999999999.9999", unit_price="999999999999.99"),
            line(quantity="-999999999.9999", unit_price="999999999999.99"),
        ],
        [line(quantity="999999", unit_price="999999999999.99", vatRate="100")],
    ],
    ids=["one-huge-line", "huge-lines-cancelling-out", "huge-vat"],
)
def test_amounts_beyond_storage_are_422(api, world, lines):
    body = {"clientId": world["client"], "lines": lines}
    assert_error(api.post(f"{V1}/invoices", body), 422, "validation_error")


def test_huge_standalone_credit_note_is_422(api, world):
    body = {
        "clientId": world["client"],
        "reason": "r",
        "lines": [line(quantity="999999999.9999", unit_price="999999999999.99")],
    }
    assert_error(api.post(f"{V1}/credit_notes", body), 422, "validation_error")
    body = {"clientId": world["client"], "reason": "r", "amount": "999999999999.99", "vatRate": "21"}
    assert_never_500(api.post(f"{V1}/credit_notes", body))


@pytest.mark.parametrize("value", ["a\udfffb"])
def test_lone_surrogates_never_500(api, world, value):
    raw = json.dumps({"name": value})  # json.dumps escapes them: valid JSON, invalid Unicode
    assert_never_500(api.post(f"{V1}/clients", raw))
    assert_never_500(api.post(f"{V1}/clients", json.dumps({value: "x", "name": "N"})))
    assert_never_500(
        api.post(f"{V1}/invoices/{world['invoice']}/payments", json.dumps({"amount": "1", "method": value}))
    )
    assert_never_500(api.post(f"{V1}/series", json.dumps({"name": "OK", "kind": value})))


# --- query strings and headers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/invoices?search=" + HUGE,
        "/credit_notes?search=" + HUGE,
        "/clients?search=" + HUGE,
        "/invoices?search=%00",
        "/invoices?search=%ff%fe",
        "/clients?search=%ff",
        "/invoices?page=99999999999999999999",
        "/invoices?page=",
        "/invoices?limit=",
        "/invoices?ordering=",
        "/invoices?from=&to=",
        "/invoices?status=",
        "/invoices?limit=1e2",
        "/invoices?page=" + "9" * 5000,
        "/series?page=99999999999999",
        "/invoices?ordering=number,number",
        "/invoices?ordering=-total,-total",
        "/invoices?clientId=" + HUGE,
        "/invoices?currency=%00",
    ],
    ids=lambda p: p[:40],
)
def test_garbage_queries_never_500(api, world, path):
    assert_never_500(api.get(V1 + path))


def test_long_search_on_documents_is_422(api, world):
    assert_error(api.get(f"{V1}/invoices?search={HUGE}"), 422, "validation_error", "search")


def test_nul_in_client_search_is_not_a_500(api, world):
    response = api.get(f"{V1}/clients?search=a%00b")
    assert response.status_code in (200, 422), (response.status_code, response.data_json)


@pytest.mark.parametrize(
    "headers",
    [
        {"authtoken": "x" * 100_000},
        {"Authorization": "Bearer " + "x" * 100_000},
        {"authtoken": "\t"},
        {"X-Company": "x" * 100_000},
        {"X-Company": " "},
        {"X-Company": "{" + str(uuid.uuid4()) + "}"},
    ],
    ids=["long-token", "long-bearer", "blank-token", "long-company", "blank-company", "braced-company"],
)
def test_garbage_headers_never_500(world, token, headers):
    api = JsonClient(token if "authtoken" not in headers and "Authorization" not in headers else None)
    assert_never_500(api.get(f"{V1}/invoices", **headers))


# --- routing: unknown URLs and methods --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/nope",
        "/invoices/not-a-uuid",
        "/invoices/123",
        "/invoices/{invoice}/nope",
        "/credit_notes/x/void",
        "/invoice",
        "/invoices/",
        "/",
        "/clients/{client}/documents",
        "/series/0",
    ],
)
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_unknown_url_is_404_json(api, world, path, method):
    response = send(api, method, fill(path, world), {} if method == "post" else None)
    assert_error(response, 404, "not_found")
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    "method,path",
    [
        ("delete", "/company"),
        ("put", "/company"),
        ("post", "/company"),
        ("put", "/clients/{client}"),
        ("post", "/clients/{client}"),
        ("delete", "/series/{series}"),
        ("put", "/series/{series}"),
        ("delete", "/series"),
        ("delete", "/credit_notes/stats"),
        ("post", "/credit_notes/stats"),
        ("get", "/credit_notes/preview"),
        ("patch", "/invoices"),
        ("delete", "/invoices"),
        ("put", "/credit_notes"),
        ("post", "/invoices/{invoice}/creditable"),
        ("post", "/credit_notes/{note}/applications"),
        ("post", "/invoices/{invoice}"),
    ],
)
def test_wrong_method_is_405(api, world, method, path):
    response = send(api, method, fill(path, world), {} if method not in ("get", "delete") else None)
    assert_error(response, 405, "method_not_allowed")


# Each action URL answers only its own method (API.md's Endpoints table).
ACTION_URLS = {
    "/invoices/{draft}/issue": "post",
    "/invoices/{invoice}/credit": "post",
    "/invoices/{draft}/creditable": "get",
    "/invoices/{draft}/payments": "post",
    "/credit_notes/{draft_note}/issue": "post",
    "/credit_notes/{draft_note}/apply": "post",
    "/credit_notes/{draft_note}/applications": "get",
    "/credit_notes/{draft_note}/refund": "post",
    "/credit_notes/{draft_note}/void": "post",
}


def test_action_urls_answer_405_to_other_methods(api, world):
    """GET …/void must not read the note, PATCH …/issue must not edit it, DELETE …/payments must not delete it."""
    wrong = []
    for path, allowed in ACTION_URLS.items():
        for method in ("get", "patch", "put", "delete", "post"):
            if method == allowed:
                continue
            body = {"notes": "changed"} if method in ("patch", "put") else {}
            response = send(api, method, fill(path, world), body)
            code = (response.data_json or {}).get("error", {}).get("code")
            if (response.status_code, code) != (405, "method_not_allowed"):
                wrong.append((method.upper(), path, response.status_code))
    assert not wrong, wrong


def test_delete_on_an_action_url_does_not_delete_the_draft(api, world):
    response = api.delete(f"{V1}/invoices/{world['draft']}/issue")
    assert_error(response, 405, "method_not_allowed")
    assert api.get(f"{V1}/invoices/{world['draft']}").status_code == 200


def test_patch_on_an_action_url_does_not_edit_the_draft(api, world):
    response = api.patch(f"{V1}/credit_notes/{world['draft_note']}/void", {"notes": "changed via /void"})
    assert_error(response, 405, "method_not_allowed")
    assert api.get(f"{V1}/credit_notes/{world['draft_note']}").data_json["notes"] == ""


# --- the sweep: every body endpoint × a set of hostile payloads ------------------------------------------------

HOSTILE_VALUES = [
    HUGE,
    "NaN",
    "Infinity",
    "1e30",
    10**40,
    -(10**40),
    True,
    None,
    [],
    {},
    [[]],
    {"a": {"b": []}},
    "\x00",
    "",
    "2026-02-30",
    "-0",
    "0.000000001",
    1e-320,
    "\u202e",
    "ȘȚĂÎÂ",
]


@pytest.mark.parametrize("method,path,body", BODY_ENDPOINTS, ids=ENDPOINT_IDS)
def test_hostile_values_in_every_field_never_500(api, world, method, path, body):
    """Every field of every body, one hostile value at a time: never a 500, every 4xx in the error shape."""
    base = fill(body, world)
    fields = set(base) | {
        "amount",
        "quantity",
        "unitPrice",
        "reason",
        "notes",
        "name",
        "address",
        "date",
        "issueDate",
        "dueDate",
        "currency",
        "exchangeRate",
        "vatRate",
        "nextNumber",
        "lines",
    }
    failures = []
    for field in sorted(fields):
        for value in HOSTILE_VALUES:
            response = send(api, method, fill(path, world), {**base, field: value})
            if response.status_code >= 500:
                failures.append((field, str(value)[:20], response.status_code))
            elif response.status_code >= 400:
                assert_error_shape(response)
    assert not failures, failures
    line_failures = []
    if "lines" in base:
        for field in ("description", "quantity", "unitPrice", "discount", "vatRate", "unitOfMeasure", "vatCategory"):
            for value in HOSTILE_VALUES:
                lines = [{**base["lines"][0], field: value}]
                response = send(api, method, fill(path, world), {**base, "lines": lines})
                if response.status_code >= 500:
                    line_failures.append((field, str(value)[:20], response.status_code))
                elif response.status_code >= 400:
                    assert_error_shape(response)
    assert not line_failures, line_failures
