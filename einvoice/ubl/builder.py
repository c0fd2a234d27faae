"""A stored document as UBL 2.1 XML in the CIUS-RO 1.0.1 profile (ANAF e-Factura).

Every figure is read from what the core computed and stored (invoices.calculations); nothing is
recomputed here. The pieces follow the order of the UBL schema.
"""

from lxml import etree

from einvoice.ubl import namespaces
from einvoice.ubl.forms import form_of
from einvoice.ubl.header import billing_reference, header, vat_point
from einvoice.ubl.lines import document_line
from einvoice.ubl.parties import buyer_values, delivery, party, seller_values
from einvoice.ubl.payment import payment_means
from einvoice.ubl.totals import OUTSIDE_SCOPE, monetary_total, tax_totals
from invoices.models import Document

INTRA_COMMUNITY = "K"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def build(document: Document) -> bytes:
    """The document's e-Factura XML, UTF-8 with its declaration. Only issued documents have one."""
    if not document.number or not document.issue_date:
        raise ValueError("Only an issued document, numbered and dated, has an e-Factura form.")
    form = form_of(document)
    lines = list(document.lines.all())
    categories = {line.vat_category for line in lines}
    # BR-O-02: a document outside the scope of VAT carries no VAT identifier of either party.
    with_vat_ids = categories != {OUTSIDE_SCOPE}
    buyer = buyer_values(document, with_vat_ids=with_vat_ids)

    root = namespaces.root(form.namespace, form.root)
    header(root, document, form)
    if INTRA_COMMUNITY in categories:
        vat_point(root)
    billing_reference(root, document)
    party(root, "AccountingSupplierParty", seller_values(document.company, with_vat_ids=with_vat_ids))
    party(root, "AccountingCustomerParty", buyer)
    if INTRA_COMMUNITY in categories:
        delivery(root, buyer)
    payment_means(root, document)
    tax_totals(root, document, form, lines)
    monetary_total(root, document, form)
    for line in lines:
        document_line(root, line, form, document.currency)
    return XML_DECLARATION + etree.tostring(root, encoding="UTF-8", xml_declaration=False, pretty_print=True)


def filename(document: Document) -> str:
    return f"{document.number.replace('/', '_')}.xml"
