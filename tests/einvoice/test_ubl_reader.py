"""The UBL reader: the inverse of the builder for our documents, and robust to the official examples."""

import os
from decimal import Decimal as D
from pathlib import Path

import pytest
from lxml import etree

from einvoice.ubl.builder import build
from einvoice.ubl.namespaces import CAC, CBC
from einvoice.ubl.reader import ReadDocument, UnreadableDocument, read
from invoices.calculations import breakdown_from_json
from invoices.models import Document
from tests import factories

# The shared validation artifacts, found as tests/conftest.py finds them.
REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLES = Path(os.environ.get("EINVOICE_VALIDATION_DIR") or REPOSITORY.parent / "shared" / "validation") / "examples"
EXAMPLE_FILES = sorted(
    path
    for folder in ("anaf-cius-ro-b2g-1.0.9", "reference-ours", "anaf-cius-ro", "en16931")
    for path in (EXAMPLES / folder).glob("*.xml")
)
NS = {"cac": CAC, "cbc": CBC}


def in_form(note: Document, type_code: str) -> Document:
    """The note in the given format. Set directly until invoice_type_code follows the company's setting."""
    note.invoice_type_code = type_code
    note.save(update_fields=["invoice_type_code"])
    return note


@pytest.fixture
def client_(company):
    return factories.client(company, phone="0721 000 111", postal_code="030167")


@pytest.fixture
def invoice(company, client_):
    return factories.invoice(
        company,
        client_=client_,
        lines=[
            factories.line("Consultanță", "2", "150.00", "21", discount=D("10.00")),
            factories.line("Carte tehnică", "3", "40.00", "11", unit_of_measure="C62"),
            factories.line("Transport", "1.5", "66.66", "0", vat_category="Z"),
        ],
        notes="Plata în 15 zile.",
        internal_notes="intern",
    )


def assert_figures_read_back(read_back: ReadDocument, document: Document, sign: int) -> None:
    """Every figure as stored, times the sign its form writes it with; prices are never signed."""
    assert read_back.totals.line_extension == sign * document.subtotal
    assert read_back.totals.tax_exclusive == sign * document.subtotal
    assert read_back.totals.tax_amount == sign * document.vat_total
    assert read_back.totals.tax_inclusive == sign * document.total
    assert read_back.totals.payable == sign * document.total
    assert [(g.category, g.rate, g.taxable, g.vat) for g in read_back.vat_breakdown] == [
        (g.vat_category, g.vat_rate, sign * g.taxable, sign * g.vat)
        for g in breakdown_from_json(document.vat_breakdown)
    ]
    stored_lines = list(document.lines.all())
    assert [
        (line.id, line.description, line.quantity, line.unit_code, line.unit_price, line.net, line.vat_category)
        for line in read_back.lines
    ] == [
        (
            str(line.position),
            line.description,
            sign * line.quantity,
            line.unit_of_measure,
            line.unit_price,
            sign * line.net_amount,
            line.vat_category,
        )
        for line in stored_lines
    ]
    assert [line.vat_rate for line in read_back.lines] == [line.vat_rate for line in stored_lines]


# --- our documents, round trip ------------------------------------------------------------------------------


def test_an_invoice_reads_back_as_stored(invoice, company, client_):
    read_back = read(build(invoice))

    assert (read_back.kind, read_back.type_code) == ("invoice", "380")
    assert read_back.customization_id.endswith("CIUS-RO:1.0.1")
    assert read_back.number == invoice.number
    assert read_back.issue_date == invoice.issue_date
    assert read_back.due_date == invoice.due_date
    assert (read_back.currency, read_back.tax_currency) == ("RON", "")
    assert read_back.notes == ("Plata în 15 zile.",)
    assert read_back.billing_reference is None
    assert_figures_read_back(read_back, invoice, sign=1)
    assert [line.allowance for line in read_back.lines] == [D("10.00"), D("0"), D("0")]
    assert read_back.totals.tax_amount_ron == invoice.vat_total
    assert [(m.code, m.account) for m in read_back.payment_means] == [("30", company.iban)]


def test_the_parties_read_back(invoice, company, client_):
    read_back = read(build(invoice))

    assert read_back.seller.name == company.name
    assert read_back.seller.vat_id == company.vat_code == "RO18547290"
    assert read_back.seller.legal_id == company.registration_number
    assert (read_back.seller.street, read_back.seller.city) == (company.address, company.city)
    assert (read_back.seller.county, read_back.seller.country) == ("RO-CJ", "RO")
    assert read_back.buyer.name == client_.name
    assert (read_back.buyer.vat_id, read_back.buyer.legal_id) == ("RO14399840", "14399840")
    assert (read_back.buyer.street, read_back.buyer.city, read_back.buyer.county) == (
        client_.address,
        "SECTOR3",
        "RO-B",
    )
    assert (read_back.buyer.postal_code, read_back.buyer.country) == ("030167", "RO")
    assert (read_back.buyer.email, read_back.buyer.phone) == (client_.email, "0721 000 111")


def test_a_381_credit_note_reads_back_positive_with_its_invoice(invoice):
    note = factories.credit(invoice, reason="Retur")
    read_back = read(build(note))

    assert (read_back.kind, read_back.type_code) == ("credit_note", "381")
    assert read_back.number == note.number
    assert read_back.due_date is None  # UBL 2.1 has no DueDate on a CreditNote
    assert read_back.notes == ("Retur",)
    assert (read_back.billing_reference.number, read_back.billing_reference.issue_date) == (
        invoice.number,
        invoice.issue_date,
    )
    assert_figures_read_back(read_back, note, sign=-1)
    assert read_back.totals.payable > 0
    assert [line.allowance for line in read_back.lines] == [D("10.00"), D("0"), D("0")]
    assert read_back.payment_means == ()


def test_a_380_storno_reads_back_negative_with_positive_prices(invoice):
    note = in_form(factories.credit(invoice), "380")
    read_back = read(build(note))

    assert (read_back.kind, read_back.type_code) == ("invoice", "380")
    assert read_back.billing_reference.number == invoice.number
    assert_figures_read_back(read_back, note, sign=1)
    assert read_back.totals.payable < 0
    assert all(line.quantity < 0 and line.unit_price > 0 for line in read_back.lines)
    assert [line.allowance for line in read_back.lines] == [D("-10.00"), D("0"), D("0")]


@pytest.mark.parametrize("type_code", ["381", "380"])
def test_partial_credits_read_back(invoice, type_code):
    first = invoice.lines.get(position=1)
    by_line = in_form(factories.credit(invoice, lines=[{"parent_line_id": first.uuid, "quantity": D("1")}]), type_code)
    by_amount = in_form(factories.credit(invoice, amount=D("24.20"), vat_rate=D("21")), type_code)
    sign = -1 if type_code == "381" else 1

    for note in (by_line, by_amount):
        read_back = read(build(note))
        assert read_back.billing_reference.number == invoice.number
        assert_figures_read_back(read_back, note, sign=sign)


@pytest.mark.parametrize("type_code", ["381", "380"])
def test_a_eur_credit_note_reads_back_its_ron_vat(company, client_, type_code):
    invoice = factories.invoice(
        company, client_=client_, currency="EUR", exchange_rate=D("4.97"), lines=[factories.line("Licență", "1", "50")]
    )
    note = in_form(factories.credit(invoice), type_code)
    read_back = read(build(note))

    assert read(build(invoice)).totals.tax_amount_ron == D("52.19")  # round half up of 10.50 × 4.97 = 52.185
    assert (read_back.currency, read_back.tax_currency) == ("EUR", "RON")
    assert read_back.totals.tax_amount == (D("10.50") if type_code == "381" else D("-10.50"))
    assert read_back.totals.tax_amount_ron == (D("52.19") if type_code == "381" else D("-52.19"))


def test_exemptions_read_back_on_the_breakdown_and_the_lines(company):
    line = factories.line("Curs", "1", "500", "0", vat_category="E", vat_exemption_reason="Art. 292 Cod fiscal")
    read_back = read(build(factories.invoice(company, lines=[line])))

    assert (read_back.vat_breakdown[0].category, read_back.vat_breakdown[0].exemption_reason) == (
        "E",
        "Art. 292 Cod fiscal",
    )
    assert (read_back.lines[0].exemption_reason, read_back.lines[0].exemption_code) == ("Art. 292 Cod fiscal", "")


def test_category_o_reads_back_without_rates_or_vat_ids(company):
    line = factories.line("Despăgubire", "1", "1000", "0", vat_category="O", vat_exemption_code="VATEX-EU-O")
    read_back = read(build(factories.invoice(company, lines=[line])))

    assert (read_back.lines[0].vat_category, read_back.lines[0].vat_rate) == ("O", None)
    assert read_back.lines[0].exemption_code == "VATEX-EU-O"
    assert (read_back.seller.vat_id, read_back.seller.tax_registration_id) == ("", "18547290")
    assert read_back.buyer.vat_id == ""


def test_a_long_description_reads_back_whole(company):
    description = "Servicii de mentenanță preventivă și corectivă pentru echipamentele industriale, trimestrul III 2026"
    read_back = read(build(factories.invoice(company, lines=[factories.line(description * 2)])))

    assert read_back.lines[0].description == description * 2
    assert len(read_back.lines[0].name) == 100


# --- the official examples ----------------------------------------------------------------------------------


def test_the_official_examples_are_all_there():
    assert len(EXAMPLE_FILES) == 19


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_official_example_reads(path):
    xml = path.read_bytes()
    tree = etree.fromstring(xml)
    read_back = read(xml)

    assert read_back.number == tree.findtext("cbc:ID", namespaces=NS).strip()
    assert read_back.issue_date.isoformat() == tree.findtext("cbc:IssueDate", namespaces=NS).strip()
    assert read_back.seller.name and read_back.buyer.name
    assert len(read_back.lines) == len(tree.xpath("cac:InvoiceLine | cac:CreditNoteLine", namespaces=NS)) > 0
    # BR-CO-10 holds in every example: the line nets add up to the document's
    assert sum(line.net for line in read_back.lines) == read_back.totals.line_extension
    assert read_back.totals.payable is not None


def test_anaf_credit_note_example():
    read_back = read((EXAMPLES / "anaf-cius-ro" / "creditNote_ex.xml").read_bytes())

    assert (read_back.kind, read_back.type_code, read_back.number) == ("credit_note", "381", "2018-112")
    assert (read_back.currency, read_back.tax_currency) == ("SEK", "RON")
    assert read_back.customization_id.endswith("CIUS-RO:1.0.0")
    assert read_back.seller.vat_id == "SE123451234501"
    assert (read_back.seller.city, read_back.seller.county) == ("SECTOR1", "RO-B")
    assert (read_back.buyer.city, read_back.buyer.county) == ("ARAD", "RO-AR")
    assert read_back.totals.payable == D("500")
    assert read_back.lines[0].unit_code == "MON"


def test_anaf_b2g_example_with_a_preceding_invoice_and_document_allowances():
    read_back = read((EXAMPLES / "anaf-cius-ro-b2g-1.0.9" / "ubl_b2g_example0.xml").read_bytes())

    assert read_back.number == "TOSL108"
    assert (read_back.billing_reference.number, read_back.billing_reference.issue_date.isoformat()) == (
        "ABC120-220-1",
        "2021-11-12",
    )
    assert read_back.totals.tax_amount == D("273.09")
    assert read_back.totals.payable == D("659.89")
    assert read_back.vat_breakdown[0].taxable == D("1224.8")
    assert read_back.vat_breakdown[0].category == "S"
    assert read_back.seller.vat_id == "RO1111111111118"


def test_anaf_b2g_example_in_dkk_reads_its_ron_vat():
    read_back = read((EXAMPLES / "anaf-cius-ro-b2g-1.0.9" / "ubl_b2g_example10.xml").read_bytes())

    assert (read_back.currency, read_back.tax_currency) == ("DKK", "RON")
    assert (read_back.totals.tax_amount, read_back.totals.tax_amount_ron) == (D("305.00"), D("628.62"))


def test_en16931_credit_note_example():
    read_back = read((EXAMPLES / "en16931" / "ubl-tc434-creditnote1.xml").read_bytes())

    assert (read_back.kind, read_back.number, read_back.currency) == ("credit_note", "018304 / 28865", "EUR")
    assert read_back.vat_breakdown[0].exemption_reason == "Taxes are not applicable"
    assert read_back.lines[0].exemption_reason == "Taxes are not applicable"
    assert read_back.payment_means[0].account == "BE91000000143476"
    assert read_back.totals.tax_amount_ron is None  # neither RON nor a RON tax currency


def test_our_storno_reference_reads_negative_quantities_and_positive_prices():
    read_back = read((EXAMPLES / "reference-ours" / "storno_invoice_neg_qty.xml").read_bytes())

    assert (read_back.kind, read_back.type_code) == ("invoice", "380")
    assert (read_back.lines[0].quantity, read_back.lines[0].unit_price) == (D("-2"), D("50.00"))
    assert read_back.totals.payable == D("-121.00")


# --- what is not a document -----------------------------------------------------------------------------------


def test_bytes_that_are_not_xml_are_unreadable():
    with pytest.raises(UnreadableDocument, match="well-formed"):
        read(b"%PDF-1.7")


def test_xml_that_is_not_an_invoice_is_unreadable():
    with pytest.raises(UnreadableDocument, match="Invoice or CreditNote"):
        read(b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"/>')


def test_a_number_that_is_not_one_is_unreadable(invoice):
    xml = build(invoice).replace(b">584.09<", b">584,09<", 1)

    with pytest.raises(UnreadableDocument, match="not a number"):
        read(xml)


def test_external_entities_are_never_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do-not-leak")
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE Invoice [<!ENTITY leak SYSTEM "file://{secret}">]>'
        '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" '
        f'xmlns:cbc="{CBC}"><cbc:ID>&leak;</cbc:ID></Invoice>'
    ).encode()

    assert "do-not-leak" not in read(xml).number


# --- documents written otherwise than ours --------------------------------------------------------------------


def test_the_breakdown_is_read_whichever_tax_total_comes_first(company):
    invoice = factories.invoice(
        company, currency="EUR", exchange_rate=D("4.97"), lines=[factories.line("L", "1", "50")]
    )
    tree = etree.fromstring(build(invoice))
    in_eur, in_ron = tree.findall("cac:TaxTotal", NS)
    in_eur.addprevious(in_ron)  # UBL sets no order between the two
    read_back = read(etree.tostring(tree))

    assert (read_back.totals.tax_amount, read_back.totals.tax_amount_ron) == (D("10.50"), D("52.19"))
    assert [(g.category, g.taxable) for g in read_back.vat_breakdown] == [("S", D("50.00"))]


def test_comments_inside_values_are_ignored(invoice):
    xml = build(invoice).replace(b"<cbc:ID>", b"<cbc:ID><!-- BT-1 -->", 1)

    assert read(xml).number == invoice.number
