"""einvoice.validation against the official artifacts: the UBL 2.1 XSD and ANAF's CIUS-RO 1.0.9 schematron."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from lxml import etree

from einvoice.validation import STAGES, Finding, Report, validate

CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NAMESPACES = {"cac": CAC, "cbc": CBC}
CREDIT_NOTE = "creditnote_ro_381.xml"
STORNO_INVOICE = "storno_invoice_neg_qty.xml"
NEGATIVE_PRICE = "storno_invoice_neg_price.xml"
BUYER_ADDRESS = "cac:AccountingCustomerParty/cac:Party/cac:PostalAddress"
SELLER_ADDRESS = "cac:AccountingSupplierParty/cac:Party/cac:PostalAddress"

Change = Callable[[etree._Element], None]


@pytest.fixture(scope="module")
def examples(validation_artifacts: Path) -> Path:
    return validation_artifacts / "examples"


def reference(examples: Path, name: str) -> bytes:
    return (examples / "reference-ours" / name).read_bytes()


def changed(xml: bytes, change: Change) -> bytes:
    root = etree.fromstring(xml)
    change(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def ids(findings: tuple[Finding, ...]) -> set[str]:
    return {finding.rule_id for finding in findings}


def from_source(report: Report, source: str) -> set[str]:
    return {finding.rule_id for finding in report.findings if finding.source == source}


# --- Changes to the reference documents (kept valid for the XSD, so only the rule under test fails) --------------


def set_text(path: str, text: str) -> Change:
    def change(root: etree._Element) -> None:
        root.find(path, NAMESPACES).text = text

    return change


def remove(path: str) -> Change:
    def change(root: etree._Element) -> None:
        element = root.find(path, NAMESPACES)
        element.getparent().remove(element)

    return change


def element(tag: str, *children: etree._Element | None, text: str | None = None) -> etree._Element:
    prefix, name = tag.split(":")
    created = etree.Element(f"{{{NAMESPACES[prefix]}}}{name}")
    created.text = text
    created.extend(child for child in children if child is not None)
    return created


def address(tag: str, street: str | None, city: str | None, county: str | None) -> etree._Element:
    return element(
        tag,
        element("cbc:StreetName", text=street) if street else None,
        element("cbc:CityName", text=city) if city else None,
        element("cbc:CountrySubentity", text=county) if county else None,
        element("cac:Country", element("cbc:IdentificationCode", text="RO")),
    )


def before_tax_total(new: etree._Element) -> Change:
    # Both references go straight from the buyer to cac:TaxTotal; the tax representative and the delivery belong
    # in between in both UBL schemas.
    def change(root: etree._Element) -> None:
        root.find("cac:TaxTotal", NAMESPACES).addprevious(new)

    return change


def deliver_to(street: str | None = "Str. Depozit 3", city: str | None = "Cluj-Napoca", county: str | None = "RO-CJ"):
    return before_tax_total(
        element("cac:Delivery", element("cac:DeliveryLocation", address("cac:Address", street, city, county)))
    )


def tax_representative(street: str | None = "Str. Fiscala 4", city: str | None = "Iasi", county: str | None = "RO-IS"):
    return before_tax_total(
        element(
            "cac:TaxRepresentativeParty",
            element("cac:PartyName", element("cbc:Name", text="Reprezentant Fiscal SRL")),
            address("cac:PostalAddress", street, city, county),
            element(
                "cac:PartyTaxScheme",
                element("cbc:CompanyID", text="RO1234567"),
                element("cac:TaxScheme", element("cbc:ID", text="VAT")),
            ),
        )
    )


# --- The reference documents ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [CREDIT_NOTE, STORNO_INVOICE])
def test_the_passing_references_are_valid(examples, name):
    report = validate(reference(examples, name))

    assert report.ran == STAGES
    assert report.unavailable == ""
    assert report.findings == ()
    assert report.valid is True


def test_a_negative_price_fails_br_27(examples):
    report = validate(reference(examples, NEGATIVE_PRICE))

    assert report.valid is False
    assert report.ran == STAGES
    [finding] = report.findings
    assert (finding.rule_id, finding.flag, finding.source) == ("BR-27", "fatal", "schematron")
    assert "'-50.00'" in finding.message
    assert "InvoiceLine" in finding.location and "PriceAmount" in finding.location


@pytest.mark.parametrize("name", [CREDIT_NOTE, STORNO_INVOICE])
def test_a_wrong_customization_id_fails_br_ro_001(examples, name):
    cius_ro_1_0_0 = "urn:cen.eu:en16931:2017#compliant#urn:efactura.mfinante.ro:CIUS-RO:1.0.0"

    report = validate(changed(reference(examples, name), set_text("cbc:CustomizationID", cius_ro_1_0_0)))

    assert [(f.rule_id, f.flag, f.source) for f in report.fatal] == [("BR-RO-001", "fatal", "schematron")]
    assert report.valid is False


# --- Counties, sectors and the rules ANAF's 1.0.9 package skips on a CreditNote -------------------------------------


def test_a_bad_county_on_an_invoice_is_caught_by_anafs_rules(examples):
    report = validate(changed(reference(examples, STORNO_INVOICE), deliver_to(county="RO-XX")))

    assert [(f.rule_id, f.flag, f.source) for f in report.findings] == [("BR-RO-212", "fatal", "schematron")]


def test_a_bad_county_on_a_credit_note_is_caught_by_our_own_checks_only(examples):
    report = validate(changed(reference(examples, CREDIT_NOTE), deliver_to(county="RO-XX")))

    [finding] = report.findings
    assert (finding.rule_id, finding.flag, finding.source) == ("BR-RO-212", "fatal", "own")
    assert "'RO-XX'" in finding.message
    assert finding.location == "/CreditNote/cac:Delivery[1]/cac:DeliveryLocation[1]/cac:Address[1]"
    assert from_source(report, "schematron") == set(), "ANAF's schematron alone lets the bad county through"
    assert report.valid is False


def test_bucharest_without_a_sector_on_a_credit_note_is_an_own_finding(examples):
    report = validate(changed(reference(examples, CREDIT_NOTE), deliver_to(city="Bucuresti", county="RO-B")))

    [finding] = report.findings
    assert (finding.rule_id, finding.flag, finding.source) == ("BR-RO-202", "fatal", "own")
    assert "'Bucuresti'" in finding.message


# Each change: the fatal rule ids it must produce, the same on both roots, and which of them only our own checks
# find on a CreditNote (ANAF's rules address a CreditNote in the Invoice namespace, or count cac:InvoiceLine only).
RO_RULES = {
    "deliver-to county not ISO 3166-2:RO": (deliver_to(county="RO-XX"), {"BR-RO-212"}, {"BR-RO-212"}),
    "deliver-to Bucharest without sector": (
        deliver_to(city="Bucuresti", county="RO-B"),
        {"BR-RO-202"},
        {"BR-RO-202"},
    ),
    "deliver-to address without street, city, county": (
        deliver_to(street=None, city=None, county=None),
        {"BR-RO-180", "BR-RO-201", "BR-RO-211", "BR-RO-212"},
        {"BR-RO-180", "BR-RO-201", "BR-RO-211", "BR-RO-212"},
    ),
    "tax representative county not ISO 3166-2:RO": (
        tax_representative(county="Iasi"),
        {"BR-RO-170"},
        {"BR-RO-170"},
    ),
    "tax representative Bucharest without sector": (
        tax_representative(city="Sector 2", county="RO-B"),
        {"BR-RO-160"},
        {"BR-RO-160"},
    ),
    "tax representative address without street, city, county": (
        tax_representative(street=None, city=None, county=None),
        {"BR-RO-140", "BR-RO-150", "BR-RO-170"},
        {"BR-RO-140", "BR-RO-150", "BR-RO-170"},
    ),
    "buyer without identifier": (
        remove("cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme"),
        {"BR-RO-120"},
        {"BR-RO-120"},
    ),
    # EN16931's BR-S-02 sees the missing seller VAT identifier on both roots; BR-RO-065 only on an Invoice.
    "seller without VAT identifier": (
        remove("cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme"),
        {"BR-RO-065", "BR-S-02"},
        {"BR-RO-065"},
    ),
    # The seller's and buyer's county and sector rules do fire on a CreditNote: our repeats of them are dropped.
    "buyer county not ISO 3166-2:RO": (
        set_text(f"{BUYER_ADDRESS}/cbc:CountrySubentity", "RO-XX"),
        {"BR-RO-111"},
        set(),
    ),
    "seller Bucharest without sector": (set_text(f"{SELLER_ADDRESS}/cbc:CityName", "Bucuresti"), {"BR-RO-100"}, set()),
}


@pytest.mark.parametrize("name", [CREDIT_NOTE, STORNO_INVOICE])
@pytest.mark.parametrize("case", RO_RULES)
def test_ro_rules_give_the_same_findings_on_both_roots(examples, name, case):
    change, fatal, own_on_credit_note = RO_RULES[case]

    report = validate(changed(reference(examples, name), change))

    assert report.ran == STAGES
    assert ids(report.fatal) == fatal
    assert from_source(report, "own") == (own_on_credit_note if name == CREDIT_NOTE else set())
    assert len(report.findings) == len(fatal), "one finding per rule: never ANAF's and ours for the same rule"


@pytest.mark.parametrize("name", [CREDIT_NOTE, STORNO_INVOICE])
@pytest.mark.parametrize("case", RO_RULES)
def test_without_the_artifacts_our_own_checks_still_find_the_ro_rules(examples, settings, tmp_path, name, case):
    change, fatal, _ = RO_RULES[case]
    settings.EINVOICE_VALIDATION_DIR = str(tmp_path)

    report = validate(changed(reference(examples, name), change))

    assert report.ran == ("own",)
    assert from_source(report, "own") == {rule_id for rule_id in fatal if rule_id.startswith("BR-RO-")}


def test_anafs_own_credit_note_example_lacks_the_buyer_identifier_its_rules_do_not_check(examples):
    report = validate((examples / "anaf-cius-ro" / "creditNote_ex.xml").read_bytes())

    assert {(f.rule_id, f.source) for f in report.fatal} == {("BR-RO-001", "schematron"), ("BR-RO-120", "own")}


# --- Input that is no UBL document -----------------------------------------------------------------------------------


@pytest.mark.parametrize("xml", [b"", b"%PDF-1.7", b"<Invoice", "Factură".encode()])
def test_bytes_that_are_not_xml_are_a_fatal_finding(xml):
    report = validate(xml)

    [finding] = report.findings
    assert (finding.rule_id, finding.flag, finding.source) == ("XML", "fatal", "xsd")
    assert finding.location == "line 1"
    assert report.ran == ()
    assert report.valid is False


def test_an_unknown_root_is_a_fatal_xsd_finding():
    report = validate(b'<?xml version="1.0"?>\n<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"/>')

    [finding] = report.findings
    assert (finding.rule_id, finding.flag, finding.source, finding.location) == ("XSD", "fatal", "xsd", "line 2")
    assert "Order-2}Order" in finding.message
    assert report.valid is False


def test_a_doctype_is_refused_and_its_entities_are_never_expanded(examples):
    xml = b'<?xml version="1.0"?><!DOCTYPE CreditNote [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + reference(
        examples, CREDIT_NOTE
    ).split(b"?>", 1)[1].replace(b"<cbc:Note>", b"<cbc:Note>&x;")

    report = validate(xml)

    assert [(f.rule_id, f.flag) for f in report.findings] == [("XML", "fatal")]
    assert "DOCTYPE" in report.findings[0].message


# --- The XSD ---------------------------------------------------------------------------------------------------------


def test_an_unknown_element_is_an_xsd_finding(examples):
    def unknown_element(root: etree._Element) -> None:
        root.find("cbc:IssueDate", NAMESPACES).addnext(element("cbc:Colour", text="blue"))

    report = validate(changed(reference(examples, CREDIT_NOTE), unknown_element))

    [finding] = report.findings
    assert (finding.rule_id, finding.flag, finding.source) == ("XSD", "fatal", "xsd")
    assert "cbc:Colour" in finding.message and "This element is not expected" in finding.message
    assert finding.location == "line 6 /*/cbc:Colour"
    assert report.ran == STAGES
    assert report.valid is False


def test_elements_in_the_wrong_order_are_an_xsd_finding(examples):
    def issue_date_first(root: etree._Element) -> None:
        root.find("cbc:CustomizationID", NAMESPACES).addprevious(root.find("cbc:IssueDate", NAMESPACES))

    report = validate(changed(reference(examples, STORNO_INVOICE), issue_date_first))

    assert ("XSD", "xsd") in {(f.rule_id, f.source) for f in report.fatal}
    assert report.valid is False


def test_a_value_the_schematron_cannot_evaluate_is_reported_not_raised(examples):
    # BR-27 compares cbc:PriceAmount with 0, which stops Saxon on a non-number.
    report = validate(
        changed(reference(examples, CREDIT_NOTE), set_text("cac:CreditNoteLine/cac:Price/cbc:PriceAmount", "abc"))
    )

    assert report.ran == ("xsd", "own")
    assert {(f.rule_id, f.source) for f in report.fatal} == {("XSD", "xsd"), ("SCHEMATRON", "schematron")}
    assert "abc" in next(f.message for f in report.fatal if f.rule_id == "SCHEMATRON")
    assert report.valid is False


# --- Without the artifacts -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("folder", "reason"),
    [("", "not set"), ("absent", "does not exist"), ("empty", "lacks ubl-2.1-xsd/maindoc/UBL-Invoice-2.1.xsd")],
)
def test_without_the_artifacts_only_our_own_checks_run_and_nothing_is_valid(
    examples, settings, tmp_path, folder, reason
):
    (tmp_path / "empty").mkdir()
    settings.EINVOICE_VALIDATION_DIR = str(tmp_path / folder) if folder else ""

    report = validate(reference(examples, CREDIT_NOTE))

    assert report.ran == ("own",)
    assert report.findings == ()
    assert reason in report.unavailable
    assert report.valid is False


# --- ANAF's B2G examples (CIUS-RO 1.0.1, all Invoices) -------------------------------------------------------------


@pytest.mark.parametrize("number", [n for n in range(11) if n != 6])
def test_anafs_b2g_examples_are_valid(examples, number):
    report = validate((examples / "anaf-cius-ro-b2g-1.0.9" / f"ubl_b2g_example{number}.xml").read_bytes())

    assert report.ran == STAGES
    assert report.fatal == ()
    assert report.valid is True


def test_anafs_b2g_example_0_is_valid_with_a_warning(examples):
    report = validate((examples / "anaf-cius-ro-b2g-1.0.9" / "ubl_b2g_example0.xml").read_bytes())

    assert [(f.rule_id, f.flag) for f in report.findings] == [("UBL-CR-681", "warning")]
    assert report.valid is True


def test_anafs_b2g_example_6_fails_br_s_08_and_its_county_rules(examples):
    # SOURCES.md names only BR-S-08; the county codes ("Sector 5", "Sector 1") fail as successful-reports.
    report = validate((examples / "anaf-cius-ro-b2g-1.0.9" / "ubl_b2g_example6.xml").read_bytes())

    assert {(f.rule_id, f.source) for f in report.fatal} == {
        ("BR-S-08", "schematron"),
        ("BR-RO-111", "schematron"),
        ("BR-RO-170", "schematron"),
    }
    assert report.valid is False


# --- Threads ---------------------------------------------------------------------------------------------------------


def test_threads_validating_at_once_get_each_their_own_report(examples):
    documents = [reference(examples, name) for name in (CREDIT_NOTE, STORNO_INVOICE, NEGATIVE_PRICE)] * 20
    expected = [validate(xml) for xml in documents]

    with ThreadPoolExecutor(max_workers=6) as pool:
        reports = list(pool.map(validate, documents))

    assert reports == expected
    assert [report.valid for report in reports[:3]] == [True, True, False]
