"""BG-23 VAT breakdown (cac:TaxTotal) and BG-22 totals (cac:LegalMonetaryTotal), as the core stored them."""

from decimal import Decimal

from lxml import etree

from einvoice.ubl.formatting import number_text, shortened
from einvoice.ubl.forms import Form
from einvoice.ubl.header import RON
from einvoice.ubl.namespaces import aggregate, basic
from invoices.calculations import TaxKey, VatGroup, breakdown_from_json, round_money, tax_key
from invoices.models import Document, DocumentLine

VAT_SCHEME = "VAT"
OUTSIDE_SCOPE = "O"  # BR-O-05/06/07: no rate at all
MAX_EXEMPTION_REASON_LENGTH = 100  # BR-RO-L1019
# BR-E-10, BR-AE-10, BR-IC-10, BR-G-10, BR-O-10: these categories say why no VAT is charged. When a
# line stores no reason, the category's own: a VATEX code where the category has exactly one, and a text.
DEFAULT_EXEMPTIONS: dict[str, tuple[str, str]] = {
    "E": ("", "Operațiune scutită de TVA"),
    "AE": ("VATEX-EU-AE", "Taxare inversă"),
    "K": ("VATEX-EU-IC", "Livrare intracomunitară scutită de TVA (art. 294 alin. (2) Cod fiscal)"),
    "G": ("VATEX-EU-G", "Export scutit de TVA (art. 294 alin. (1) Cod fiscal)"),
    "O": ("VATEX-EU-O", "Operațiune în afara sferei de aplicare a TVA"),
}


def exemption(category: str, lines: list[DocumentLine]) -> tuple[str, str]:
    """(BT-121 code, BT-120 text) of one breakdown group, from its lines.

    EN16931 gives a group one code and one text: the first code stored, and every distinct reason
    stored, cut to CIUS-RO's 100 characters (a longer one is fatal).
    """
    if category not in DEFAULT_EXEMPTIONS:
        return "", ""  # BR-S-10, BR-Z-10: S and Z state no exemption
    codes = [line.vat_exemption_code for line in lines if line.vat_exemption_code]
    reasons = list(dict.fromkeys(line.vat_exemption_reason for line in lines if line.vat_exemption_reason))
    if not (codes or reasons):
        return DEFAULT_EXEMPTIONS[category]
    return (codes[0] if codes else ""), shortened("; ".join(reasons), MAX_EXEMPTION_REASON_LENGTH)


def tax_category(
    parent: etree._Element, name: str, category: str, rate: Decimal, code: str = "", reason: str = ""
) -> None:
    element = aggregate(parent, name)
    basic(element, "ID", category)
    if category != OUTSIDE_SCOPE:
        basic(element, "Percent", number_text(rate))
    if code:
        basic(element, "TaxExemptionReasonCode", code)
    if reason:
        basic(element, "TaxExemptionReason", reason)
    basic(aggregate(element, "TaxScheme"), "ID", VAT_SCHEME)


def _subtotal(parent: etree._Element, group: VatGroup, form: Form, currency: str, lines: list[DocumentLine]) -> None:
    element = aggregate(parent, "TaxSubtotal")
    basic(element, "TaxableAmount", form.amount(group.taxable), currencyID=currency)
    basic(element, "TaxAmount", form.amount(group.vat), currencyID=currency)
    code, reason = exemption(group.vat_category, lines)
    tax_category(element, "TaxCategory", group.vat_category, group.vat_rate, code, reason)


def _lines_by_group(lines: list[DocumentLine]) -> dict[TaxKey, list[DocumentLine]]:
    groups: dict[TaxKey, list[DocumentLine]] = {}
    for line in lines:
        groups.setdefault(tax_key(line.vat_rate, line.vat_category), []).append(line)
    return groups


def tax_totals(root: etree._Element, document: Document, form: Form, lines: list[DocumentLine]) -> None:
    element = aggregate(root, "TaxTotal")
    basic(element, "TaxAmount", form.amount(document.vat_total), currencyID=document.currency)
    by_group = _lines_by_group(lines)
    for group in breakdown_from_json(document.vat_breakdown):
        _subtotal(element, group, form, document.currency, by_group.get(group.key, []))
    if document.currency != RON:
        # BT-111 (BR-53): the stored VAT total converted to RON at the document's rate, rounded half up
        # like every amount here. A conversion of one stored figure, not a VAT recomputed from the lines.
        in_ron = round_money(document.vat_total * document.exchange_rate)
        basic(aggregate(root, "TaxTotal"), "TaxAmount", form.amount(in_ron), currencyID=RON)


def monetary_total(root: etree._Element, document: Document, form: Form) -> None:
    """No document-level allowances or charges exist here, so the net total is the sum of line nets."""
    element = aggregate(root, "LegalMonetaryTotal")
    for name, stored in (
        ("LineExtensionAmount", document.subtotal),
        ("TaxExclusiveAmount", document.subtotal),
        ("TaxInclusiveAmount", document.total),
        ("PayableAmount", document.total),
    ):
        basic(element, name, form.amount(stored), currencyID=document.currency)
