"""The e-invoice over the API: /xml, /xml/validation, the credit-note format, and the data checks of issuing."""

import pytest
from lxml import etree

from accounts.services import company_update
from invoices.models import Document
from numbering.models import Series, SeriesKind
from tests.api.conftest import V1, assert_error, line, make_client, make_credit, make_invoice, ok

UBL_INVOICE = "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"
UBL_CREDIT_NOTE = "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote"
NS = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}


@pytest.fixture
def invoice(api):
    client = make_client(api)
    return make_invoice(api, client["id"], lines=[line(quantity="3", unit_price="100.00"), line(vat_rate="11")])


def xml_of(api, document_id) -> etree._Element:
    response = api.get(f"{V1}/invoices/{document_id}/xml")
    assert response.status_code == 200, response.content
    return etree.fromstring(response.content)


def test_an_issued_invoice_is_served_as_its_ubl_invoice(api, invoice):
    response = api.get(f"{V1}/invoices/{invoice['id']}/xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    assert response["Content-Disposition"] == f'attachment; filename="{invoice["number"]}.xml"'
    root = etree.fromstring(response.content)
    assert root.tag == UBL_INVOICE
    assert root.findtext("cbc:ID", namespaces=NS) == invoice["number"]
    assert root.findtext("cbc:InvoiceTypeCode", namespaces=NS) == "380"


def test_a_credit_note_takes_the_company_format_unless_it_names_its_own(api, company, invoice):
    note = make_credit(api, invoice["id"], lines=[{"parentLineId": invoice["lines"][0]["id"], "quantity": "1"}])
    assert note["invoiceTypeCode"] == "381"
    root = xml_of(api, note["id"])
    assert root.tag == UBL_CREDIT_NOTE
    assert root.findtext(".//cbc:PayableAmount", namespaces=NS) == "121.00"

    company_update(company=company, credit_note_format="storno_invoice")
    storno = make_credit(api, invoice["id"], lines=[{"parentLineId": invoice["lines"][0]["id"], "quantity": "1"}])
    assert storno["invoiceTypeCode"] == "380"
    root = xml_of(api, storno["id"])
    assert (root.tag, root.findtext("cbc:InvoiceTypeCode", namespaces=NS)) == (UBL_INVOICE, "380")
    assert root.findtext(".//cbc:PayableAmount", namespaces=NS) == "-121.00"

    override = make_credit(api, invoice["id"], amount="12.10", vatRate="11", invoiceTypeCode="381")
    assert (override["invoiceTypeCode"], xml_of(api, override["id"]).tag) == ("381", UBL_CREDIT_NOTE)


def test_the_format_is_one_of_the_two_and_only_credit_notes_take_it(api, invoice):
    response = api.post(f"{V1}/invoices/{invoice['id']}/credit", {"invoiceTypeCode": "384"})
    assert_error(response, 422, "validation_error", "invoiceTypeCode")
    client = make_client(api)
    response = api.post(f"{V1}/invoices", {"clientId": client["id"], "lines": [line()], "invoiceTypeCode": "380"})
    assert_error(response, 422, "validation_error", "invoiceTypeCode")


def test_a_draft_has_no_xml_yet(api):
    draft = make_invoice(api, make_client(api)["id"], issue=False)
    assert_error(api.get(f"{V1}/invoices/{draft['id']}/xml"), 409, "invalid_state")
    assert_error(api.get(f"{V1}/invoices/{draft['id']}/xml/validation"), 409, "invalid_state")


def test_validation_runs_every_stage_and_passes_a_good_document(api, invoice):
    note = make_credit(api, invoice["id"])
    for document in (invoice, note):
        report = ok(api.get(f"{V1}/invoices/{document['id']}/xml/validation"))
        assert report["ran"] == ["xsd", "schematron", "own"]
        assert report["valid"] is True, report["findings"]
        assert not [finding for finding in report["findings"] if finding["flag"] == "fatal"]


def test_validation_reports_fatal_findings_with_rule_ids(api, invoice):
    # Data broken behind the services' back (an import, a manual fix) is what validation is there to catch.
    document = Document.objects.get(uuid=invoice["id"])
    document.client_snapshot = {**document.client_snapshot, "county": "RO-XX"}
    document.save(update_fields=["client_snapshot"])
    report = ok(api.get(f"{V1}/invoices/{invoice['id']}/xml/validation"))
    assert report["valid"] is False
    fatal = {finding["ruleId"] for finding in report["findings"] if finding["flag"] == "fatal"}
    assert "BR-RO-111" in fatal, report["findings"]
    assert all(set(finding) == {"ruleId", "flag", "message", "location"} for finding in report["findings"])


def test_without_the_official_artifacts_validation_says_it_could_not_run(api, invoice, settings, tmp_path):
    settings.EINVOICE_VALIDATION_DIR = str(tmp_path / "absent")
    report = ok(api.get(f"{V1}/invoices/{invoice['id']}/xml/validation"))
    assert (report["valid"], report["ran"]) == (False, ["own"])
    assert [finding["ruleId"] for finding in report["findings"]] == ["VALIDATION-UNAVAILABLE"]


# --- the data an e-invoice needs, checked when issuing and when saving --------------------------------------


def test_issuing_for_a_client_without_an_address_is_a_422_naming_the_fields_and_takes_no_number(api, company):
    client = ok(api.post(f"{V1}/clients", {"name": "Fără Adresă SRL", "cui": "RO14399840"}), 201)
    draft = make_invoice(api, client["id"], issue=False)
    series = Series.objects.get(company=company, kind=SeriesKind.INVOICE, is_default=True)
    error = assert_error(api.post(f"{V1}/invoices/{draft['id']}/issue"), 422, "validation_error")
    assert {"client.address", "client.city", "client.county"} <= set(error["details"])
    series.refresh_from_db()
    assert series.next_number == 1
    assert ok(api.get(f"{V1}/invoices/{draft['id']}"))["status"] == "draft"

    ok(api.patch(f"{V1}/clients/{client['id']}", {"address": "Str. Lungă 3", "city": "Brașov", "county": "RO-BV"}))
    assert ok(api.post(f"{V1}/invoices/{draft['id']}/issue"))["number"].endswith("0001")


def test_issuing_needs_the_company_address_too(api, company):
    company_update(company=company, address="", city="", county="")
    client = make_client(api)
    response = api.post(f"{V1}/invoices", {"clientId": client["id"], "lines": [line()], "issue": True})
    error = assert_error(response, 422, "validation_error")
    assert {"company.address", "company.city", "company.county"} <= set(error["details"])
    assert not Document.objects.filter(company=company).exists()


def test_a_company_client_needs_its_cui_and_a_reverse_charge_its_vat_id(api):
    client = ok(
        api.post(
            f"{V1}/clients", {"name": "Fără CUI SRL", "address": "Str. A 1", "city": "Cluj-Napoca", "county": "RO-CJ"}
        ),
        201,
    )
    body = {
        "clientId": client["id"],
        "issue": True,
        "lines": [line(vat_rate="0", vatCategory="AE", vatExemptionReason="Taxare inversă")],
    }
    error = assert_error(api.post(f"{V1}/invoices", body), 422, "validation_error")
    assert {"client.cui", "client.vatCode"} <= set(error["details"])


def test_a_foreign_currency_needs_its_rate(api):
    client = make_client(api)
    response = api.post(f"{V1}/invoices", {"clientId": client["id"], "lines": [line()], "currency": "EUR"})
    assert_error(response, 422, "validation_error", "exchangeRate")


def test_a_romanian_address_is_saved_only_with_its_county(api):
    response = api.post(f"{V1}/clients", {"name": "Client SRL", "address": "Str. A 1", "city": "Iași"})
    assert_error(response, 422, "validation_error", "county")
    response = api.post(f"{V1}/clients", {"name": "Client SRL", "city": "Bucharest", "county": "RO-B"})
    assert_error(response, 422, "validation_error", "city")
    foreign = api.post(f"{V1}/clients", {"name": "GmbH", "address": "Hauptstr. 1", "city": "Berlin", "country": "DE"})
    assert foreign.status_code == 201, foreign.data_json


def test_an_intra_community_supply_needs_the_buyers_region(api):
    buyer = {
        "name": "Käufer GmbH",
        "cui": "DE123456789",
        "vatCode": "DE123456789",
        "isVatPayer": True,
        "address": "Hauptstr. 1",
        "city": "München",
        "country": "DE",
    }
    client = ok(api.post(f"{V1}/clients", buyer), 201)
    body = {
        "clientId": client["id"],
        "issue": True,
        "lines": [line(vat_rate="0", vatCategory="K", vatExemptionReason="Livrare intracomunitară")],
    }
    assert_error(api.post(f"{V1}/invoices", body), 422, "validation_error", "client.county")
    ok(api.patch(f"{V1}/clients/{client['id']}", {"county": "Bayern"}))
    invoice = ok(api.post(f"{V1}/invoices", body), 201)
    assert ok(api.get(f"{V1}/invoices/{invoice['id']}/xml/validation"))["valid"] is True


def test_text_no_xml_can_carry_is_refused_at_the_door(api):
    assert_error(api.post(f"{V1}/clients", {"name": "Client\u0001 SRL"}), 422, "validation_error", "name")
    client = make_client(api)
    body = {"clientId": client["id"], "lines": [line(description="Bell\u0007")], "notes": "ok\ttab\nnewline"}
    assert_error(api.post(f"{V1}/invoices", body), 422, "validation_error", "lines[0].description")
    body["lines"] = [line()]
    assert api.post(f"{V1}/invoices", body).status_code == 201  # tab and line feed are fine in XML
