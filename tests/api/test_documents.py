"""One happy payload per endpoint, the Document representation, 409s, the list envelope, filters and ordering."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from creditnotes.models import CreditApplication, Refund
from invoices.models import Document, DocumentLine
from numbering.models import Series
from tests.api.conftest import (
    MONEY,
    QUANTITY,
    RATE6,
    V1,
    assert_error,
    line,
    make_client,
    make_credit,
    make_invoice,
    make_note,
    ok,
)

pytestmark = pytest.mark.django_db

# Every key of API.md's "Document" JSON.
DOCUMENT_KEYS = {
    "id",
    "uuid",
    "number",
    "isCreditNote",
    "direction",
    "isIncoming",
    "status",
    "anafStatus",
    "seriesId",
    "documentSeries",
    "series",
    "clientId",
    "clientName",
    "client",
    "parentDocumentId",
    "parentDocument",
    "issueDate",
    "dueDate",
    "currency",
    "exchangeRate",
    "subtotal",
    "vatTotal",
    "vatAmount",
    "total",
    "amountPaid",
    "balance",
    "appliedAmount",
    "refundedAmount",
    "remainingCredit",
    "creditedTotal",
    "reason",
    "notes",
    "internalNotes",
    "invoiceTypeCode",
    "anafUploadIndex",
    "anafUploadDate",
    "anafDownloadId",
    "anafErrors",
    "pdfPath",
    "vatBreakdown",
    "lines",
    "createdAt",
    "updatedAt",
    "deletedAt",
}
SERIES_KEYS = {"id", "uuid", "name", "prefix", "nextNumber", "year"}
CLIENT_KEYS = {
    "id",
    "uuid",
    "type",
    "name",
    "cui",
    "vatCode",
    "registrationNumber",
    "isVatPayer",
    "address",
    "city",
    "county",
    "country",
    "email",
}
PARENT_KEYS = {"id", "uuid", "number", "issueDate", "total"}
LINE_KEYS = {
    "id",
    "uuid",
    "position",
    "description",
    "quantity",
    "unitOfMeasure",
    "unitPrice",
    "discount",
    "vatRate",
    "vatCategory",
    "netAmount",
    "vatAmount",
    "lineTotal",
    "parentLineId",
}
BREAKDOWN_KEYS = {"vatRate", "vatCategory", "taxableAmount", "vatAmount"}
DOCUMENT_MONEY = (
    "subtotal",
    "vatTotal",
    "vatAmount",
    "total",
    "amountPaid",
    "balance",
    "appliedAmount",
    "refundedAmount",
    "remainingCredit",
    "creditedTotal",
)
LINE_MONEY = ("unitPrice", "discount", "netAmount", "vatAmount", "lineTotal")
COMPANY_KEYS = {
    "name",
    "cif",
    "vatCode",
    "registrationNumber",
    "isVatPayer",
    "address",
    "city",
    "county",
    "country",
    "postalCode",
    "iban",
    "bank",
    "currency",
    "creditNoteFormat",
}


def d(value: str) -> Decimal:
    return Decimal(value)


def assert_timestamp(value: str) -> None:
    parsed = datetime.datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, value


def assert_document(doc: dict) -> None:
    """API.md's Document JSON: every key, embedded objects, money with 2 decimals, quantities with 4."""
    assert DOCUMENT_KEYS <= set(doc), DOCUMENT_KEYS - set(doc)
    assert doc["id"] == doc["uuid"]
    assert SERIES_KEYS <= set(doc["series"]) and doc["series"]["id"] == doc["series"]["uuid"] == doc["seriesId"]
    assert doc["documentSeries"] == doc["series"]["name"]
    assert CLIENT_KEYS <= set(doc["client"]) and doc["client"]["id"] == doc["client"]["uuid"] == doc["clientId"]
    assert doc["clientName"] == doc["client"]["name"]
    if doc["parentDocument"] is not None:
        assert PARENT_KEYS <= set(doc["parentDocument"])
        assert doc["parentDocument"]["id"] == doc["parentDocument"]["uuid"] == doc["parentDocumentId"]
        assert MONEY.match(doc["parentDocument"]["total"])
    else:
        assert doc["parentDocumentId"] is None
    assert doc["isIncoming"] is (doc["direction"] == "incoming")
    for key in DOCUMENT_MONEY:
        assert isinstance(doc[key], str) and MONEY.match(doc[key]), (key, doc[key])
    assert RATE6.match(doc["exchangeRate"]), doc["exchangeRate"]
    assert doc["vatAmount"] == doc["vatTotal"]
    assert d(doc["subtotal"]) + d(doc["vatTotal"]) == d(doc["total"])
    assert isinstance(doc["anafErrors"], list)
    for row in doc["vatBreakdown"]:
        assert BREAKDOWN_KEYS <= set(row)
        assert MONEY.match(row["vatRate"]) and MONEY.match(row["taxableAmount"]) and MONEY.match(row["vatAmount"])
    assert doc["lines"], "a document shows its lines"
    for position, row in enumerate(doc["lines"], start=1):
        assert LINE_KEYS <= set(row), LINE_KEYS - set(row)
        assert row["id"] == row["uuid"] and row["position"] == position
        assert QUANTITY.match(row["quantity"]), row["quantity"]
        assert MONEY.match(row["vatRate"])
        for key in LINE_MONEY:
            assert MONEY.match(row[key]), (key, row[key])
    for key in ("createdAt", "updatedAt"):
        assert_timestamp(doc[key])
    assert doc["deletedAt"] is None
    if doc["isCreditNote"]:
        assert_credit_note_signs(doc)
    else:
        assert d(doc["balance"]) == d(doc["total"]) - d(doc["amountPaid"])
        assert d(doc["creditedTotal"]) <= 0
        assert (doc["appliedAmount"], doc["refundedAmount"], doc["remainingCredit"]) == ("0.00", "0.00", "0.00")


def assert_credit_note_signs(doc: dict) -> None:
    """Credit notes: quantities and amounts negative, unitPrice not; used/remaining credit positive."""
    for key in ("subtotal", "vatTotal", "total"):
        assert d(doc[key]) <= 0, (key, doc[key])
    for row in doc["lines"]:
        assert d(row["quantity"]) < 0, row
        assert d(row["unitPrice"]) >= 0, row
        for key in ("netAmount", "vatAmount", "lineTotal"):
            assert d(row[key]) <= 0, (key, row)
    for row in doc["vatBreakdown"]:
        assert d(row["taxableAmount"]) <= 0 and d(row["vatAmount"]) <= 0, row
    for key in ("appliedAmount", "refundedAmount", "remainingCredit"):
        assert d(doc[key]) >= 0, (key, doc[key])
    assert d(doc["balance"]) == -d(doc["remainingCredit"])
    if doc["status"] != "voided":
        assert d(doc["remainingCredit"]) == -d(doc["total"]) - d(doc["appliedAmount"]) - d(doc["refundedAmount"])
    assert doc["amountPaid"] == "0.00"


@pytest.fixture
def client_(api):
    return make_client(api)


@pytest.fixture
def invoice(api, client_):
    """Issued: 10 × 100.00 at 21 % and 2 × 50.00 at 21 % → 1100.00 + 231.00 = 1331.00."""
    return make_invoice(
        api,
        client_["id"],
        lines=[
            line("Ore programare", quantity="10", unit_price="100.00", unitOfMeasure="HUR"),
            line("Licență", quantity="2", unit_price="50.00"),
        ],
        issueDate="2026-02-18",
    )


# --- invoices ------------------------------------------------------------------------------------------------


def test_create_draft_invoice(api, client_):
    body = {
        "clientId": client_["id"],
        "issueDate": "2026-03-01",
        "dueDate": "2026-03-31",
        "notes": "Plată în 30 de zile",
        "internalNotes": "client nou",
        "lines": [line(quantity="1.5", unit_price="200.00", discount="10.00")],
    }
    doc = ok(api.post(f"{V1}/invoices", body), 201)
    assert_document(doc)
    assert doc["status"] == "draft" and doc["number"] is None and doc["isCreditNote"] is False
    assert doc["anafStatus"] == "not_submitted" and doc["direction"] == "outgoing"
    assert doc["invoiceTypeCode"] == "380"
    assert (doc["issueDate"], doc["dueDate"]) == ("2026-03-01", "2026-03-31")
    assert doc["lines"][0]["quantity"] == "1.5000"
    assert doc["lines"][0]["unitOfMeasure"] == "H87" and doc["lines"][0]["vatCategory"] == "S"
    assert doc["lines"][0]["discount"] == "10.00"
    assert (doc["subtotal"], doc["vatTotal"], doc["total"]) == ("290.00", "60.90", "350.90")
    assert doc["exchangeRate"] == "1.000000" and doc["currency"] == "RON"
    assert doc["notes"] == "Plată în 30 de zile" and doc["internalNotes"] == "client nou"
    assert doc["series"]["name"] == "FAC" and doc["series"]["prefix"] == "FAC-"
    assert doc["parentDocument"] is None and doc["parentDocumentId"] is None


def test_create_and_issue_at_once(api, invoice):
    assert_document(invoice)
    assert invoice["status"] == "issued"
    assert invoice["number"] == "FAC-2026-0001"
    assert (invoice["subtotal"], invoice["vatTotal"], invoice["total"]) == ("1100.00", "231.00", "1331.00")
    assert invoice["balance"] == "1331.00" and invoice["amountPaid"] == "0.00"
    assert invoice["issueDate"] == "2026-02-18" and invoice["dueDate"] == "2026-02-18"
    assert invoice["vatBreakdown"] == [
        {"vatRate": "21.00", "vatCategory": "S", "taxableAmount": "1100.00", "vatAmount": "231.00"}
    ]
    assert invoice["series"]["nextNumber"] == 2 and invoice["series"]["year"] == 2026


def test_eur_invoice_keeps_its_rate_with_six_decimals(api, client_):
    doc = make_invoice(api, client_["id"], currency="eur", exchangeRate="4.9753")
    assert_document(doc)
    assert doc["currency"] == "EUR" and doc["exchangeRate"] == "4.975300"


def test_get_patch_put_delete_a_draft(api, client_):
    draft = make_invoice(api, client_["id"], issue=False, lines=[line(), line("A doua", quantity="3")])
    path = f"{V1}/invoices/{draft['id']}"
    assert ok(api.get(path)) == draft
    patched = ok(api.patch(path, {"notes": "doar notele"}))
    assert_document(patched)
    assert patched["notes"] == "doar notele" and len(patched["lines"]) == 2 and patched["total"] == draft["total"]
    replaced = ok(api.put(path, {"clientId": client_["id"], "lines": [line("Unica", quantity="1", unit_price="10")]}))
    assert_document(replaced)
    assert [row["description"] for row in replaced["lines"]] == ["Unica"]
    assert replaced["total"] == "12.10" and replaced["notes"] == ""  # PUT replaces: notes back to empty
    assert replaced["id"] == draft["id"]
    response = api.delete(path)
    assert response.status_code == 204 and response.content == b""
    assert_error(api.get(path), 404, "not_found")


def test_issue_a_draft(api, client_):
    draft = make_invoice(api, client_["id"], issue=False)
    doc = ok(api.post(f"{V1}/invoices/{draft['id']}/issue", {}))
    assert_document(doc)
    assert doc["status"] == "issued" and doc["number"] == "FAC-2026-0001"
    assert doc["issueDate"] == timezone.localdate().isoformat()  # today in Europe/Bucharest
    assert doc["dueDate"] == doc["issueDate"]


def test_issue_keeps_a_backdated_issue_date(api, client_):
    draft = make_invoice(api, client_["id"], issue=False, issueDate="2026-01-05")
    doc = ok(api.post(f"{V1}/invoices/{draft['id']}/issue"))
    assert doc["issueDate"] == "2026-01-05"


def test_payments(api, invoice):
    path = f"{V1}/invoices/{invoice['id']}/payments"
    body = {"amount": "331.00", "date": "2026-02-20", "method": "bank_transfer", "reference": "OP 17"}
    payment = ok(api.post(path, body), 201)
    assert {"id", "uuid", "amount", "date", "method", "reference", "createdAt"} <= set(payment)
    assert payment["id"] == payment["uuid"]
    assert (payment["amount"], payment["date"], payment["method"], payment["reference"]) == (
        "331.00",
        "2026-02-20",
        "bank_transfer",
        "OP 17",
    )
    doc = ok(api.get(f"{V1}/invoices/{invoice['id']}"))
    assert (doc["status"], doc["amountPaid"], doc["balance"]) == ("partially_paid", "331.00", "1000.00")
    ok(api.post(path, {"amount": 1000}), 201)  # a number is accepted too
    doc = ok(api.get(f"{V1}/invoices/{invoice['id']}"))
    assert (doc["status"], doc["amountPaid"], doc["balance"]) == ("paid", "1331.00", "0.00")
    assert_error(api.post(path, {"amount": "1.00"}), 409, "invalid_state")


@pytest.mark.parametrize("method", ["bank_transfer", "cash", "card", "compensation", "other"])
def test_payment_methods(api, invoice, method):
    payment = ok(api.post(f"{V1}/invoices/{invoice['id']}/payments", {"amount": "1.00", "method": method}), 201)
    assert payment["method"] == method


def test_payment_over_the_balance_is_422(api, invoice):
    response = api.post(f"{V1}/invoices/{invoice['id']}/payments", {"amount": "1331.01"})
    assert_error(response, 422, "validation_error", "amount")


# --- crediting ---------------------------------------------------------------------------------------------


def test_credit_everything(api, invoice):
    note = ok(
        api.post(f"{V1}/invoices/{invoice['id']}/credit", {"reason": "Anulare", "issue": True, "autoApply": False}), 201
    )
    assert_document(note)
    assert note["isCreditNote"] is True and note["status"] == "issued" and note["number"] == "CN-2026-0001"
    assert note["invoiceTypeCode"] == "381"
    assert (note["subtotal"], note["vatTotal"], note["total"]) == ("-1100.00", "-231.00", "-1331.00")
    assert note["remainingCredit"] == "1331.00" and note["balance"] == "-1331.00"
    assert note["parentDocumentId"] == invoice["id"]
    assert note["parentDocument"] == {
        "id": invoice["id"],
        "uuid": invoice["id"],
        "number": "FAC-2026-0001",
        "issueDate": "2026-02-18",
        "total": "1331.00",
    }
    assert [row["quantity"] for row in note["lines"]] == ["-10.0000", "-2.0000"]
    assert [row["unitPrice"] for row in note["lines"]] == ["100.00", "50.00"]
    assert [row["parentLineId"] for row in note["lines"]] == [row["id"] for row in invoice["lines"]]
    assert note["lines"][0]["unitOfMeasure"] == "HUR"
    parent = ok(api.get(f"{V1}/invoices/{invoice['id']}"))
    assert parent["creditedTotal"] == "-1331.00"
    assert parent["balance"] == "1331.00"  # unapplied credit does not change the parent's balance


def test_credit_with_auto_apply_by_default(api, invoice):
    note = ok(api.post(f"{V1}/invoices/{invoice['id']}/credit", {"amount": "121.00", "issue": True}), 201)
    assert_document(note)
    assert note["reason"]  # a default reason names the invoice
    assert (note["status"], note["appliedAmount"], note["remainingCredit"]) == ("applied", "121.00", "0.00")
    parent = ok(api.get(f"{V1}/invoices/{invoice['id']}"))
    assert (parent["status"], parent["amountPaid"], parent["balance"]) == ("partially_paid", "121.00", "1210.00")


def test_credit_by_lines_as_draft(api, invoice):
    first = invoice["lines"][0]["id"]
    body = {"lines": [{"parentLineId": first, "quantity": "3"}], "reason": "Ore nefacturabile"}
    note = ok(api.post(f"{V1}/invoices/{invoice['id']}/credit", body), 201)
    assert_document(note)
    assert note["status"] == "draft" and note["number"] is None
    assert note["lines"][0]["quantity"] == "-3.0000" and note["total"] == "-363.00"
    assert note["reason"] == "Ore nefacturabile"


def test_creditable(api, invoice):
    make_credit(api, invoice["id"], lines=[{"parentLineId": invoice["lines"][0]["id"], "quantity": "-4"}])
    creditable = ok(api.get(f"{V1}/invoices/{invoice['id']}/creditable"))
    assert set(creditable) == {"total", "lines"}
    assert creditable["total"] == "847.00"  # 1331 − 484
    first, second = creditable["lines"]
    assert set(first) == {"parentLineId", "quantity", "netAmount", "vatAmount", "lineTotal"}
    assert first["parentLineId"] == invoice["lines"][0]["id"]
    assert (first["quantity"], first["netAmount"], first["vatAmount"], first["lineTotal"]) == (
        "6.0000",
        "600.00",
        "126.00",
        "726.00",
    )
    assert (second["quantity"], second["lineTotal"]) == ("2.0000", "121.00")


def test_create_credit_note_on_an_invoice(api, invoice):
    body = {
        "parentDocumentId": invoice["id"],
        "reason": "Retur",
        "notes": "Vezi PV",
        "lines": [{"parentLineId": invoice["lines"][1]["id"], "quantity": "1"}],
    }
    note = ok(api.post(f"{V1}/credit_notes", body), 201)
    assert_document(note)
    assert note["clientId"] == invoice["clientId"] and note["currency"] == "RON"
    assert note["total"] == "-60.50" and note["status"] == "draft"


def test_create_credit_note_through_invoices_endpoint(api, client_):
    body = {"isCreditNote": True, "clientId": client_["id"], "reason": "Bonus", "amount": "121.00", "vatRate": "21"}
    note = ok(api.post(f"{V1}/invoices", body), 201)
    assert_document(note)
    assert note["isCreditNote"] is True
    assert (note["subtotal"], note["vatTotal"], note["total"]) == ("-100.00", "-21.00", "-121.00")


def test_standalone_credit_note_lines_ignore_the_sign(api, client_):
    note = make_note(api, client_["id"], lines=[line(quantity="-2"), line(quantity="3")])
    assert_document(note)
    assert [row["quantity"] for row in note["lines"]] == ["-2.0000", "-3.0000"]
    assert note["total"] == "-605.00" and note["status"] == "issued"


def test_preview_saves_nothing(api, invoice):
    counts = (Document.objects.count(), DocumentLine.objects.count(), CreditApplication.objects.count())
    series = list(Series.objects.values_list("pk", "next_number", "year"))
    body = {"parentDocumentId": invoice["id"], "reason": "Previzualizare", "amount": "242.00", "issue": True}
    preview = ok(api.post(f"{V1}/credit_notes/preview", body))
    assert_document(preview)
    assert preview["total"] == "-242.00" and preview["number"] is None
    assert (Document.objects.count(), DocumentLine.objects.count(), CreditApplication.objects.count()) == counts
    assert list(Series.objects.values_list("pk", "next_number", "year")) == series
    assert_error(api.get(f"{V1}/invoices/{preview['id']}"), 404, "not_found")
    assert ok(api.get(f"{V1}/invoices/{invoice['id']}/creditable"))["total"] == "1331.00"


def test_preview_of_a_standalone_note(api, client_):
    before = Document.objects.count()
    preview = ok(api.post(f"{V1}/credit_notes/preview", {"clientId": client_["id"], "reason": "x", "lines": [line()]}))
    assert_document(preview)
    assert preview["total"] == "-242.00"
    assert Document.objects.count() == before


# --- credit-note actions -------------------------------------------------------------------------------------


def test_credit_note_detail_patch_put_delete(api, client_):
    note = make_note(api, client_["id"], issue=False)
    path = f"{V1}/credit_notes/{note['id']}"
    assert ok(api.get(path)) == note
    patched = ok(api.patch(path, {"reason": "Alt motiv"}))
    assert_document(patched)
    assert patched["reason"] == "Alt motiv" and patched["total"] == note["total"]
    replaced = ok(api.put(path, {"clientId": client_["id"], "reason": "Nou", "amount": "12.10", "vatRate": "21"}))
    assert_document(replaced)
    assert replaced["total"] == "-12.10" and len(replaced["lines"]) == 1
    assert api.delete(path).status_code == 204
    assert_error(api.get(path), 404, "not_found")


def test_issue_a_credit_note_with_auto_apply(api, invoice):
    draft = make_credit(api, invoice["id"], issue=False, amount="100.00")
    note = ok(api.post(f"{V1}/credit_notes/{draft['id']}/issue", {"autoApply": True}))
    assert_document(note)
    assert note["status"] == "applied" and note["appliedAmount"] == "100.00" and note["number"] == "CN-2026-0001"
    assert ok(api.get(f"{V1}/invoices/{invoice['id']}"))["amountPaid"] == "100.00"


def test_apply_and_applications(api, client_, invoice):
    note = make_note(api, client_["id"], lines=[line(quantity="5")])  # 605.00 of credit
    response = ok(api.post(f"{V1}/credit_notes/{note['id']}/apply", {"invoiceId": invoice["id"], "amount": "200.00"}))
    assert set(response) == {"application", "creditNote", "invoice"}
    application = response["application"]
    assert {"id", "uuid", "invoiceId", "invoiceNumber", "amount", "createdAt"} <= set(application)
    assert (application["invoiceId"], application["invoiceNumber"], application["amount"]) == (
        invoice["id"],
        "FAC-2026-0001",
        "200.00",
    )
    assert_document(response["creditNote"])
    assert_document(response["invoice"])
    assert (response["creditNote"]["status"], response["creditNote"]["appliedAmount"]) == (
        "partially_applied",
        "200.00",
    )
    assert response["creditNote"]["remainingCredit"] == "405.00" and response["creditNote"]["balance"] == "-405.00"
    assert (response["invoice"]["status"], response["invoice"]["amountPaid"]) == ("partially_paid", "200.00")
    # the default amount is min(remaining credit, outstanding)
    response = ok(api.post(f"{V1}/credit_notes/{note['id']}/apply", {"invoiceId": invoice["id"]}))
    assert response["application"]["amount"] == "405.00"
    assert response["creditNote"]["status"] == "applied" and response["creditNote"]["remainingCredit"] == "0.00"
    page = ok(api.get(f"{V1}/credit_notes/{note['id']}/applications"))
    assert set(page) == {"data", "total", "page", "limit", "pages"}
    assert (page["total"], page["page"], page["limit"], page["pages"]) == (2, 1, 20, 1)
    assert [row["amount"] for row in page["data"]] == ["200.00", "405.00"]
    assert page["data"][0]["id"] == application["id"]
    page = ok(api.get(f"{V1}/credit_notes/{note['id']}/applications?limit=1&page=2"))
    assert [row["amount"] for row in page["data"]] == ["405.00"] and page["pages"] == 2


def test_apply_over_the_remaining_credit_is_422(api, client_, invoice):
    note = make_note(api, client_["id"])  # 242.00
    response = api.post(f"{V1}/credit_notes/{note['id']}/apply", {"invoiceId": invoice["id"], "amount": "242.01"})
    assert_error(response, 422, "validation_error", "amount")


def test_apply_to_another_clients_invoice_is_422(api, client_, invoice):
    other = make_client(api, name="Alt Client SRL")
    note = make_note(api, other["id"])
    response = api.post(f"{V1}/credit_notes/{note['id']}/apply", {"invoiceId": invoice["id"]})
    assert_error(response, 422, "validation_error", "invoiceId")


def test_refund(api, client_):
    note = make_note(api, client_["id"])  # 242.00
    body = {"amount": "42.00", "method": "cash", "reference": "Chitanța 5"}
    refund = ok(api.post(f"{V1}/credit_notes/{note['id']}/refund", body), 201)
    assert {"id", "uuid", "amount", "method", "reference", "createdAt"} <= set(refund)
    assert refund["id"] == refund["uuid"]
    assert (refund["amount"], refund["method"], refund["reference"]) == ("42.00", "cash", "Chitanța 5")
    assert_timestamp(refund["createdAt"])
    doc = ok(api.get(f"{V1}/credit_notes/{note['id']}"))
    assert_document(doc)
    assert (doc["status"], doc["refundedAmount"], doc["remainingCredit"], doc["balance"]) == (
        "partially_applied",
        "42.00",
        "200.00",
        "-200.00",
    )
    ok(api.post(f"{V1}/credit_notes/{note['id']}/refund", {"amount": 200}), 201)
    doc = ok(api.get(f"{V1}/credit_notes/{note['id']}"))
    assert (doc["status"], doc["remainingCredit"]) == ("applied", "0.00")
    assert Refund.objects.count() == 2


def test_void(api, client_, invoice):
    note = make_note(api, client_["id"])  # 242.00
    ok(api.post(f"{V1}/credit_notes/{note['id']}/apply", {"invoiceId": invoice["id"], "amount": "42.00"}))
    voided = ok(api.post(f"{V1}/credit_notes/{note['id']}/void", {}))
    assert_document(voided)
    assert voided["status"] == "voided" and voided["number"] == note["number"]
    assert (voided["appliedAmount"], voided["remainingCredit"], voided["balance"]) == ("42.00", "0.00", "0.00")
    assert ok(api.get(f"{V1}/credit_notes/{note['id']}/applications"))["total"] == 1
    assert ok(api.get(f"{V1}/invoices/{invoice['id']}"))["amountPaid"] == "42.00"


def test_void_a_draft(api, client_):
    note = make_note(api, client_["id"], issue=False)
    assert ok(api.post(f"{V1}/credit_notes/{note['id']}/void"))["status"] == "voided"


def test_stats(api, client_, invoice):
    make_note(api, client_["id"], issue=False)
    make_note(api, client_["id"], lines=[line(quantity="1")])  # 121.00 open
    partial = make_note(api, client_["id"], lines=[line(quantity="1")])
    ok(api.post(f"{V1}/credit_notes/{partial['id']}/refund", {"amount": "21.00"}), 201)  # 100.00 open
    applied = make_note(api, client_["id"], lines=[line(quantity="1")])
    ok(api.post(f"{V1}/credit_notes/{applied['id']}/apply", {"invoiceId": invoice["id"]}))
    voided = make_note(api, client_["id"])
    ok(api.post(f"{V1}/credit_notes/{voided['id']}/void"))
    make_invoice(api, client_["id"], currency="EUR", exchangeRate="5")
    eur_invoice = make_invoice(api, client_["id"], currency="EUR", exchangeRate="5")
    make_credit(api, eur_invoice["id"], amount="10.00")
    stats = ok(api.get(f"{V1}/credit_notes/stats"))
    assert stats == {
        "total": 6,
        "draft": 1,
        "issued": 2,
        "partiallyApplied": 1,
        "applied": 1,
        "voided": 1,
        "outstandingCredit": {"RON": "221.00", "EUR": "10.00"},
    }


# --- 409 invalid_state -------------------------------------------------------------------------------------


def test_issued_invoice_cannot_be_edited_deleted_or_reissued(api, client_, invoice):
    path = f"{V1}/invoices/{invoice['id']}"
    assert_error(api.patch(path, {"notes": "x"}), 409, "invalid_state")
    assert_error(api.put(path, {"clientId": client_["id"], "lines": [line()]}), 409, "invalid_state")
    assert_error(api.delete(path), 409, "invalid_state")
    assert_error(api.post(f"{path}/issue", {}), 409, "invalid_state")
    assert ok(api.get(path)) == invoice


def test_issued_credit_note_cannot_be_edited_deleted_or_reissued(api, client_):
    note = make_note(api, client_["id"])
    path = f"{V1}/credit_notes/{note['id']}"
    assert_error(api.patch(path, {"reason": "x"}), 409, "invalid_state")
    assert_error(api.put(path, {"clientId": client_["id"], "reason": "x", "lines": [line()]}), 409, "invalid_state")
    assert_error(api.delete(path), 409, "invalid_state")
    assert_error(api.post(f"{path}/issue", {}), 409, "invalid_state")
    assert_error(api.delete(f"{V1}/invoices/{note['id']}"), 409, "invalid_state")


def test_void_twice_is_409(api, client_):
    note = make_note(api, client_["id"])
    ok(api.post(f"{V1}/credit_notes/{note['id']}/void", {}))
    assert_error(api.post(f"{V1}/credit_notes/{note['id']}/void", {}), 409, "invalid_state")
    assert_error(api.delete(f"{V1}/credit_notes/{note['id']}"), 409, "invalid_state")
    assert_error(api.post(f"{V1}/credit_notes/{note['id']}/issue"), 409, "invalid_state")


def test_void_a_fully_applied_note_is_409(api, client_, invoice):
    note = make_note(api, client_["id"])
    ok(api.post(f"{V1}/credit_notes/{note['id']}/apply", {"invoiceId": invoice["id"]}))
    assert_error(api.post(f"{V1}/credit_notes/{note['id']}/void"), 409, "invalid_state")


def test_apply_or_refund_a_voided_note_is_409(api, client_, invoice):
    note = make_note(api, client_["id"])
    ok(api.post(f"{V1}/credit_notes/{note['id']}/void"))
    assert_error(api.post(f"{V1}/credit_notes/{note['id']}/apply", {"invoiceId": invoice["id"]}), 409, "invalid_state")
    assert_error(api.post(f"{V1}/credit_notes/{note['id']}/refund", {"amount": "1.00"}), 409, "invalid_state")
    assert ok(api.get(f"{V1}/invoices/{invoice['id']}"))["amountPaid"] == "0.00"


def test_apply_or_refund_a_draft_note_is_409(api, client_, invoice):
    note = make_note(api, client_["id"], issue=False)
    assert_error(api.post(f"{V1}/credit_notes/{note['id']}/apply", {"invoiceId": invoice["id"]}), 409, "invalid_state")
    assert_error(api.post(f"{V1}/credit_notes/{note['id']}/refund", {"amount": "1.00"}), 409, "invalid_state")


def test_payment_on_a_draft_is_409(api, client_):
    draft = make_invoice(api, client_["id"], issue=False)
    assert_error(api.post(f"{V1}/invoices/{draft['id']}/payments", {"amount": "1.00"}), 409, "invalid_state")


def test_crediting_a_draft_or_a_credit_note_is_422(api, client_, invoice):
    draft = make_invoice(api, client_["id"], issue=False)
    assert_error(api.post(f"{V1}/invoices/{draft['id']}/credit", {}), 422, "validation_error")
    note = make_credit(api, invoice["id"], amount="10.00")
    assert_error(api.post(f"{V1}/invoices/{note['id']}/credit", {}), 422, "validation_error")
    body = {"parentDocumentId": note["id"], "reason": "x"}
    assert_error(api.post(f"{V1}/credit_notes", body), 422, "validation_error", "parentDocumentId")


def test_over_crediting_is_422(api, invoice):
    make_credit(api, invoice["id"])  # everything
    assert_error(api.post(f"{V1}/invoices/{invoice['id']}/credit", {"amount": "0.01"}), 422, "validation_error")
    body = {"lines": [{"parentLineId": invoice["lines"][0]["id"], "quantity": "1"}]}
    assert_error(api.post(f"{V1}/invoices/{invoice['id']}/credit", body), 422, "validation_error")


# --- company, clients, series --------------------------------------------------------------------------------


def test_company_get_and_patch(api, company):
    body = ok(api.get(f"{V1}/company"))
    assert COMPANY_KEYS <= set(body)
    assert body["id"] == body["uuid"] == str(company.uuid)
    assert (body["cif"], body["vatCode"], body["county"], body["currency"]) == (
        "18547290",
        "RO18547290",
        "RO-CJ",
        "RON",
    )
    assert body["creditNoteFormat"] == "credit_note"
    patched = ok(
        api.patch(f"{V1}/company", {"creditNoteFormat": "storno_invoice", "postalCode": "400001", "bank": "BCR"})
    )
    assert (patched["creditNoteFormat"], patched["postalCode"], patched["bank"]) == ("storno_invoice", "400001", "BCR")
    assert patched["name"] == body["name"]
    assert ok(api.get(f"{V1}/company")) == patched
    assert_error(api.patch(f"{V1}/company", {"cif": "RO18547291"}), 422, "validation_error", "cif")
    assert_error(api.patch(f"{V1}/company", {"creditNoteFormat": "pdf"}), 422, "validation_error", "creditNoteFormat")


def test_clients_crud(api):
    created = ok(
        api.post(
            f"{V1}/clients",
            {
                "name": "Beta Construct SRL",
                "cui": "RO 18547290",
                "isVatPayer": True,
                "county": "cj",
                "city": "Cluj-Napoca",
                "email": "b@beta.ro",
            },
        ),
        201,
    )
    assert CLIENT_KEYS <= set(created) and created["id"] == created["uuid"]
    assert (created["cui"], created["vatCode"], created["county"]) == ("18547290", "RO18547290", "RO-CJ")
    path = f"{V1}/clients/{created['id']}"
    assert ok(api.get(path)) == created
    page = ok(api.get(f"{V1}/clients"))
    assert set(page) == {"data", "total", "page", "limit", "pages"}
    assert [c["id"] for c in page["data"]] == [created["id"]] and page["total"] == 1
    patched = ok(api.patch(path, {"phone": "0722000000", "city": "Sector 1", "county": "RO-B"}))
    assert (patched["phone"], patched["city"], patched["county"]) == ("0722000000", "Sector 1", "RO-B")
    assert_error(api.patch(path, {"city": "București"}), 422, "validation_error", "city")
    assert_error(api.post(f"{V1}/clients", {"name": "X", "cui": "12345678"}), 422, "validation_error", "cui")
    response = api.delete(path)
    assert response.status_code == 204
    assert_error(api.get(path), 404, "not_found")
    assert ok(api.get(f"{V1}/clients"))["total"] == 0


def test_clients_are_not_unique_by_cui(api):
    make_client(api, name="Unu SRL")
    make_client(api, name="Doi SRL")
    assert ok(api.get(f"{V1}/clients?search=14399840"))["total"] == 2


def test_series_crud_and_next_number_fixed_once_issued(api, client_):
    page = ok(api.get(f"{V1}/series"))
    assert set(page) == {"data", "total", "page", "limit", "pages"} and page["total"] == 2
    created = ok(api.post(f"{V1}/series", {"name": "EXP", "kind": "invoice", "nextNumber": 5, "padding": 3}), 201)
    assert {"id", "uuid", "name", "prefix", "nextNumber", "year"} <= set(created)
    assert (created["prefix"], created["nextNumber"], created["padding"], created["isDefault"]) == ("EXP-", 5, 3, False)
    path = f"{V1}/series/{created['id']}"
    assert ok(api.get(path)) == created
    # Before the series issues anything its next number may be set either way (to continue another system).
    assert ok(api.patch(path, {"nextNumber": 10}))["nextNumber"] == 10
    assert ok(api.patch(path, {"nextNumber": 9}))["nextNumber"] == 9
    assert ok(api.patch(path, {"nextNumber": 10}))["nextNumber"] == 10
    invoice = make_invoice(api, client_["id"], seriesId=created["id"], issueDate="2026-05-01")
    assert invoice["documentSeries"] == "EXP" and invoice["seriesId"] == created["id"]
    assert ok(api.get(path))["nextNumber"] == invoice["series"]["nextNumber"]
    assert_error(api.patch(path, {"nextNumber": 1}), 422, "validation_error", "nextNumber")
    assert_error(api.patch(path, {"nextNumber": 50}), 422, "validation_error", "nextNumber")  # a gap
    assert ok(api.get(f"{V1}/series"))["total"] == 3
    assert_error(api.post(f"{V1}/series", {"name": "EXP", "kind": "invoice"}), 422, "validation_error", "name")
    cn_series = next(s for s in page["data"] if s["name"] == "CN")
    body = {"clientId": client_["id"], "lines": [line()], "seriesId": cn_series["id"]}
    assert_error(api.post(f"{V1}/invoices", body), 422, "validation_error", "seriesId")


@pytest.mark.parametrize("via", ["create", "patch"])
def test_a_new_yearly_series_starts_at_its_next_number(api, client_, via):
    """A series set to continue at 10 (numbers 1–9 were issued elsewhere) issues 10 next, not 1."""
    if via == "create":
        series = ok(api.post(f"{V1}/series", {"name": "EXP", "kind": "invoice", "nextNumber": 10, "padding": 3}), 201)
    else:
        series = ok(api.post(f"{V1}/series", {"name": "EXP", "kind": "invoice", "padding": 3}), 201)
        series = ok(api.patch(f"{V1}/series/{series['id']}", {"nextNumber": 10}))
    assert series["nextNumber"] == 10
    invoice = make_invoice(api, client_["id"], seriesId=series["id"], issueDate="2026-05-01")
    assert invoice["number"] == "EXP-2026-010"
    assert ok(api.get(f"{V1}/series/{series['id']}"))["nextNumber"] == 11


def test_non_yearly_series_number_format(api, client_):
    series = ok(
        api.post(f"{V1}/series", {"name": "CNX", "kind": "credit_note", "yearly": False, "prefix": "CNX-"}), 201
    )
    note = make_note(api, client_["id"], seriesId=series["id"])
    assert note["number"] == "CNX-0001"


# --- the list envelope -------------------------------------------------------------------------------------


def test_list_envelope_and_pagination(api, client_):
    ids = [make_invoice(api, client_["id"], issue=False)["id"] for _ in range(5)]
    page = ok(api.get(f"{V1}/invoices"))
    assert set(page) == {"data", "total", "page", "limit", "pages"}
    assert (page["total"], page["page"], page["limit"], page["pages"]) == (5, 1, 20, 1)
    for doc in page["data"]:
        assert_document(doc)
    seen = []
    for number in (1, 2, 3):
        page = ok(api.get(f"{V1}/invoices?limit=2&page={number}"))
        assert (page["total"], page["page"], page["limit"], page["pages"]) == (5, number, 2, 3)
        seen += [doc["id"] for doc in page["data"]]
    assert sorted(seen) == sorted(ids) and len(seen) == 5
    past = ok(api.get(f"{V1}/invoices?limit=2&page=4"))
    assert (past["data"], past["total"], past["page"], past["limit"], past["pages"]) == ([], 5, 4, 2, 3)
    far = ok(api.get(f"{V1}/invoices?page=1000"))
    assert far["data"] == [] and far["total"] == 5
    assert ok(api.get(f"{V1}/invoices?limit=100"))["limit"] == 100
    assert ok(api.get(f"{V1}/credit_notes"))["total"] == 0


def test_limit_is_capped_at_100(api, client_):
    for _ in range(3):
        make_invoice(api, client_["id"], issue=False)
    assert_error(api.get(f"{V1}/invoices?limit=101"), 422, "validation_error", "limit")
    assert len(ok(api.get(f"{V1}/invoices?limit=100"))["data"]) == 3


# --- filters -------------------------------------------------------------------------------------------------


@pytest.fixture
def catalogue(api):
    """A small ledger: invoices and notes over two clients, with dates, currencies and ANAF states."""
    stiinte = make_client(api, name="Științe Ăplicate SRL")
    beta = make_client(api, name="Beta Trade SRL")
    inv1 = make_invoice(api, stiinte["id"], issueDate="2026-03-01", lines=[line(quantity="1")])  # 121.00
    inv2 = make_invoice(
        api, beta["id"], issueDate="2026-03-15", currency="EUR", exchangeRate="4.97", lines=[line(quantity="5")]
    )  # 605.00 EUR
    inv3 = make_invoice(api, beta["id"], issue=False, lines=[line(quantity="3")])  # draft, 363.00
    note1 = make_credit(api, inv1["id"], amount="12.10", reason="Retur marfă deteriorată", issueDate="2026-03-20")
    note2 = make_note(api, stiinte["id"], issue=False, reason="Bonus fidelitate", lines=[line(quantity="4")])
    inv4 = make_invoice(api, stiinte["id"], issueDate="2026-04-01", lines=[line(quantity="10")])  # 1210.00
    Document.objects.filter(uuid=inv4["id"]).update(direction="incoming", anaf_status="error")
    Document.objects.filter(uuid=inv1["id"]).update(anaf_status="validated")
    Document.objects.filter(uuid=inv2["id"]).update(anaf_status="rejected")
    Document.objects.filter(uuid=note1["id"]).update(anaf_status="uploaded")
    return {
        "stiinte": stiinte,
        "beta": beta,
        "inv1": inv1,
        "inv2": inv2,
        "inv3": inv3,
        "note1": note1,
        "note2": note2,
        "inv4": inv4,
    }


def ids_of(api, query: str, path: str = "/invoices") -> set[str]:
    page = ok(api.get(f"{V1}{path}?{query}&limit=100" if query else f"{V1}{path}?limit=100"))
    assert page["total"] == len(page["data"]), query
    return {doc["id"] for doc in page["data"]}


def names(catalogue, ids: set[str]) -> set[str]:
    by_id = {doc["id"]: key for key, doc in catalogue.items() if "lines" in doc}
    return {by_id[i] for i in ids}


@pytest.mark.parametrize(
    "query,expected",
    [
        ("", {"inv1", "inv2", "inv3", "inv4", "note1", "note2"}),
        ("direction=incoming", {"inv4"}),
        ("direction=outgoing", {"inv1", "inv2", "inv3", "note1", "note2"}),
        ("isCreditNote=true", {"note1", "note2"}),
        ("isCreditNote=false", {"inv1", "inv2", "inv3", "inv4"}),
        ("status=draft", {"inv3", "note2"}),
        ("status=issued", {"inv1", "inv2", "inv4", "note1"}),
        ("status=uploaded", {"note1"}),
        ("status=validated", {"inv1"}),
        ("status=rejected", {"inv2"}),
        ("status=error", {"inv4"}),
        ("anafStatus=validated", {"inv1"}),
        ("anafStatus=not_submitted", {"inv3", "note2"}),
        ("anafStatus=error", {"inv4"}),
        ("from=2026-03-15&to=2026-03-20", {"inv2", "note1"}),
        ("from=2026-03-15", {"inv2", "note1", "inv4"}),
        ("to=2026-03-01", {"inv1"}),
        ("from=2026-03-02&to=2026-03-14", set()),
        ("currency=EUR", {"inv2"}),
        ("currency=eur", {"inv2"}),
        ("currency=RON", {"inv1", "inv3", "inv4", "note1", "note2"}),
        ("search=stiinte aplicate", {"inv1", "inv4", "note1", "note2"}),
        ("search=ȘTIINȚE ĂPLICATE", {"inv1", "inv4", "note1", "note2"}),
        ("search=StIiNtE", {"inv1", "inv4", "note1", "note2"}),
        ("search=deteriorata", {"note1"}),
        ("search=MARFA", {"note1"}),
        ("search=fidelitate", {"note2"}),
        ("search=beta", {"inv2", "inv3"}),
        ("search=nimic-de-gasit", set()),
        ("isCreditNote=false&direction=outgoing&status=issued", {"inv1", "inv2"}),
    ],
)
def test_filters(api, catalogue, query, expected):
    assert names(catalogue, ids_of(api, query)) == expected


def test_filter_by_client_and_parent(api, catalogue):
    assert names(catalogue, ids_of(api, f"clientId={catalogue['stiinte']['id']}")) == {"inv1", "inv4", "note1", "note2"}
    assert names(catalogue, ids_of(api, f"clientId={catalogue['beta']['id']}")) == {"inv2", "inv3"}
    assert names(catalogue, ids_of(api, f"parentDocumentId={catalogue['inv1']['id']}")) == {"note1"}
    assert ids_of(api, f"parentDocumentId={catalogue['inv2']['id']}") == set()


def test_search_by_number(api, catalogue):
    number = catalogue["inv2"]["number"]
    assert names(catalogue, ids_of(api, f"search={number.lower()}")) == {"inv2"}
    assert names(catalogue, ids_of(api, f"search={catalogue['note1']['number']}")) == {"note1"}


def test_credit_notes_list_and_tabs(api, catalogue):
    notes = lambda query: names(catalogue, ids_of(api, query, "/credit_notes"))  # noqa: E731
    assert notes("") == {"note1", "note2"}
    assert notes("status=draft") == {"note2"}
    assert notes("status=issued") == {"note1"}
    assert notes("search=stiinte") == {"note1", "note2"}
    assert notes(f"parentDocumentId={catalogue['inv1']['id']}") == {"note1"}
    assert notes("isCreditNote=false") == set()
    stiinte = catalogue["stiinte"]["id"]
    partial = make_note(api, stiinte, lines=[line(quantity="1")])
    ok(api.post(f"{V1}/credit_notes/{partial['id']}/refund", {"amount": "1.00"}), 201)
    applied = make_note(api, stiinte, lines=[line(quantity="1")])
    ok(api.post(f"{V1}/credit_notes/{applied['id']}/apply", {"invoiceId": catalogue["inv4"]["id"]}))
    voided = make_note(api, stiinte)
    ok(api.post(f"{V1}/credit_notes/{voided['id']}/void"))
    assert ids_of(api, "status=partially_applied", "/credit_notes") == {partial["id"]}
    assert ids_of(api, "status=applied", "/credit_notes") == {applied["id"]}
    assert ids_of(api, "status=voided", "/credit_notes") == {voided["id"]}
    assert names(catalogue, ids_of(api, "status=partially_paid")) == {"inv4"}
    ok(api.post(f"{V1}/invoices/{catalogue['inv1']['id']}/payments", {"amount": "121.00"}), 201)
    assert names(catalogue, ids_of(api, "status=paid")) == {"inv1"}


def _sort_key(field, value):
    if field == "total":
        return Decimal(value)
    if field == "createdAt":
        return datetime.datetime.fromisoformat(value)
    return value


@pytest.mark.parametrize("field", ["issueDate", "number", "total", "createdAt"])
@pytest.mark.parametrize("descending", [False, True])
def test_ordering(api, catalogue, field, descending):
    query = f"ordering={'-' if descending else ''}{field}&from=2026-01-01&limit=100"  # only issued: no nulls
    data = ok(api.get(f"{V1}/invoices?{query}"))["data"]
    assert len(data) == 4
    values = [_sort_key(field, doc[field]) for doc in data]
    assert values == sorted(values, reverse=descending), values


def test_ordering_over_the_whole_list_not_one_page(api, catalogue):
    everything = [doc["id"] for doc in ok(api.get(f"{V1}/invoices?ordering=total&limit=100"))["data"]]
    paged = []
    for number in (1, 2, 3):
        paged += [doc["id"] for doc in ok(api.get(f"{V1}/invoices?ordering=total&limit=2&page={number}"))["data"]]
    assert paged == everything
    totals = [Decimal(doc["total"]) for doc in ok(api.get(f"{V1}/invoices?ordering=total&limit=100"))["data"]]
    assert totals == sorted(totals)


def test_default_ordering_is_newest_issue_date_first(api, catalogue):
    data = ok(api.get(f"{V1}/invoices?from=2026-01-01"))["data"]
    dates = [doc["issueDate"] for doc in data]
    assert dates == sorted(dates, reverse=True)


# --- invalid query values ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/invoices", "/credit_notes"])
@pytest.mark.parametrize(
    "query,field",
    [
        ("limit=101", "limit"),
        ("limit=0", "limit"),
        ("limit=-5", "limit"),
        ("limit=abc", "limit"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=1.5", "page"),
        ("from=2026-13-01", "from"),
        ("to=2026-02-30", "to"),
        ("from=yesterday", "from"),
        ("isCreditNote=maybe", "isCreditNote"),
        ("ordering=foo", "ordering"),
        ("ordering=-foo", "ordering"),
        ("ordering=issueDate,foo", "ordering"),
        ("clientId=not-a-uuid", "clientId"),
        ("parentDocumentId=42", "parentDocumentId"),
        ("status=bogus", "status"),
        ("anafStatus=bogus", "anafStatus"),
        ("direction=sideways", "direction"),
        ("currency=EURO", "currency"),
    ],
)
def test_invalid_query_values_are_422(api, path, query, field):
    assert_error(api.get(f"{V1}{path}?{query}"), 422, "validation_error", field)


@pytest.mark.parametrize("path", ["/clients", "/series", "/credit_notes/{note}/applications"])
@pytest.mark.parametrize("query", ["limit=101", "limit=0", "page=0", "page=abc"])
def test_invalid_paging_on_other_lists_is_422(api, client_, path, query):
    note = make_note(api, client_["id"])
    assert_error(api.get(V1 + path.format(note=note["id"]) + "?" + query), 422, "validation_error")


# --- more of the rules the representation shows -----------------------------------------------------------


def test_a_voided_note_counts_only_with_what_it_used(api, client_, invoice):
    note = make_credit(api, invoice["id"], amount="242.00")
    ok(api.post(f"{V1}/credit_notes/{note['id']}/apply", {"invoiceId": invoice["id"], "amount": "42.00"}))
    ok(api.post(f"{V1}/credit_notes/{note['id']}/void"))
    parent = ok(api.get(f"{V1}/invoices/{invoice['id']}"))
    assert parent["creditedTotal"] == "-42.00"
    assert (parent["amountPaid"], parent["balance"]) == ("42.00", "1289.00")
    assert ok(api.get(f"{V1}/invoices/{invoice['id']}/creditable"))["total"] == "1289.00"


def test_issued_documents_keep_the_client_as_it_was(api, client_, invoice):
    draft = make_invoice(api, client_["id"], issue=False)
    ok(api.patch(f"{V1}/clients/{client_['id']}", {"name": "Nume Nou SRL"}))
    assert ok(api.get(f"{V1}/invoices/{invoice['id']}"))["clientName"] == client_["name"]
    assert ok(api.get(f"{V1}/invoices/{draft['id']}"))["clientName"] == "Nume Nou SRL"
    assert ids_of(api, "search=nume nou") == {draft["id"]}
    assert invoice["id"] in ids_of(api, "search=acme distributie")


def test_a_patch_that_does_not_send_lines_keeps_their_ids(api, client_):
    draft = make_invoice(api, client_["id"], issue=False)
    patched = ok(api.patch(f"{V1}/invoices/{draft['id']}", {"notes": "Livrare parțială"}))
    assert [line["id"] for line in patched["lines"]] == [line["id"] for line in draft["lines"]]
    assert patched["notes"] == "Livrare parțială"
