"""BT-1…BT-26: the document's identity, dates, type code, notes, currencies and the invoice it corrects."""

import textwrap

from lxml import etree

from einvoice.ubl.formatting import ELLIPSIS, shortened
from einvoice.ubl.forms import Form
from einvoice.ubl.namespaces import aggregate, basic
from invoices.models import Document

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:efactura.mfinante.ro:CIUS-RO:1.0.1"  # BR-RO-001
RON = "RON"
MAX_NOTES = 20  # BR-RO-A020
MAX_NOTE_LENGTH = 300  # BR-RO-L302
# UNTDID 2005 "invoice issue date" as the VAT point (one of the three codes BR-RO-040 allows).
VAT_POINT_IS_ISSUE_DATE = "3"


def _pieces(paragraphs: list[str]) -> list[str]:
    return [
        piece
        for paragraph in paragraphs
        for piece in textwrap.wrap(" ".join(paragraph.split()), MAX_NOTE_LENGTH, break_on_hyphens=False)
    ]


def notes(document: Document) -> list[str]:
    """The reason, then the notes line by line, as BT-22 notes within CIUS-RO's limits.

    A note over 300 characters or a 21st note is a fatal error that makes ANAF reject the whole
    document, so long text is cut between words into several notes; when the lines are too many,
    they are run together, and only what exceeds 20 × 300 characters is cut off (the PDF keeps it
    all). Internal notes are never written.
    """
    reason = _pieces([document.reason])
    lines = document.notes.splitlines()
    pieces = reason + _pieces(lines)
    if len(pieces) > MAX_NOTES:
        pieces = reason + _pieces([" ".join(lines)])
    if len(pieces) > MAX_NOTES:
        pieces = pieces[:MAX_NOTES]
        pieces[-1] = shortened(pieces[-1] + ELLIPSIS, MAX_NOTE_LENGTH)
    return pieces


def header(root: etree._Element, document: Document, form: Form) -> None:
    basic(root, "CustomizationID", CUSTOMIZATION_ID)
    basic(root, "ID", document.number)
    basic(root, "IssueDate", document.issue_date.isoformat())
    if form.root == "Invoice" and document.due_date:  # UBL 2.1 has no DueDate on a CreditNote
        basic(root, "DueDate", document.due_date.isoformat())
    basic(root, form.type_code_element, form.type_code)
    for note in notes(document):
        basic(root, "Note", note)
    basic(root, "DocumentCurrencyCode", document.currency)
    if document.currency != RON:
        basic(root, "TaxCurrencyCode", RON)  # BR-RO-030


def vat_point(root: etree._Element) -> None:
    """BR-IC-11: an intra-community supply states its delivery date or an invoicing period.

    We store no delivery date; the VAT point of such a supply is at the latest the invoice date.
    """
    basic(aggregate(root, "InvoicePeriod"), "DescriptionCode", VAT_POINT_IS_ISSUE_DATE)


def billing_reference(root: etree._Element, document: Document) -> None:
    """BT-25/BT-26: a credit note names the invoice it corrects (Fiscal Code art. 330; reference §2.4)."""
    parent = document.parent_document
    if parent is None:
        return
    reference = aggregate(aggregate(root, "BillingReference"), "InvoiceDocumentReference")
    basic(reference, "ID", parent.number)
    basic(reference, "IssueDate", parent.issue_date.isoformat())
