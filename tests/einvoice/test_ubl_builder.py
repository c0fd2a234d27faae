"""The UBL/CIUS-RO builder on real documents made through the services: structure, signs, stored figures."""

from decimal import Decimal as D

import pytest
from lxml import etree

from einvoice.ubl.builder import build, filename
from einvoice.ubl.namespaces import CAC, CBC
from einvoice.ubl.parties import city_name, county_code
from einvoice.validation import validate
from invoices.calculations import breakdown_from_json
from invoices.models import Document, DocumentLine
from invoices.services import client_update
from tests import factories

NS = {"cac": CAC, "cbc": CBC}
CIUS_RO = "urn:cen.eu:en16931:2017#compliant#urn:efactura.mfinante.ro:CIUS-RO:1.0.1"
INTERNAL = "Client dificil: NU trimite"
# How each credit-note form writes a stored (negative) figure.
SIGN = {"381": -1, "380": 1}


# --- helpers ---------------------------------------------------------------------------------------------


def xml_of(document: Document) -> etree._Element:
    return etree.fromstring(build(document))


def texts(tree: etree._Element, path: str) -> list[str]:
    return [element.text for element in tree.xpath(path, namespaces=NS)]


def text(tree: etree._Element, path: str) -> str:
    found = texts(tree, path)
    assert len(found) == 1, f"{path}: {len(found)} matches"
    return found[0]


def amount(tree: etree._Element, path: str) -> D:
    return D(text(tree, path))


def amounts(tree: etree._Element, path: str) -> list[D]:
    return [D(value) for value in texts(tree, path)]


def in_form(note: Document, type_code: str) -> Document:
    """The note in the given format. Set directly until invoice_type_code follows the company's setting."""
    note.invoice_type_code = type_code
    note.save(update_fields=["invoice_type_code"])
    return note


def mixed_invoice(company, client_=None) -> Document:
    """Lines at 21 % (with a discount), 11 % and 0 % (Z), notes and internal notes."""
    return factories.invoice(
        company,
        client_=client_,
        lines=[
            factories.line("Consultanță", "2", "150.00", "21", discount=D("10.00")),
            factories.line("Carte tehnică", "3", "40.00", "11"),
            factories.line("Transport internațional", "1", "99.99", "0", vat_category="Z"),
        ],
        notes="Plata în 15 zile.\nVă mulțumim!",
        internal_notes=INTERNAL,
    )


def rebate_invoice(company) -> Document:
    """A rebate at another rate: a negative line, whose credit is a debit line inside the credit note."""
    rebate = factories.line("Rabat", "-1", "50", "11", discount=D("5"))
    return factories.invoice(company, lines=[factories.line("Marfă", "10", "100", "21"), rebate])


def eur_invoice(company, client_=None) -> Document:
    return factories.invoice(
        company,
        client_=client_,
        currency="EUR",
        exchange_rate=D("4.97"),
        lines=[
            factories.line("Licență software", "1", "50.00", "21"),
            factories.line("Transport", "1", "20.00", "0", vat_category="Z"),
        ],
    )


def assert_totals_are_stored(tree: etree._Element, document: Document, sign: int) -> None:
    currency = document.currency
    monetary = "/*/cac:LegalMonetaryTotal"
    assert amount(tree, f"{monetary}/cbc:LineExtensionAmount") == sign * document.subtotal
    assert amount(tree, f"{monetary}/cbc:TaxExclusiveAmount") == sign * document.subtotal
    assert amount(tree, f"{monetary}/cbc:TaxInclusiveAmount") == sign * document.total
    assert amount(tree, f"{monetary}/cbc:PayableAmount") == sign * document.total
    assert amount(tree, f"/*/cac:TaxTotal/cbc:TaxAmount[@currencyID='{currency}']") == sign * document.vat_total
    written = [
        (
            text(subtotal, "cac:TaxCategory/cbc:ID"),
            amount(subtotal, "cbc:TaxableAmount"),
            amount(subtotal, "cbc:TaxAmount"),
        )
        for subtotal in tree.xpath("/*/cac:TaxTotal/cac:TaxSubtotal", namespaces=NS)
    ]
    stored = [(g.vat_category, sign * g.taxable, sign * g.vat) for g in breakdown_from_json(document.vat_breakdown)]
    assert written == stored
    lines = list(document.lines.all())
    assert amounts(
        tree, "/*/cac:InvoiceLine/cbc:LineExtensionAmount | /*/cac:CreditNoteLine/cbc:LineExtensionAmount"
    ) == [sign * line.net_amount for line in lines]


# --- invoices --------------------------------------------------------------------------------------------


@pytest.fixture
def client_(company):
    return factories.client(company, phone="0721 000 111")


@pytest.fixture
def invoice(company, client_):
    return mixed_invoice(company, client_)


def test_an_invoice_is_a_cius_ro_invoice_380(invoice):
    tree = xml_of(invoice)

    assert etree.QName(tree).localname == "Invoice"
    assert text(tree, "/*/cbc:CustomizationID") == CIUS_RO
    assert text(tree, "/*/cbc:InvoiceTypeCode") == "380"
    assert text(tree, "/*/cbc:ID") == invoice.number
    assert text(tree, "/*/cbc:IssueDate") == invoice.issue_date.isoformat()
    assert text(tree, "/*/cbc:DueDate") == invoice.due_date.isoformat()
    assert text(tree, "/*/cbc:DocumentCurrencyCode") == "RON"
    assert texts(tree, "/*/cbc:TaxCurrencyCode") == []
    assert texts(tree, "/*/cac:BillingReference") == []
    assert len(tree.xpath("/*/cac:InvoiceLine", namespaces=NS)) == 3


def test_the_xml_is_utf8_with_its_declaration(invoice):
    xml = build(invoice)

    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert "Consultanță".encode() in xml


def test_invoice_figures_are_the_stored_ones(invoice):
    tree = xml_of(invoice)

    assert_totals_are_stored(tree, invoice, sign=1)
    assert texts(tree, "/*/cac:InvoiceLine/cbc:InvoicedQuantity") == ["2", "3", "1"]
    assert texts(tree, "/*/cac:InvoiceLine/cac:Price/cbc:PriceAmount") == ["150.00", "40.00", "99.99"]
    assert texts(tree, "/*/cac:InvoiceLine/cac:Item/cac:ClassifiedTaxCategory/cbc:Percent") == ["21", "11", "0"]
    assert amount(tree, "/*/cac:LegalMonetaryTotal/cbc:PayableAmount") == D("584.09")


def test_a_line_discount_is_a_line_allowance_the_net_already_deducts(invoice):
    tree = xml_of(invoice)
    line = tree.xpath("/*/cac:InvoiceLine[cbc:ID='1']", namespaces=NS)[0]

    assert text(line, "cac:AllowanceCharge/cbc:ChargeIndicator") == "false"
    assert text(line, "cac:AllowanceCharge/cbc:AllowanceChargeReasonCode") == "95"
    assert amount(line, "cac:AllowanceCharge/cbc:Amount") == D("10.00")
    # BT-131 = quantity × price − allowance
    assert amount(line, "cbc:LineExtensionAmount") == D("2") * D("150.00") - D("10.00")
    assert tree.xpath("/*/cac:InvoiceLine[cbc:ID='2']/cac:AllowanceCharge", namespaces=NS) == []


def test_parties_carry_county_codes_sectors_and_identifiers(invoice, company):
    tree = xml_of(invoice)
    seller = "/*/cac:AccountingSupplierParty/cac:Party"
    buyer = "/*/cac:AccountingCustomerParty/cac:Party"

    assert text(tree, f"{seller}/cac:PostalAddress/cbc:CountrySubentity") == "RO-CJ"
    assert text(tree, f"{seller}/cac:PostalAddress/cbc:CityName") == "Cluj-Napoca"
    assert text(tree, f"{seller}/cac:PostalAddress/cbc:StreetName") == company.address
    assert text(tree, f"{seller}/cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID") == "RO18547290"
    assert text(tree, f"{seller}/cac:PartyLegalEntity/cbc:RegistrationName") == company.name
    assert text(tree, f"{seller}/cac:PartyLegalEntity/cbc:CompanyID") == "J12/3456/2020"
    assert text(tree, f"{buyer}/cac:PostalAddress/cbc:CountrySubentity") == "RO-B"
    assert text(tree, f"{buyer}/cac:PostalAddress/cbc:CityName") == "SECTOR3"
    assert text(tree, f"{buyer}/cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID") == "RO14399840"
    assert text(tree, f"{buyer}/cac:PartyLegalEntity/cbc:CompanyID") == "14399840"
    assert text(tree, f"{buyer}/cac:Contact/cbc:Telephone") == "0721 000 111"


def test_an_invoice_is_paid_by_credit_transfer_to_the_company_iban(invoice, company):
    tree = xml_of(invoice)

    assert text(tree, "/*/cac:PaymentMeans/cbc:PaymentMeansCode") == "30"
    assert text(tree, "/*/cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == company.iban
    assert text(tree, "/*/cac:PaymentMeans/cbc:PaymentID") == invoice.number


def test_without_an_iban_there_are_no_payment_means(db):
    company = factories.company(iban="")

    assert texts(xml_of(factories.invoice(company)), "/*/cac:PaymentMeans") == []


def test_notes_are_written_and_internal_notes_never(invoice):
    xml = build(invoice)

    assert texts(etree.fromstring(xml), "/*/cbc:Note") == ["Plata în 15 zile.", "Vă mulțumim!"]
    assert INTERNAL.encode() not in xml


def test_long_notes_are_cut_between_words_within_cius_ro_limits(company):
    reason_free_notes = " ".join(f"cuvânt{n}" for n in range(600))  # ~5 000 characters on one line
    tree = xml_of(factories.invoice(company, notes=reason_free_notes))
    notes = texts(tree, "/*/cbc:Note")

    assert len(notes) <= 20  # BR-RO-A020
    assert all(len(note) <= 300 for note in notes)  # BR-RO-L302
    assert " ".join(notes) == reason_free_notes  # nothing lost while it fits


def test_too_many_note_lines_are_run_together_and_only_the_excess_is_cut(company):
    many_lines = "\n".join(f"Rândul {n}: " + "text " * 70 for n in range(40))
    tree = xml_of(factories.invoice(company, notes=many_lines))
    notes = texts(tree, "/*/cbc:Note")

    assert len(notes) == 20
    assert all(len(note) <= 300 for note in notes)
    assert notes[0].startswith("Rândul 0: ")
    assert notes[-1].endswith("…")


def test_a_long_description_keeps_the_item_name_within_100_characters(company):
    description = "Servicii de mentenanță preventivă și corectivă pentru echipamentele industriale " * 2
    invoice = factories.invoice(company, lines=[factories.line(description.strip(), "1.2345", "9.99", "21")])
    item = xml_of(invoice).xpath("/*/cac:InvoiceLine/cac:Item", namespaces=NS)[0]

    assert len(text(item, "cbc:Name")) == 100  # BR-RO-L1024
    assert text(item, "cbc:Name").endswith("…")
    assert text(item, "cbc:Description") == description.strip()
    assert texts(xml_of(invoice), "/*/cac:InvoiceLine/cbc:InvoicedQuantity") == ["1.2345"]


def test_unit_codes_are_the_stored_rec_20_codes(company):
    invoice = factories.invoice(
        company, lines=[factories.line("Ore", "3", "80", "21", unit_of_measure="HUR"), factories.line("Buc", "1")]
    )

    assert [q.get("unitCode") for q in xml_of(invoice).xpath("//cbc:InvoicedQuantity", namespaces=NS)] == ["HUR", "H87"]


# --- credit notes ----------------------------------------------------------------------------------------


@pytest.fixture(params=["381", "380"])
def type_code(request):
    return request.param


def test_a_381_credit_note_is_a_creditnote_with_every_figure_positive(invoice):
    note = factories.credit(invoice)
    tree = xml_of(note)

    assert etree.QName(tree).localname == "CreditNote"
    assert text(tree, "/*/cbc:CreditNoteTypeCode") == "381"
    assert text(tree, "/*/cbc:CustomizationID") == CIUS_RO
    assert tree.xpath("/*/cac:InvoiceLine | /*/cbc:InvoiceTypeCode | /*/cbc:DueDate", namespaces=NS) == []
    assert texts(tree, "/*/cac:CreditNoteLine/cbc:CreditedQuantity") == ["2", "3", "1"]
    assert amounts(tree, "/*/cac:CreditNoteLine/cac:AllowanceCharge/cbc:Amount") == [D("10.00")]
    every_amount = amounts(tree, "//*[@currencyID]")
    assert every_amount and all(value >= 0 for value in every_amount)
    assert_totals_are_stored(tree, note, sign=-1)
    assert amount(tree, "/*/cac:LegalMonetaryTotal/cbc:PayableAmount") == D("584.09")


def test_a_380_storno_is_an_invoice_with_negative_figures_and_positive_prices(invoice):
    note = in_form(factories.credit(invoice), "380")
    tree = xml_of(note)

    assert etree.QName(tree).localname == "Invoice"
    assert text(tree, "/*/cbc:InvoiceTypeCode") == "380"
    assert texts(tree, "/*/cac:InvoiceLine/cbc:InvoicedQuantity") == ["-2", "-3", "-1"]
    assert texts(tree, "/*/cac:InvoiceLine/cac:Price/cbc:PriceAmount") == ["150.00", "40.00", "99.99"]  # BR-27
    # the discount keeps net = quantity × price − allowance: −2 × 150 − (−10) = −290
    assert amounts(tree, "/*/cac:InvoiceLine/cac:AllowanceCharge/cbc:Amount") == [D("-10.00")]
    assert amount(tree, "/*/cac:InvoiceLine[cbc:ID='1']/cbc:LineExtensionAmount") == D("-290.00")
    assert_totals_are_stored(tree, note, sign=1)
    assert amount(tree, "/*/cac:LegalMonetaryTotal/cbc:PayableAmount") == D("-584.09")


def test_a_credit_note_names_the_invoice_it_corrects(invoice, type_code):
    tree = xml_of(in_form(factories.credit(invoice), type_code))
    reference = "/*/cac:BillingReference/cac:InvoiceDocumentReference"

    assert text(tree, f"{reference}/cbc:ID") == invoice.number
    assert text(tree, f"{reference}/cbc:IssueDate") == invoice.issue_date.isoformat()


def test_a_credit_note_has_no_payment_means(invoice, type_code):
    assert texts(xml_of(in_form(factories.credit(invoice), type_code)), "/*/cac:PaymentMeans") == []


def test_a_credit_note_shows_its_reason_as_the_first_note(invoice, type_code):
    note = in_form(factories.credit(invoice, reason="Retur marfă deteriorată", internal_notes=INTERNAL), type_code)
    xml = build(note)

    assert texts(etree.fromstring(xml), "/*/cbc:Note")[0] == "Retur marfă deteriorată"
    assert INTERNAL.encode() not in xml


def test_a_partial_credit_by_line(invoice, type_code):
    first = invoice.lines.get(position=1)
    note = in_form(factories.credit(invoice, lines=[{"parent_line_id": first.uuid, "quantity": D("1")}]), type_code)
    tree = xml_of(note)
    sign = SIGN[type_code]

    assert_totals_are_stored(tree, note, sign=sign)
    assert amount(tree, "//cbc:InvoicedQuantity | //cbc:CreditedQuantity") == sign * D("-1")
    assert amount(tree, "//cac:Price/cbc:PriceAmount") == D("150.00")
    assert amount(tree, "//cac:AllowanceCharge/cbc:Amount") == sign * D("-5.00")  # half the line's discount
    assert amount(tree, "/*/cac:LegalMonetaryTotal/cbc:PayableAmount") == sign * D("-175.45")


def test_a_partial_credit_by_amount(invoice, type_code):
    note = in_form(factories.credit(invoice, amount=D("60.50"), vat_rate=D("21")), type_code)
    tree = xml_of(note)
    sign = SIGN[type_code]

    assert_totals_are_stored(tree, note, sign=sign)
    assert amount(tree, "//cbc:InvoicedQuantity | //cbc:CreditedQuantity") == sign * D("-1")
    assert amount(tree, "//cac:Price/cbc:PriceAmount") == D("50.00")
    assert amount(tree, "/*/cac:TaxTotal/cbc:TaxAmount") == sign * D("-10.50")
    assert amount(tree, "/*/cac:LegalMonetaryTotal/cbc:PayableAmount") == sign * D("-60.50")


# --- currencies --------------------------------------------------------------------------------------------


def test_a_eur_invoice_states_its_vat_in_ron_too(company, client_):
    invoice = eur_invoice(company, client_)
    tree = xml_of(invoice)

    assert text(tree, "/*/cbc:DocumentCurrencyCode") == "EUR"
    assert text(tree, "/*/cbc:TaxCurrencyCode") == "RON"  # BR-RO-030
    assert_totals_are_stored(tree, invoice, sign=1)
    # BR-53: round_half_up(vat_total × exchange_rate) = round(10.50 × 4.97 = 52.185), half up, not to even
    assert invoice.vat_total == D("10.50")
    assert amount(tree, "/*/cac:TaxTotal/cbc:TaxAmount[@currencyID='RON']") == D("52.19")
    assert tree.xpath("/*/cac:TaxTotal[cbc:TaxAmount/@currencyID='RON']/cac:TaxSubtotal", namespaces=NS) == []
    assert set(tree.xpath("//cac:LegalMonetaryTotal/*/@currencyID", namespaces=NS)) == {"EUR"}


def test_a_eur_credit_note_states_its_vat_in_ron_with_the_form_sign(company, client_, type_code):
    invoice = eur_invoice(company, client_)
    note = in_form(factories.credit(invoice), type_code)
    tree = xml_of(note)
    sign = SIGN[type_code]

    assert text(tree, "/*/cbc:TaxCurrencyCode") == "RON"
    assert_totals_are_stored(tree, note, sign=sign)
    assert amount(tree, "/*/cac:TaxTotal/cbc:TaxAmount[@currencyID='RON']") == sign * D("-52.19")


# --- VAT categories ----------------------------------------------------------------------------------------


def foreign_client(company, country: str, **values):
    return factories.client(company, **{"cui": "", "county": "", "country": country, **values})


def category_invoice(company, category: str) -> Document:
    """An invoice whose only line is in `category`, to a buyer that category fits, with the reason stored."""
    if category == "K":
        # BR-RO-211: the delivery address written for BR-IC-12 needs the buyer's region
        buyer = foreign_client(company, "DE", name="Kunde GmbH", vat_code="DE123456789", city="Berlin", county="Berlin")
    elif category == "G":
        buyer = foreign_client(
            company, "US", name="Buyer Inc", cui="98-7654321", is_vat_payer=False, city="New York", county="NY"
        )
    else:
        buyer = factories.client(company)
    line = factories.line("Livrare", "4", "250.00", "0", vat_category=category, vat_exemption_reason="Motivul meu")
    return factories.invoice(company, client_=buyer, lines=[line])


CATEGORY_DEFAULTS = {
    "E": ([], ["Operațiune scutită de TVA"]),
    "AE": (["VATEX-EU-AE"], ["Taxare inversă"]),
    "K": (["VATEX-EU-IC"], ["Livrare intracomunitară scutită de TVA (art. 294 alin. (2) Cod fiscal)"]),
    "G": (["VATEX-EU-G"], ["Export scutit de TVA (art. 294 alin. (1) Cod fiscal)"]),
    "O": (["VATEX-EU-O"], ["Operațiune în afara sferei de aplicare a TVA"]),
}


@pytest.mark.parametrize("category", CATEGORY_DEFAULTS)
def test_exempt_categories_state_their_stored_reason(company, category):
    tree = xml_of(category_invoice(company, category))
    tax_category = "/*/cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory"

    assert text(tree, f"{tax_category}/cbc:ID") == category
    assert texts(tree, f"{tax_category}/cbc:TaxExemptionReason") == ["Motivul meu"]
    assert texts(tree, f"{tax_category}/cbc:TaxExemptionReasonCode") == []
    assert amount(tree, "/*/cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount") == D("0.00")


@pytest.mark.parametrize("category", CATEGORY_DEFAULTS)
def test_exempt_categories_without_a_stored_reason_get_the_category_default(company, category):
    invoice = category_invoice(company, category)
    DocumentLine.objects.filter(document=invoice).update(vat_exemption_reason="", vat_exemption_code="")
    tree = xml_of(invoice)
    tax_category = "/*/cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory"
    codes, reasons = CATEGORY_DEFAULTS[category]

    assert texts(tree, f"{tax_category}/cbc:TaxExemptionReasonCode") == codes
    assert texts(tree, f"{tax_category}/cbc:TaxExemptionReason") == reasons


def test_a_stored_vatex_code_is_written_with_the_distinct_reasons_cut_to_100_characters(company):
    lines = [
        factories.line("Curs", "1", "500", "0", vat_category="E", vat_exemption_code="VATEX-EU-132-1I"),
        factories.line("Curs 2", "1", "100", "0", vat_category="E", vat_exemption_reason="Art. 292 alin. (1) lit. f)"),
        factories.line("Curs 3", "1", "100", "0", vat_category="E", vat_exemption_reason="Art. 292 alin. (1) lit. f)"),
        factories.line("Curs 4", "1", "100", "0", vat_category="E", vat_exemption_reason="x" * 120),
    ]
    tree = xml_of(factories.invoice(company, lines=lines))
    tax_category = "/*/cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory"
    reason = text(tree, f"{tax_category}/cbc:TaxExemptionReason")

    assert text(tree, f"{tax_category}/cbc:TaxExemptionReasonCode") == "VATEX-EU-132-1I"
    assert reason.startswith("Art. 292 alin. (1) lit. f); xxx")
    assert len(reason) == 100 and reason.endswith("…")  # BR-RO-L1019


def test_standard_and_zero_rated_lines_state_no_exemption(invoice):
    assert texts(xml_of(invoice), "//cbc:TaxExemptionReason | //cbc:TaxExemptionReasonCode") == []


def test_category_o_has_no_rate_and_no_vat_identifiers(company):
    tree = xml_of(category_invoice(company, "O"))
    seller = "/*/cac:AccountingSupplierParty/cac:Party"

    assert tree.xpath("//cac:TaxCategory/cbc:Percent | //cac:ClassifiedTaxCategory/cbc:Percent", namespaces=NS) == []
    assert tree.xpath("//cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']", namespaces=NS) == []  # BR-O-02
    assert text(tree, f"{seller}/cac:PartyTaxScheme/cbc:CompanyID") == "18547290"  # BT-32, the bare CIF
    assert text(tree, "/*/cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID") == "14399840"


def test_an_intra_community_supply_states_its_vat_point_and_delivery_country(company):
    tree = xml_of(category_invoice(company, "K"))

    assert text(tree, "/*/cac:InvoicePeriod/cbc:DescriptionCode") == "3"  # BR-IC-11
    assert text(tree, "/*/cac:Delivery/cac:DeliveryLocation/cac:Address/cac:Country/cbc:IdentificationCode") == "DE"
    assert text(tree, "/*/cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID") == "DE123456789"
    assert text(tree, "/*/cac:AccountingCustomerParty/cac:Party/cac:PostalAddress/cbc:CountrySubentity") == "Berlin"


def test_only_intra_community_supplies_state_a_delivery(invoice):
    assert xml_of(invoice).xpath("/*/cac:Delivery | /*/cac:InvoicePeriod", namespaces=NS) == []


# --- buyers ------------------------------------------------------------------------------------------------


def test_a_person_without_cnp_is_identified_by_thirteen_zeros(company):
    person = factories.client(
        company, type="individual", name="Ion Popescu", cui="", is_vat_payer=False, county="RO-IS", city="Iași"
    )
    tree = xml_of(factories.invoice(company, client_=person))
    buyer = "/*/cac:AccountingCustomerParty/cac:Party"

    assert text(tree, f"{buyer}/cac:PartyLegalEntity/cbc:CompanyID") == "0000000000000"
    assert tree.xpath(f"{buyer}/cac:PartyTaxScheme", namespaces=NS) == []
    assert text(tree, f"{buyer}/cac:PostalAddress/cbc:CountrySubentity") == "RO-IS"


def test_an_issued_document_shows_its_client_as_at_issue(invoice, client_):
    name_at_issue = client_.name
    client_update(client=client_, name="Nume Nou SRL")

    assert text(xml_of(invoice), "//cac:AccountingCustomerParty//cbc:RegistrationName") == name_at_issue


def test_without_a_snapshot_the_live_client_is_shown(invoice, client_):
    client_update(client=client_, name="Nume Nou SRL")
    Document.objects.filter(pk=invoice.pk).update(client_snapshot=None)
    invoice.refresh_from_db()

    assert text(xml_of(invoice), "//cac:AccountingCustomerParty//cbc:RegistrationName") == "Nume Nou SRL"


@pytest.mark.parametrize(
    ("county", "city", "code", "written_city"),
    [
        ("Județul Cluj", "Cluj-Napoca", "RO-CJ", "Cluj-Napoca"),
        ("cj", "Cluj-Napoca", "RO-CJ", "Cluj-Napoca"),
        ("Bucuresti", "sectorul 3", "RO-B", "SECTOR3"),
        ("Bistriţa-Năsăud", "Bistrița", "RO-BN", "Bistrița"),  # s-cedilla, as older keyboards type it
    ],
)
def test_counties_stored_as_names_are_written_as_codes(invoice, county, city, code, written_city):
    snapshot = {**invoice.client_snapshot, "county": county, "city": city}
    Document.objects.filter(pk=invoice.pk).update(client_snapshot=snapshot)
    invoice.refresh_from_db()
    address = xml_of(invoice).xpath("//cac:AccountingCustomerParty//cac:PostalAddress", namespaces=NS)[0]

    assert text(address, "cbc:CountrySubentity") == code
    assert text(address, "cbc:CityName") == written_city


def test_county_and_city_helpers():
    assert county_code("RO-CJ") == "RO-CJ"
    assert county_code("Iași") == "RO-IS"
    assert county_code("Atlantis") == "Atlantis"  # unknown: written as given, for the validator to name
    assert city_name("Sector 6", "RO-B") == "SECTOR6"
    assert city_name("Sector 6", "RO-IF") == "Sector 6"


# --- misc --------------------------------------------------------------------------------------------------


def test_a_draft_has_no_e_invoice(company):
    draft = factories.invoice(company, issue=False)

    with pytest.raises(ValueError, match="issued"):
        build(draft)


def test_the_file_is_named_after_the_document(invoice):
    assert filename(invoice) == f"{invoice.number}.xml"


# --- validation: every case passes ANAF's rules -------------------------------------------------------------


def _validation_cases(company) -> dict[str, Document]:
    client_ = factories.client(company)
    cases = {"invoice": mixed_invoice(company, client_)}
    for type_code in SIGN:
        parent = mixed_invoice(company, client_)
        first = parent.lines.get(position=1)
        cases[f"full credit {type_code}"] = in_form(factories.credit(mixed_invoice(company, client_)), type_code)
        cases[f"credit by line {type_code}"] = in_form(
            factories.credit(parent, lines=[{"parent_line_id": first.uuid, "quantity": D("1")}]), type_code
        )
        cases[f"credit by amount {type_code}"] = in_form(
            factories.credit(parent, amount=D("60.50"), vat_rate=D("21")), type_code
        )
        cases[f"EUR credit {type_code}"] = in_form(factories.credit(eur_invoice(company, client_)), type_code)
    cases["EUR invoice"] = eur_invoice(company, client_)
    for category in CATEGORY_DEFAULTS:
        invoice = category_invoice(company, category)
        cases[f"category {category}"] = invoice
        cases[f"category {category} credit 381"] = factories.credit(invoice)
        cases[f"category {category} credit 380"] = in_form(factories.credit(category_invoice(company, category)), "380")
        without_reason = category_invoice(company, category)
        DocumentLine.objects.filter(document=without_reason).update(vat_exemption_reason="", vat_exemption_code="")
        cases[f"category {category}, default reason"] = without_reason
    cases["invoice with a rebate line"] = rebate_invoice(company)
    for type_code in SIGN:
        note = factories.credit(rebate_invoice(company))
        cases[f"invoice with a rebate line, credit {type_code}"] = in_form(note, type_code)
    not_a_vat_payer = factories.company(name="Mic SRL", cif="14399840", is_vat_payer=False, registration_number="")
    cases["seller not a VAT payer"] = factories.invoice(
        not_a_vat_payer, lines=[factories.line("X", "1", "10", "0", vat_category="O", vat_exemption_code="VATEX-EU-O")]
    )
    cases["person"] = factories.invoice(
        company, client_=factories.client(company, type="individual", name="Ion Popescu", cui="", is_vat_payer=False)
    )
    return cases


def test_every_case_passes_xsd_and_cius_ro_schematron(company):
    failures = []
    for name, document in _validation_cases(company).items():
        report = validate(build(document))
        fatal = [f"  {f.rule_id} at {f.location}: {f.message}" for f in report.findings if f.flag == "fatal"]
        if not report.valid:
            failures.append(f"{name} (stages run: {', '.join(report.ran) or 'none'}):\n" + "\n".join(fatal))

    assert not failures, "fatal findings:\n" + "\n".join(failures)
