"""Reads a UBL 2.1 Invoice or CreditNote (CIUS-RO or plain EN16931) into plain values.

The inverse of the builder for our documents, and how documents received from ANAF are read.
Figures are read as written: a CreditNote 381 keeps its positive figures, a storno Invoice 380
its minus signs; telling what they mean for us is the importer's business. Text that is absent
reads as "", numbers and dates as None.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from lxml import etree

from einvoice.ubl.namespaces import CAC, CBC, CREDIT_NOTE, INVOICE

NS = {"cac": CAC, "cbc": CBC}
KINDS = {etree.QName(INVOICE, "Invoice").text: "invoice", etree.QName(CREDIT_NOTE, "CreditNote").text: "credit_note"}
VAT_SCHEME = "VAT"
RON = "RON"
# Received documents are untrusted input: no entities, no DTD, no network access.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True)


class UnreadableDocument(ValueError):
    pass


@dataclass(frozen=True)
class ReadParty:
    name: str
    vat_id: str  # BT-31 / BT-48
    tax_registration_id: str  # BT-32: a tax scheme other than VAT
    legal_id: str  # BT-30 / BT-47
    street: str
    city: str
    county: str  # CountrySubentity as written, e.g. RO-CJ
    country: str
    postal_code: str
    email: str
    phone: str


@dataclass(frozen=True)
class ReadLine:
    id: str
    description: str  # the item description, or its name when it has none
    name: str
    quantity: Decimal | None
    unit_code: str
    unit_price: Decimal | None
    base_quantity: Decimal | None  # the price is per this many units when given (BT-149)
    allowance: Decimal  # sum of the line's allowances
    charge: Decimal  # sum of the line's charges
    net: Decimal | None
    vat_category: str
    vat_rate: Decimal | None  # None for category O
    exemption_reason: str  # from the breakdown group of the line's category and rate
    exemption_code: str


@dataclass(frozen=True)
class ReadVatGroup:
    category: str
    rate: Decimal | None
    taxable: Decimal | None
    vat: Decimal | None
    exemption_reason: str
    exemption_code: str


@dataclass(frozen=True)
class ReadTotals:
    line_extension: Decimal | None
    tax_exclusive: Decimal | None
    tax_amount: Decimal | None  # BT-110, in the document currency
    tax_inclusive: Decimal | None
    payable: Decimal | None
    tax_amount_ron: Decimal | None  # BT-111 when the document is not in RON, else BT-110
    allowance_total: Decimal | None
    charge_total: Decimal | None
    prepaid: Decimal | None


@dataclass(frozen=True)
class ReadBillingReference:
    number: str
    issue_date: datetime.date | None


@dataclass(frozen=True)
class ReadPaymentMeans:
    code: str
    account: str


@dataclass(frozen=True)
class ReadDocument:
    kind: str  # "invoice" or "credit_note", from the root element
    type_code: str
    customization_id: str
    number: str
    issue_date: datetime.date | None
    due_date: datetime.date | None
    currency: str
    tax_currency: str
    notes: tuple[str, ...]
    billing_references: tuple[ReadBillingReference, ...]
    seller: ReadParty
    buyer: ReadParty
    payment_means: tuple[ReadPaymentMeans, ...]
    vat_breakdown: tuple[ReadVatGroup, ...]
    totals: ReadTotals
    lines: tuple[ReadLine, ...]

    @property
    def billing_reference(self) -> ReadBillingReference | None:
        return self.billing_references[0] if self.billing_references else None


def _own_text(element: etree._Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _text(element: etree._Element | None, path: str) -> str:
    return _own_text(None if element is None else element.find(path, NS))


def _number(element: etree._Element | None) -> Decimal | None:
    text = _own_text(element)
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise UnreadableDocument(f"{etree.QName(element).localname} is not a number: {text!r}") from None


def _decimal(element: etree._Element | None, path: str) -> Decimal | None:
    return _number(None if element is None else element.find(path, NS))


def _date(element: etree._Element | None, path: str) -> datetime.date | None:
    text = _text(element, path)
    if not text:
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise UnreadableDocument(f"{path} is not a YYYY-MM-DD date: {text!r}") from None


def _is_vat(party_tax_scheme: etree._Element) -> bool:
    return _text(party_tax_scheme, "cac:TaxScheme/cbc:ID").upper() == VAT_SCHEME


def _party(root: etree._Element, role: str) -> ReadParty:
    party = root.find(f"cac:{role}/cac:Party", NS)
    schemes = [] if party is None else party.findall("cac:PartyTaxScheme", NS)
    address = None if party is None else party.find("cac:PostalAddress", NS)
    return ReadParty(
        name=_text(party, "cac:PartyLegalEntity/cbc:RegistrationName") or _text(party, "cac:PartyName/cbc:Name"),
        vat_id=next((_text(s, "cbc:CompanyID") for s in schemes if _is_vat(s)), ""),
        tax_registration_id=next((_text(s, "cbc:CompanyID") for s in schemes if not _is_vat(s)), ""),
        legal_id=_text(party, "cac:PartyLegalEntity/cbc:CompanyID"),
        street=_text(address, "cbc:StreetName"),
        city=_text(address, "cbc:CityName"),
        county=_text(address, "cbc:CountrySubentity"),
        country=_text(address, "cac:Country/cbc:IdentificationCode"),
        postal_code=_text(address, "cbc:PostalZone"),
        email=_text(party, "cac:Contact/cbc:ElectronicMail"),
        phone=_text(party, "cac:Contact/cbc:Telephone"),
    )


def _vat_group(subtotal: etree._Element) -> ReadVatGroup:
    category = subtotal.find("cac:TaxCategory", NS)
    return ReadVatGroup(
        category=_text(category, "cbc:ID"),
        rate=_decimal(category, "cbc:Percent"),
        taxable=_decimal(subtotal, "cbc:TaxableAmount"),
        vat=_decimal(subtotal, "cbc:TaxAmount"),
        exemption_reason=_text(category, "cbc:TaxExemptionReason"),
        exemption_code=_text(category, "cbc:TaxExemptionReasonCode"),
    )


def _currency_of(tax_total: etree._Element) -> str:
    amount = tax_total.find("cbc:TaxAmount", NS)
    return "" if amount is None else amount.get("currencyID", "")


def _tax_amount_in(root: etree._Element, currency: str) -> Decimal | None:
    """The VAT total in `currency`: BT-110 in the document currency, BT-111 in the tax currency, in either order.

    A RON document may state both, and then they are equal.
    """
    in_currency = (t for t in root.findall("cac:TaxTotal", NS) if _currency_of(t) == currency)
    return _decimal(next(in_currency, None), "cbc:TaxAmount")


def _totals(root: etree._Element, currency: str) -> ReadTotals:
    monetary = root.find("cac:LegalMonetaryTotal", NS)
    return ReadTotals(
        line_extension=_decimal(monetary, "cbc:LineExtensionAmount"),
        tax_exclusive=_decimal(monetary, "cbc:TaxExclusiveAmount"),
        tax_amount=_tax_amount_in(root, currency),
        tax_inclusive=_decimal(monetary, "cbc:TaxInclusiveAmount"),
        payable=_decimal(monetary, "cbc:PayableAmount"),
        tax_amount_ron=_tax_amount_in(root, RON),
        allowance_total=_decimal(monetary, "cbc:AllowanceTotalAmount"),
        charge_total=_decimal(monetary, "cbc:ChargeTotalAmount"),
        prepaid=_decimal(monetary, "cbc:PrepaidAmount"),
    )


def _allowances(line: etree._Element, is_charge: bool) -> Decimal:
    total = Decimal(0)
    for allowance_charge in line.findall("cac:AllowanceCharge", NS):
        if (_text(allowance_charge, "cbc:ChargeIndicator").lower() in ("true", "1")) == is_charge:
            total += _decimal(allowance_charge, "cbc:Amount") or 0
    return total


def _line(line: etree._Element, breakdown: tuple[ReadVatGroup, ...]) -> ReadLine:
    item = line.find("cac:Item", NS)
    category = _text(item, "cac:ClassifiedTaxCategory/cbc:ID")
    rate = _decimal(item, "cac:ClassifiedTaxCategory/cbc:Percent")
    group = next((g for g in breakdown if g.category == category and g.rate == rate), None)
    quantity = line.find("cbc:InvoicedQuantity", NS)
    if quantity is None:
        quantity = line.find("cbc:CreditedQuantity", NS)
    name = _text(item, "cbc:Name")
    return ReadLine(
        id=_text(line, "cbc:ID"),
        description=_text(item, "cbc:Description") or name,
        name=name,
        quantity=_number(quantity),
        unit_code=quantity.get("unitCode", "") if quantity is not None else "",
        unit_price=_decimal(line, "cac:Price/cbc:PriceAmount"),
        base_quantity=_decimal(line, "cac:Price/cbc:BaseQuantity"),
        allowance=_allowances(line, is_charge=False),
        charge=_allowances(line, is_charge=True),
        net=_decimal(line, "cbc:LineExtensionAmount"),
        vat_category=category,
        vat_rate=rate,
        exemption_reason=group.exemption_reason if group else "",
        exemption_code=group.exemption_code if group else "",
    )


def _billing_reference(reference: etree._Element) -> ReadBillingReference:
    return ReadBillingReference(number=_text(reference, "cbc:ID"), issue_date=_date(reference, "cbc:IssueDate"))


def _payment_means(means: etree._Element) -> ReadPaymentMeans:
    return ReadPaymentMeans(
        code=_text(means, "cbc:PaymentMeansCode"), account=_text(means, "cac:PayeeFinancialAccount/cbc:ID")
    )


def _root(xml: bytes) -> etree._Element:
    try:
        root = etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError as error:
        raise UnreadableDocument(f"Not well-formed XML: {error}") from None
    if root.tag not in KINDS:
        raise UnreadableDocument(f"Not a UBL 2.1 Invoice or CreditNote: {root.tag}")
    return root


def read(xml: bytes) -> ReadDocument:
    root = _root(xml)
    currency = _text(root, "cbc:DocumentCurrencyCode")
    # Only the TaxTotal in the document currency has a breakdown (BT-111 stands alone).
    breakdown = tuple(_vat_group(subtotal) for subtotal in root.findall("cac:TaxTotal/cac:TaxSubtotal", NS))
    return ReadDocument(
        kind=KINDS[root.tag],
        type_code=_text(root, "cbc:InvoiceTypeCode") or _text(root, "cbc:CreditNoteTypeCode"),
        customization_id=_text(root, "cbc:CustomizationID"),
        number=_text(root, "cbc:ID"),
        issue_date=_date(root, "cbc:IssueDate"),
        due_date=_date(root, "cbc:DueDate") or _date(root, "cac:PaymentMeans/cbc:PaymentDueDate"),
        currency=currency,
        tax_currency=_text(root, "cbc:TaxCurrencyCode"),
        notes=tuple(_own_text(note) for note in root.findall("cbc:Note", NS)),
        billing_references=tuple(
            _billing_reference(r) for r in root.findall("cac:BillingReference/cac:InvoiceDocumentReference", NS)
        ),
        seller=_party(root, "AccountingSupplierParty"),
        buyer=_party(root, "AccountingCustomerParty"),
        payment_means=tuple(_payment_means(m) for m in root.findall("cac:PaymentMeans", NS)),
        vat_breakdown=breakdown,
        totals=_totals(root, currency),
        lines=tuple(
            _line(line, breakdown) for line in root.xpath("cac:InvoiceLine | cac:CreditNoteLine", namespaces=NS)
        ),
    )
